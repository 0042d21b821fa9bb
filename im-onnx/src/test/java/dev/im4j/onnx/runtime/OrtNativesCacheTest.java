package dev.im4j.onnx.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The native cache with stand-in library files (no ONNX Runtime involved). */
class OrtNativesCacheTest {
  @TempDir Path sources;
  @TempDir Path root;

  private List<OrtNatives.NativeFile> files(String ortContent) throws IOException {
    Path ort = Files.writeString(sources.resolve("ort"), ortContent);
    Path jni = Files.writeString(sources.resolve("jni"), "jni bytes");
    return List.of(
        new OrtNatives.NativeFile(jni.toUri().toURL(), "libonnxruntime4j_jni.so"),
        new OrtNatives.NativeFile(ort.toUri().toURL(), "libonnxruntime.so.1"));
  }

  @Test
  void extractsOnceAndReusesTheDirectory() throws IOException {
    Path first = OrtNatives.extract(root, "1.24.1", files("ort v1"));
    long modified = Files.getLastModifiedTime(first.resolve("libonnxruntime.so.1")).toMillis();
    Path second = OrtNatives.extract(root, "1.24.1", files("ort v1"));

    assertEquals(first, second);
    assertTrue(first.getFileName().toString().startsWith("ort-1.24.1-"), first.toString());
    assertEquals("ort v1", Files.readString(first.resolve("libonnxruntime.so")));
    assertEquals(
        modified, Files.getLastModifiedTime(first.resolve("libonnxruntime.so.1")).toMillis());
    assertEquals(List.of(first), entries(root));
  }

  @Test
  void changedContentGetsAFreshDirectory() throws IOException {
    Path v1 = OrtNatives.extract(root, "1.24.1", files("ort v1"));
    Path v2 = OrtNatives.extract(root, "1.24.1", files("ort v2"));

    assertNotEquals(v1, v2);
    assertEquals("ort v2", Files.readString(v2.resolve("libonnxruntime.so.1")));
  }

  @Test
  void aDamagedDirectoryIsReplaced() throws IOException {
    Path dir = OrtNatives.extract(root, "1.24.1", files("ort v1"));
    Files.delete(dir.resolve("libonnxruntime4j_jni.so"));

    Path again = OrtNatives.extract(root, "1.24.1", files("ort v1"));

    assertEquals(dir, again);
    assertArrayEquals(
        "jni bytes".getBytes(StandardCharsets.UTF_8),
        Files.readAllBytes(again.resolve("libonnxruntime4j_jni.so")));
    assertEquals(List.of(dir), entries(root)); // no staging directory left behind
  }

  private static List<Path> entries(Path dir) throws IOException {
    try (Stream<Path> list = Files.list(dir)) {
      return list.toList();
    }
  }
}
