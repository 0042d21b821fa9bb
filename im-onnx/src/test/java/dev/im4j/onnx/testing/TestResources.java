package dev.im4j.onnx.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;

/** Files under {@code src/test/resources}, by their path there (e.g. {@code model/x.json}). */
public final class TestResources {
  private static final ObjectMapper JSON = new ObjectMapper();

  private TestResources() {}

  /** The file's path on disk; fails the test setup if it is missing. */
  public static Path path(String name) {
    URL url = TestResources.class.getResource("/" + name);
    if (url == null) {
      throw new IllegalStateException("missing test resource " + name);
    }
    try {
      return Path.of(url.toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The file parsed as JSON. */
  public static JsonNode json(String name) {
    try {
      return JSON.readTree(path(name).toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
