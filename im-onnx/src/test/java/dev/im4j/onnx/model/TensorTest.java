package dev.im4j.onnx.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.onnx.graph.DType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tensors whose values are produced on reading give the values a heap tensor would hold. */
class TensorTest {
  /** Two and a half chunks: full chunks and a short last one. */
  static final int N = Tensor.CHUNK_ELEMENTS * 5 / 2 + 3;

  @TempDir Path dir;

  @Test
  void chunksCoverEveryValueOnceInOrder() {
    float[] values = ramp(N);
    Tensor t = Tensor.of("t", new long[] {N}, values);
    List<long[]> chunks = new ArrayList<>();
    float[] seen = new float[N];
    t.forEachChunk(
        (from, chunk, n) -> {
          chunks.add(new long[] {from, n});
          System.arraycopy(chunk, 0, seen, (int) from, n);
        });
    assertEquals(3, chunks.size());
    assertArrayEquals(new long[] {0, Tensor.CHUNK_ELEMENTS}, chunks.get(0));
    assertArrayEquals(new long[] {Tensor.CHUNK_ELEMENTS, Tensor.CHUNK_ELEMENTS}, chunks.get(1));
    assertArrayEquals(
        new long[] {2L * Tensor.CHUNK_ELEMENTS, N - 2L * Tensor.CHUNK_ELEMENTS}, chunks.get(2));
    assertArrayEquals(values, seen);
  }

  @Test
  void fileRegionsWidenEachDtypeExactly() throws IOException {
    float[] values = ramp(N);
    for (DType stored : new DType[] {DType.FLOAT, DType.FLOAT16, DType.BFLOAT16}) {
      float[] expected = new float[N];
      for (int i = 0; i < N; i++) {
        expected[i] = HalfFloats.roundTo(stored, values[i]);
      }
      int width = stored == DType.FLOAT ? 4 : 2;
      ByteBuffer bytes = ByteBuffer.allocate(7 + N * width).order(ByteOrder.LITTLE_ENDIAN);
      bytes.position(7); // an odd offset: regions need no alignment
      for (float x : values) {
        switch (stored) {
          case FLOAT -> bytes.putFloat(x);
          case FLOAT16 -> bytes.putShort(HalfFloats.f32ToF16(x));
          default -> bytes.putShort(HalfFloats.f32ToBf16(x));
        }
      }
      Path file = dir.resolve(stored + ".bin");
      Files.write(file, bytes.array());
      Tensor t = Tensor.inFile("t", stored, new long[] {N}, file, 7, stored);
      assertArrayEquals(expected, t.toArray(), stored.toString());
      assertEquals(expected[N - 1], t.get(N - 1));
      assertEquals(Tensor.of("t", stored, new long[] {N}, expected), t);
      float[] streamed = new float[N];
      t.forEachChunk((from, chunk, n) -> System.arraycopy(chunk, 0, streamed, (int) from, n));
      assertArrayEquals(expected, streamed);
    }
  }

  @Test
  void generatedValuesAreTheSeededSequenceInAnyReadOrder() {
    long seed = 42;
    float std = 0.02f;
    float[] expected = new float[N];
    Random r = new Random(seed);
    for (int i = 0; i < N; i++) {
      expected[i] = HalfFloats.roundTo(DType.BFLOAT16, (float) r.nextGaussian() * std);
    }
    Tensor t =
        Tensor.lazy(
            "g",
            DType.BFLOAT16,
            new long[] {N},
            new TensorValues.Gaussian(seed, std, DType.BFLOAT16));
    assertEquals(expected[N - 1], t.get(N - 1)); // forwards from the start
    assertEquals(expected[5], t.get(5)); // a fresh cursor each time
    assertArrayEquals(expected, t.toArray());
    try (TensorValues.Cursor c = new TensorValues.Gaussian(seed, std, DType.BFLOAT16).open()) {
      float[] out = new float[4];
      c.read(1000, out, 0, 4);
      c.read(10, out, 0, 4); // backwards: restarts
      assertArrayEquals(java.util.Arrays.copyOfRange(expected, 10, 14), out);
    }
  }

  @Test
  void constantsAllocateNothingAndEqualArrays() {
    Tensor zeros = Tensor.zeros("z", 3, 4);
    assertEquals(Tensor.of("z", new long[] {3, 4}, new float[12]), zeros);
    assertNotEquals(Tensor.of("z", new long[] {3, 4}, ramp(12)), zeros);
    assertEquals(zeros.hashCode(), Tensor.of("z", new long[] {3, 4}, ramp(12)).hashCode());
  }

  @Test
  void aChangedOrRemovedFileFailsNamingIt() throws IOException {
    Path file = dir.resolve("w.bin");
    Files.write(file, new byte[64]);
    Tensor t = Tensor.inFile("w", new long[] {16}, file, 0);
    assertArrayEquals(new float[16], t.toArray());
    Files.setLastModifiedTime(file, FileTime.fromMillis(0)); // same size, other time
    IllegalStateException changed = assertThrows(IllegalStateException.class, t::toArray);
    assertTrue(changed.getMessage().contains(file.toString()), changed.getMessage());
    assertTrue(changed.getMessage().contains("changed"), changed.getMessage());
    Files.delete(file);
    IllegalStateException removed = assertThrows(IllegalStateException.class, t::toArray);
    assertTrue(removed.getMessage().contains("removed"), removed.getMessage());
  }

  @Test
  void aFileShorterThanItsTensorsFailsOnReading() throws IOException {
    Path file = dir.resolve("short.bin");
    Files.write(file, new byte[10]);
    Tensor t = Tensor.inFile("s", new long[] {4}, file, 0);
    IllegalStateException e = assertThrows(IllegalStateException.class, t::toArray);
    assertTrue(e.getMessage().contains("ended"), e.getMessage());
  }

  private static float[] ramp(int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (i % 1013) * 0.37f - 100f;
    }
    return v;
  }
}
