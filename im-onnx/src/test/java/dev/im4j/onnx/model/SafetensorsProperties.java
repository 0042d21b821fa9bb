package dev.im4j.onnx.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.im4j.onnx.graph.DType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.Stream;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterProperty;

/** Random tensors written and read back are identical, bit for bit, in one file and in shards. */
class SafetensorsProperties {
  private final Path dir;

  SafetensorsProperties() {
    try {
      dir = Files.createTempDirectory("im4j-safetensors");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @AfterProperty
  void cleanUp() throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  /** Random tensors whose values are exactly representable in their dtype (NaNs excluded). */
  static Weights randomWeights(long seed, int count) {
    SplittableRandom r = new SplittableRandom(seed);
    DType[] dtypes = {DType.FLOAT, DType.FLOAT16, DType.BFLOAT16};
    Map<String, Tensor> out = new TreeMap<>();
    while (out.size() < count) {
      String name = randomName(r);
      DType dtype = dtypes[r.nextInt(dtypes.length)];
      int rank = r.nextInt(4);
      long[] shape = new long[rank];
      int numel = 1;
      for (int d = 0; d < rank; d++) {
        shape[d] = r.nextInt(r.nextInt(10) == 0 ? 1 : 5); // 0 sometimes
        numel *= (int) shape[d];
      }
      float[] data = new float[numel];
      for (int i = 0; i < numel; i++) {
        float v;
        do {
          int bits = r.nextInt();
          v =
              switch (dtype) {
                case FLOAT -> Float.intBitsToFloat(bits);
                case FLOAT16 -> HalfFloats.f16ToF32((short) bits);
                default -> HalfFloats.bf16ToF32((short) bits);
              };
        } while (Float.isNaN(v));
        data[i] = v;
      }
      out.put(name, Tensor.of(name, dtype, shape, data));
    }
    return Weights.of(new ArrayList<>(out.values()));
  }

  /** Names with dots, JSON escapes, control characters and non-BMP code points. */
  private static String randomName(SplittableRandom r) {
    String[] parts = {
      "model", "layers", "0", "weight", "é", "\"", "\\", "\n", "\u0001", "/", "😀", " "
    };
    StringBuilder b = new StringBuilder("t");
    int n = r.nextInt(5);
    for (int i = 0; i < n; i++) {
      b.append('.').append(parts[r.nextInt(parts.length)]);
    }
    return b.append(r.nextInt(100)).toString();
  }

  @Property(tries = 60)
  void singleFileRoundTripIsBitExact(
      @ForAll long seed, @ForAll @IntRange(min = 0, max = 12) int count) {
    Weights weights = randomWeights(seed, count);
    Path file = dir.resolve("m.safetensors");
    Safetensors.write(file, Safetensors.DEFAULT_METADATA, weights);
    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      assertEquals(Safetensors.DEFAULT_METADATA, f.metadata());
      assertEquals(weights, f.readAll());
    }
  }

  @Property(tries = 30)
  void writingIsDeterministic(@ForAll long seed) throws IOException {
    Weights weights = randomWeights(seed, 6);
    Path a = dir.resolve("a.safetensors");
    Path b = dir.resolve("b.safetensors");
    Safetensors.write(a, Safetensors.DEFAULT_METADATA, weights);
    // Same tensors built in reverse order: identical bytes.
    List<Tensor> reversed = new ArrayList<>(weights.tensors());
    java.util.Collections.reverse(reversed);
    Safetensors.write(b, Safetensors.DEFAULT_METADATA, Weights.of(reversed));
    byte[] bytesA = Files.readAllBytes(a);
    assertArrayEquals(bytesA, Files.readAllBytes(b));
    long headerLength =
        java.nio.ByteBuffer.wrap(bytesA).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
    assertEquals(0, headerLength % 8, "header padded to 8 bytes");
  }

  @Property(tries = 30)
  void shardedRoundTripIsBitExact(
      @ForAll long seed,
      @ForAll @IntRange(min = 1, max = 10) int count,
      @ForAll @IntRange(min = 1, max = 200) int maxShard)
      throws IOException {
    Weights weights = randomWeights(seed, count);
    Path d = Files.createTempDirectory(dir, "shards");
    List<String> files =
        Safetensors.writeSharded(d, Safetensors.DEFAULT_METADATA, weights, maxShard);
    assertEquals(weights, Safetensors.readDirectory(d));
    if (files.size() > 1) {
      assertEquals(Safetensors.INDEX_FILE, files.get(files.size() - 1));
      String index = Files.readString(d.resolve(Safetensors.INDEX_FILE));
      long total = 0;
      for (Tensor t : weights.tensors()) {
        total += (long) t.numel() * t.dtype().byteSize();
      }
      org.junit.jupiter.api.Assertions.assertTrue(
          index.contains("\"total_size\": " + total), index);
    }
  }

  /** Any corruption of a valid file's bytes is either still valid or a SafetensorsException. */
  @Property(tries = 300)
  void corruptedFilesFailCleanly(@ForAll long seed) throws IOException {
    SplittableRandom r = new SplittableRandom(seed);
    Path good = dir.resolve("good.safetensors");
    Safetensors.write(good, Safetensors.DEFAULT_METADATA, randomWeights(seed, 1 + r.nextInt(4)));
    byte[] bytes = Files.readAllBytes(good);
    int flips = 1 + r.nextInt(4);
    for (int i = 0; i < flips; i++) {
      int at = r.nextInt(Math.min(bytes.length, 8 + 200));
      bytes[at] =
          (byte) (r.nextBoolean() ? r.nextInt(256) : "0123456789{}[],:\"-".charAt(r.nextInt(18)));
    }
    Path bad = dir.resolve("bad.safetensors");
    Files.write(bad, bytes);
    try (SafetensorsFile f = SafetensorsFile.open(bad)) {
      for (TensorInfo t : f.tensors()) {
        if (SafetensorsDTypes.isWeight(t.dtype())) {
          f.floats(t.name());
        } else {
          f.bytes(t.name());
        }
      }
    } catch (SafetensorsException expected) {
      org.junit.jupiter.api.Assertions.assertTrue(expected.getMessage().startsWith(bad + ": "));
    }
  }
}
