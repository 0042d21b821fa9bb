package dev.im4j.onnx.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.im4j.onnx.testing.TestResources;
import java.io.IOException;
import java.io.UncheckedIOException;
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
    return TestResources.path("model/" + name);
  }

  static JsonNode json(String name) {
    return TestResources.json("model/" + name);
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
