package dev.im4j.onnx.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Test resources under {@code model/} and helpers to build safetensors bytes by hand. */
final class Fixtures {
  static final ObjectMapper JSON = new ObjectMapper();

  private Fixtures() {}

  static Path resource(String name) {
    URL url = Fixtures.class.getResource("/model/" + name);
    if (url == null) {
      throw new IllegalStateException("missing test resource model/" + name);
    }
    try {
      return Path.of(url.toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  static JsonNode json(String name) {
    try {
      return JSON.readTree(resource(name).toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A safetensors file: the given header length field, header text and buffer. */
  static byte[] file(long headerLength, String header, byte[] buffer) {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer out =
        ByteBuffer.allocate(8 + h.length + buffer.length).order(ByteOrder.LITTLE_ENDIAN);
    out.putLong(headerLength).put(h).put(buffer);
    return out.array();
  }

  /** A safetensors file with a correct length field. */
  static byte[] file(String header, int bufferBytes) {
    return file(header.getBytes(StandardCharsets.UTF_8).length, header, new byte[bufferBytes]);
  }

  static Path write(Path dir, String name, byte[] bytes) {
    try {
      Path p = dir.resolve(name);
      Files.write(p, bytes);
      return p;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
