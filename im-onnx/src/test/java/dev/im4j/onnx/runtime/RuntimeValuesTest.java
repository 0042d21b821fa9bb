package dev.im4j.onnx.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Validation of the runtime's small value types. */
class RuntimeValuesTest {
  @TempDir Path dir;

  @Test
  void hostTensorChecksShapeAgainstData() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> HostTensor.floats("x", new long[] {2, 3}, new float[5]));
    assertEquals("input x: shape [2, 3] holds 6 elements but the data has 5", e.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> HostTensor.longs("ids", new long[] {-1}, new long[0]));
  }

  @Test
  void hostTensorCopiesArraysAndSharesDirectBuffers() {
    float[] values = {1, 2};
    HostTensor copied = HostTensor.floats("x", new long[] {2}, values);
    values[0] = 9;
    assertEquals(1f, ((FloatBuffer) copied.buffer()).get(0));

    FloatBuffer direct =
        ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder()).asFloatBuffer().put(0, 3f);
    HostTensor shared = HostTensor.floats("x", new long[] {2}, direct);
    direct.put(0, 4f);
    assertEquals(4f, ((FloatBuffer) shared.buffer()).get(0));
    assertArrayEquals(new long[] {2}, shared.shape());

    assertThrows(
        IllegalArgumentException.class,
        () -> HostTensor.floats("x", new long[] {2}, FloatBuffer.allocate(2)));
    ByteOrder foreign =
        ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN
            ? ByteOrder.BIG_ENDIAN
            : ByteOrder.LITTLE_ENDIAN;
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                HostTensor.floats(
                    "x",
                    new long[] {2},
                    ByteBuffer.allocateDirect(8).order(foreign).asFloatBuffer()));
    assertTrue(e.getMessage().startsWith("input x: the buffer must be in native byte order"));
  }

  @Test
  void executionProviderAndOptionsValidate() {
    assertEquals(new ExecutionProvider(ExecutionProvider.Kind.CUDA, 1), ExecutionProvider.cuda(1));
    assertThrows(IllegalArgumentException.class, () -> ExecutionProvider.cuda(-1));
    assertThrows(
        IllegalArgumentException.class, () -> new ExecutionProvider(ExecutionProvider.Kind.CPU, 2));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> RuntimeOptions.defaults().withThreads(-1, 0));
    assertEquals("intraOpThreads must be >= 0 but was -1", e.getMessage());
  }

  @Test
  void artifactsMustExist() {
    Path missing = dir.resolve("training_model.onnx");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new TrainingArtifacts(missing, Optional.empty(), missing, missing));
    assertEquals("training model " + missing + " does not exist or is not a file", e.getMessage());
  }
}
