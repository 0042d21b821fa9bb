package dev.im4j.onnx.runtime;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.onnx.model.Tensor;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The portable runtime refuses, before allocating, buffers beyond the JVM's direct memory. */
class PortableRuntimeMemoryTest {
  @Test
  void aStateBeyondTheDirectMemoryLimitIsRefusedWithTheFlagToSet() {
    // 2^30 trainable floats: 8 buffers of 4 GiB, above any default limit on a test JVM
    PortableRuntime.State state =
        new PortableRuntime.State(List.of(Tensor.zeros("w", 1L << 30)), List.of(), Map.of(), 0);
    TrainingRuntimeException e =
        assertThrows(
            TrainingRuntimeException.class, () -> PortableRuntime.requireDirectMemory(state));
    assertTrue(
        e.getMessage().startsWith("the portable runtime needs 32.0 GiB of direct memory"),
        e.getMessage());
    assertTrue(e.getMessage().contains("-XX:MaxDirectMemorySize="), e.getMessage());
  }
}
