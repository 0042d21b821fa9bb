package dev.im4j.onnx.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.onnx.graph.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Tensor#mapStored}: a tensor read from a file that stores it in its own dtype maps the
 * file's bytes; any other tensor has nothing to map.
 */
final class TensorMapStoredTest {
  @TempDir Path dir;

  @Test
  void aFileTensorOfItsOwnDtypeMapsTheStoredBytes() {
    float[] values = {1.5f, -2f, 0.25f, 3f, -0.125f}; // exact in BF16 and F16
    Path file = dir.resolve("w.safetensors");
    Safetensors.write(
        file,
        Map.of(),
        Weights.of(
            List.of(
                Tensor.of("b", DType.BFLOAT16, new long[] {5}, values),
                Tensor.of("h", DType.FLOAT16, new long[] {5}, values),
                Tensor.of("f", DType.FLOAT, new long[] {5}, values))));
    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      for (String name : List.of("b", "h", "f")) {
        Tensor t = f.tensor(name);
        ByteBuffer mapped = t.mapStored().orElseThrow();
        assertEquals(t.dtype().byteSize() * 5, mapped.capacity(), name);
        ByteBuffer expected = ByteBuffer.allocate(mapped.capacity()).order(ByteOrder.LITTLE_ENDIAN);
        t.writeStored(ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN), expected::put);
        assertEquals(expected.flip(), mapped, name + ": the file's bytes");
        DType other = t.dtype() == DType.FLOAT ? DType.BFLOAT16 : DType.FLOAT;
        assertTrue(t.withDtype(other).mapStored().isEmpty(), name + " as " + other);
      }
    }
    assertTrue(Tensor.of("heap", new long[] {2}, new float[] {1, 2}).mapStored().isEmpty());
    assertTrue(Tensor.zeros("zeros", 4).mapStored().isEmpty());
  }
}
