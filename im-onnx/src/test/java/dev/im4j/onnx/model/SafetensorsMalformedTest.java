package dev.im4j.onnx.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.onnx.graph.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every malformed-file case gives a SafetensorsException naming the file and the problem. */
class SafetensorsMalformedTest {
  @TempDir Path tmp;

  private String failure(byte[] bytes, String... fragments) {
    Path p = Fixtures.write(tmp, "bad.safetensors", bytes);
    SafetensorsException e =
        assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(p).close());
    String m = e.getMessage();
    assertTrue(m.startsWith(p + ": "), m);
    for (String f : fragments) {
      assertTrue(m.contains(f), "expected '" + f + "' in: " + m);
    }
    return m;
  }

  private static String entry(String name, String dtype, String shape, long begin, long end) {
    return "\""
        + name
        + "\":{\"dtype\":\""
        + dtype
        + "\",\"shape\":"
        + shape
        + ",\"data_offsets\":["
        + begin
        + ","
        + end
        + "]}";
  }

  @Test
  void valid() throws IOException {
    Path p =
        Fixtures.write(
            tmp,
            "ok.safetensors",
            Fixtures.file(
                "{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F16", "[1]", 8, 10) + "}",
                10));
    try (SafetensorsFile f = SafetensorsFile.open(p)) {
      assertEquals(2, f.tensors().size());
      assertEquals(0f, f.floats("a")[1]);
    }
    assertTrue(Files.size(p) > 0);
  }

  @Test
  void nullMetadataIsNoMetadata() {
    Path p = Fixtures.write(tmp, "m.safetensors", Fixtures.file("{\"__metadata__\":null}", 0));
    try (SafetensorsFile f = SafetensorsFile.open(p)) {
      assertEquals(java.util.Map.of(), f.metadata());
      assertEquals(0, f.tensors().size());
    }
  }

  @Test
  void truncatedBeforeTheLength() {
    failure(new byte[5], "file is 5 bytes, shorter than the 8-byte header length");
    failure(new byte[0], "file is 0 bytes");
  }

  @Test
  void headerLengthHugeOrPastTheEnd() {
    failure(
        Fixtures.file(-1L, "{}", new byte[0]),
        "header length 18446744073709551615 exceeds the limit of 100000000");
    failure(
        Fixtures.file(200_000_000L, "{}", new byte[0]),
        "header length 200000000 exceeds the limit");
    failure(
        Fixtures.file(50, "{}", new byte[0]),
        "header length 50 exceeds the 2 bytes after the length field",
        "truncated");
  }

  @Test
  void truncatedData() {
    String header = "{" + entry("a", "F32", "[4]", 0, 16) + "}";
    failure(Fixtures.file(header, 12), "tensor \"a\": data_offsets [0, 16] out of range", "<= 12");
  }

  @Test
  void trailingBytes() {
    failure(
        Fixtures.file("{" + entry("a", "F32", "[1]", 0, 4) + "}", 6),
        "tensors cover 4 bytes but the byte buffer after the header is 6");
  }

  @Test
  void badJsonAndWrongShapes() {
    failure(Fixtures.file("{\"a\":", 0), "header is not valid JSON");
    failure(Fixtures.file("[1,2]", 0), "header must be a JSON object but is array");
    failure(Fixtures.file("{} {}", 0), "text after its JSON object");
    failure(Fixtures.file(3, "\u00ff\u00fe{", new byte[0]), "not valid UTF-8");
    failure(Fixtures.file("{\"a\":3}", 0), "tensor \"a\": must be an object but is number 3");
    failure(
        Fixtures.file("{\"__metadata__\":{\"k\":1}}", 0),
        "field \"__metadata__.k\" must be a string but is number 1");
    failure(
        Fixtures.file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4),
        "tensor \"a\": field \"data_offsets\" must be [begin, end] but is missing");
    failure(
        Fixtures.file("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
        "field \"dtype\" must be a string but is missing");
  }

  @Test
  void unknownDtype() {
    failure(
        Fixtures.file("{" + entry("w", "Q4", "[1]", 0, 1) + "}", 1),
        "tensor \"w\": field \"dtype\": unsupported value \"Q4\"; supported: F32, F16, BF16, I64, I32");
  }

  @Test
  void negativeOrFractionalOrOverflowingShape() {
    failure(
        Fixtures.file("{" + entry("w", "F32", "[-1]", 0, 0) + "}", 0),
        "tensor \"w\": field \"shape[0]\" must be a non-negative integer below 2^63 but is -1");
    failure(
        Fixtures.file("{" + entry("w", "F32", "[1.5]", 0, 0) + "}", 0),
        "field \"shape[0]\" must be a non-negative integer but is number 1.5");
    failure(
        Fixtures.file("{" + entry("w", "F32", "[99999999999999999999]", 0, 0) + "}", 0),
        "below 2^63 but is 99999999999999999999");
    failure(
        Fixtures.file("{" + entry("w", "F32", "[4294967296,4294967296]", 0, 0) + "}", 0),
        "more elements than a 64-bit count can hold");
    failure(
        Fixtures.file("{" + entry("w", "F32", "[4611686018427387904]", 0, 0) + "}", 0),
        "overflows a 64-bit byte count");
  }

  @Test
  void offsetsOutOfRangeOrReversed() {
    failure(
        Fixtures.file("{" + entry("w", "F32", "[1]", 4, 0) + "}", 4),
        "tensor \"w\": data_offsets [4, 0] out of range");
    failure(
        Fixtures.file("{" + entry("w", "F32", "[1]", 0, -4) + "}", 4),
        "data_offsets[1]\" must be a non-negative integer below 2^63 but is -4");
  }

  @Test
  void sizeMismatch() {
    failure(
        Fixtures.file("{" + entry("w", "BF16", "[3]", 0, 8) + "}", 8),
        "tensor \"w\": data_offsets [0, 8] span 8 bytes but dtype BF16 and shape [3] need 6");
  }

  @Test
  void overlapAndGap() {
    failure(
        Fixtures.file(
            "{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 4, 12) + "}", 12),
        "tensor \"b\": data_offsets [4, 12] overlap tensor \"a\" at [0, 8]");
    failure(
        Fixtures.file(
            "{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("b", "F32", "[1]", 8, 12) + "}", 12),
        "tensor \"b\": data_offsets begin at 8 but the previous tensor ends at 4",
        "contiguously");
    failure(
        Fixtures.file("{" + entry("a", "F32", "[1]", 4, 8) + "}", 8),
        "tensor \"a\": data_offsets begin at 4 but the previous tensor ends at 0");
  }

  @Test
  void emptyName() {
    failure(
        Fixtures.file("{" + entry("", "F32", "[1]", 0, 4) + "}", 4), "a tensor has an empty name");
  }

  @Test
  void duplicateNames() {
    failure(
        Fixtures.file(
            "{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("a", "F32", "[1]", 4, 8) + "}", 8),
        "header repeats a key",
        "'a'",
        "each tensor name must appear once");
  }

  @Test
  void everyTruncationOfAValidFileIsRejectedCleanly() throws IOException {
    Path good = tmp.resolve("good.safetensors");
    Safetensors.write(
        good,
        Safetensors.DEFAULT_METADATA,
        Weights.of(List.of(Tensor.of("x", DType.BFLOAT16, new long[] {3}, new float[] {1, 2, 3}))));
    byte[] bytes = Files.readAllBytes(good);
    for (int n = 0; n < bytes.length; n++) {
      failure(Arrays.copyOf(bytes, n));
    }
  }

  @Test
  void missingTensorAndIntegerAsFloats() {
    Path p =
        Fixtures.write(
            tmp, "i.safetensors", Fixtures.file("{" + entry("i", "I32", "[1]", 0, 4) + "}", 4));
    try (SafetensorsFile f = SafetensorsFile.open(p)) {
      SafetensorsException e = assertThrows(SafetensorsException.class, () -> f.floats("i"));
      assertTrue(
          e.getMessage().contains("tensor \"i\" has dtype I32; only F32, F16 and BF16"),
          e.getMessage());
      e = assertThrows(SafetensorsException.class, () -> f.floats("nope"));
      assertTrue(e.getMessage().equals(p + ": no tensor named \"nope\""), e.getMessage());
    }
  }
}
