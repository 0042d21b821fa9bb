package dev.im4j.onnx.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.onnx.graph.DType;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Offsets past 2 GiB and reads split into several maps, without writing gigabytes. */
class SafetensorsLargeFileTest {
  @TempDir Path tmp;

  @Test
  void readsATensorLyingPastTwoGibibytesOfASparseFile() throws IOException {
    long big = 600_000_000L; // F32 elements: 2.4 GB, never written (a hole in a sparse file)
    String header =
        "{\"big\":{\"dtype\":\"F32\",\"shape\":["
            + big
            + "],\"data_offsets\":[0,"
            + big * 4
            + "]},\"small\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":["
            + big * 4
            + ","
            + (big * 4 + 4)
            + "]}}";
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    Path file = tmp.resolve("sparse.safetensors");
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      byte[] length = new byte[8];
      for (int i = 0; i < 8; i++) {
        length[i] = (byte) ((long) h.length >>> (8 * i));
      }
      raf.write(length);
      raf.write(h);
      long smallAt = 8 + h.length + big * 4;
      raf.seek(smallAt);
      raf.write(new byte[] {(byte) 0x80, 0x3f, 0x00, (byte) 0xc0}); // bf16 1.0, -2.0
    }
    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      assertArrayEquals(new float[] {1f, -2f}, f.floats("small"));
      assertEquals(big * 4, f.info("big").byteSize());
      SafetensorsException e = assertThrows(SafetensorsException.class, () -> f.bytes("big"));
      assertTrue(
          e.getMessage().contains("has 2400000000 bytes, too many for one array"), e.getMessage());
    }
  }

  @Test
  void chunkedReadsMatchOneMap() {
    float[] values = new float[1001];
    for (int i = 0; i < values.length; i++) {
      values[i] = i * 0.25f - 100;
    }
    Path file = tmp.resolve("chunks.safetensors");
    Safetensors.write(
        file,
        Map.of(),
        Weights.of(
            List.of(
                Tensor.of("a", DType.FLOAT, new long[] {7, 143}, values),
                Tensor.of("b", DType.FLOAT16, new long[] {1001}, values),
                Tensor.of("c", DType.BFLOAT16, new long[] {1001}, values))));
    try (SafetensorsFile whole = SafetensorsFile.open(file);
        SafetensorsFile chunked = SafetensorsFile.open(file, 8)) {
      for (String name : List.of("a", "b", "c")) {
        assertArrayEquals(whole.floats(name), chunked.floats(name), name);
        assertArrayEquals(whole.bytes(name), chunked.bytes(name), name);
      }
      assertArrayEquals(values, chunked.floats("a"));
      assertArrayEquals(values, chunked.floats("b")); // quarter steps below 2048 are exact in F16
    }
  }
}
