package dev.im4j.onnx.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class OrtNativesTest {
  @Test
  void loadsTheTrainingEnabledNativeLibraryOfTheSameVersion() {
    OrtEnvironment env = OrtNatives.environment();

    assertTrue(env.isTrainingEnabled());
    assertEquals("1.24.1", env.getVersion());
    assertSame(env, OrtNatives.environment());
    Path dir = Path.of(System.getProperty(OrtNatives.NATIVE_PATH_PROPERTY));
    assertTrue(Files.isRegularFile(dir.resolve("libonnxruntime4j_jni.so")), dir.toString());
    assertTrue(Files.isRegularFile(dir.resolve("libonnxruntime.so")), dir.toString());
    assertTrue(Files.isRegularFile(dir.resolve("libonnxruntime.so.1")), dir.toString());
  }
}
