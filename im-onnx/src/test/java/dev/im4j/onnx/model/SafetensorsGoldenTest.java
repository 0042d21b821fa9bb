package dev.im4j.onnx.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.im4j.onnx.graph.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reads files written by {@code generate_safetensors_fixtures.py} (torch, format implemented in
 * Python) and compares every bit with the values torch recorded.
 */
class SafetensorsGoldenTest {
  @TempDir Path tmp;

  private static long[] longs(JsonNode array) {
    long[] out = new long[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).longValue();
    }
    return out;
  }

  @Test
  void readsEveryTensorBitExact() {
    JsonNode expected = Fixtures.json("golden.json");
    try (SafetensorsFile file = SafetensorsFile.open(Fixtures.resource("golden.safetensors"))) {
      assertEquals(
          Map.of("format", "pt", "source", "generate_safetensors_fixtures.py"), file.metadata());
      List<String> names = new ArrayList<>();
      file.tensors().forEach(t -> names.add(t.name()));
      assertEquals(
          List.of("a.f32", "b.f16", "c.bf16", "d.i64", "e.i32", "f.empty", "g.scalar"), names);
      for (TensorInfo info : file.tensors()) {
        JsonNode e = expected.get(info.name());
        assertEquals(e.get("dtype").textValue(), SafetensorsDTypes.code(info.dtype()), info.name());
        assertArrayEquals(longs(e.get("shape")), info.shape(), info.name());
        if (SafetensorsDTypes.isWeight(info.dtype())) {
          float[] values = file.floats(info.name());
          long[] bits = longs(e.get("f32_bits"));
          assertEquals(bits.length, values.length);
          for (int i = 0; i < values.length; i++) {
            assertEquals(
                (int) bits[i], Float.floatToRawIntBits(values[i]), info.name() + "[" + i + "]");
          }
        } else {
          ByteBuffer raw = ByteBuffer.wrap(file.bytes(info.name())).order(ByteOrder.LITTLE_ENDIAN);
          long[] values = longs(e.get("values"));
          for (long v : values) {
            assertEquals(
                v, info.dtype() == DType.INT64 ? raw.getLong() : raw.getInt(), info.name());
          }
          assertEquals(0, raw.remaining());
        }
      }
    }
  }

  @Test
  void narrowsLikeTorch() {
    JsonNode expected = Fixtures.json("golden.json");
    for (String name : List.of("b.f16", "c.bf16")) {
      JsonNode e = expected.get(name);
      long[] sources = longs(e.get("source_f32_bits"));
      long[] bits = longs(e.get("bits"));
      for (int i = 0; i < sources.length; i++) {
        float x = Float.intBitsToFloat((int) sources[i]);
        int actual =
            (name.equals("b.f16") ? HalfFloats.f32ToF16(x) : HalfFloats.f32ToBf16(x)) & 0xffff;
        assertEquals(bits[i], actual, name + "[" + i + "] from " + x);
      }
    }
    JsonNode rounding = Fixtures.json("rounding.json");
    long[] inputs = longs(rounding.get("f32"));
    long[] f16 = longs(rounding.get("f16"));
    long[] bf16 = longs(rounding.get("bf16"));
    int checked = 0;
    for (int i = 0; i < inputs.length; i++) {
      float x = Float.intBitsToFloat((int) inputs[i]);
      if (Float.isNaN(x)) {
        continue; // torch drops a NaN's sign in bfloat16; NaN handling is tested in HalfFloatsTest
      }
      assertEquals(f16[i], HalfFloats.f32ToF16(x) & 0xffff, "f16 of " + x);
      assertEquals(bf16[i], HalfFloats.f32ToBf16(x) & 0xffff, "bf16 of " + x);
      checked++;
    }
    assertTrue(checked > 300, "checked " + checked);
  }

  @Test
  void rewritingTheFloatTensorsKeepsTheirBytes() {
    Path out = tmp.resolve("out.safetensors");
    try (SafetensorsFile golden = SafetensorsFile.open(Fixtures.resource("golden.safetensors"))) {
      List<Tensor> floats = new ArrayList<>();
      for (TensorInfo t : golden.tensors()) {
        if (SafetensorsDTypes.isWeight(t.dtype())) {
          floats.add(golden.tensor(t.name()));
        }
      }
      Safetensors.write(out, Map.of(), Weights.of(floats));
      try (SafetensorsFile rewritten = SafetensorsFile.open(out)) {
        assertEquals(floats.size(), rewritten.tensors().size());
        for (Tensor t : floats) {
          assertArrayEquals(golden.bytes(t.name()), rewritten.bytes(t.name()), t.name());
          assertEquals(golden.info(t.name()).dtype(), rewritten.info(t.name()).dtype());
        }
      }
    }
  }

  @Test
  void writerReproducesTheRustCratesLayoutByteForByte() throws java.io.IOException {
    Path out = tmp.resolve("layout.safetensors");
    try (SafetensorsFile golden = SafetensorsFile.open(Fixtures.resource("golden.safetensors"))) {
      List<Tensor> floats = new ArrayList<>();
      for (TensorInfo t : golden.tensors()) {
        if (SafetensorsDTypes.isWeight(t.dtype())) {
          floats.add(golden.tensor(t.name()));
        }
      }
      Safetensors.write(out, Safetensors.DEFAULT_METADATA, Weights.of(floats));
    }
    assertArrayEquals(
        java.nio.file.Files.readAllBytes(Fixtures.resource("layout.safetensors")),
        java.nio.file.Files.readAllBytes(out));
  }
}
