package dev.im4j.onnx.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Exhaustive checks of the 16-bit float conversions against slow references that compute values
 * from the bit fields with {@link Math#scalb} in double and round by searching the sorted table of
 * representable values.
 */
class HalfFloatsTest {

  /** binary16 value from its fields, in double; NaN for NaN patterns. */
  static double f16Reference(int h) {
    int sign = (h >>> 15) & 1;
    int exponent = (h >>> 10) & 0x1f;
    int mantissa = h & 0x3ff;
    double magnitude;
    if (exponent == 0x1f) {
      magnitude = mantissa == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
    } else if (exponent == 0) {
      magnitude = 0;
      for (int bit = 0; bit < 10; bit++) {
        if ((mantissa >>> bit & 1) == 1) {
          magnitude += Math.scalb(1.0, bit - 24);
        }
      }
    } else {
      magnitude = Math.scalb(1.0, exponent - 15);
      for (int bit = 0; bit < 10; bit++) {
        if ((mantissa >>> bit & 1) == 1) {
          magnitude += Math.scalb(1.0, exponent - 15 + bit - 10);
        }
      }
    }
    return sign == 1 ? -magnitude : magnitude;
  }

  /** bfloat16 value from its fields, in double. */
  static double bf16Reference(int b) {
    int sign = (b >>> 15) & 1;
    int exponent = (b >>> 7) & 0xff;
    int mantissa = b & 0x7f;
    double magnitude;
    if (exponent == 0xff) {
      magnitude = mantissa == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
    } else {
      int e = exponent == 0 ? -126 : exponent - 127;
      magnitude = exponent == 0 ? 0 : Math.scalb(1.0, e);
      for (int bit = 0; bit < 7; bit++) {
        if ((mantissa >>> bit & 1) == 1) {
          magnitude += Math.scalb(1.0, e + bit - 7);
        }
      }
    }
    return sign == 1 ? -magnitude : magnitude;
  }

  /**
   * Round-to-nearest-even by table search: {@code table[i]} is the value of positive pattern i for
   * i up to the largest finite pattern, then the first pattern past it (infinity) stands for the
   * next power of two, as IEEE 754 overflow rounding treats it.
   */
  static int roundReference(float x, double[] table, int infinityPattern) {
    int sign = Float.floatToRawIntBits(x) < 0 ? 0x8000 : 0;
    double a = Math.abs((double) x);
    if (Double.isInfinite(a) || a >= table[infinityPattern]) {
      return sign | infinityPattern;
    }
    int lo = 0;
    int hi = infinityPattern; // invariant: table[lo] <= a < table[hi]
    while (hi - lo > 1) {
      int mid = (lo + hi) >>> 1;
      if (table[mid] <= a) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    double down = a - table[lo];
    double up = table[hi] - a;
    int chosen = down < up ? lo : up < down ? hi : ((lo & 1) == 0 ? lo : hi);
    return sign | chosen;
  }

  static final double[] F16_TABLE = table(0x7c00, HalfFloatsTest::f16Reference, 65536.0);
  static final double[] BF16_TABLE = table(0x7f80, HalfFloatsTest::bf16Reference, 0x1p128);

  private static double[] table(
      int infinity, java.util.function.IntToDoubleFunction value, double past) {
    double[] t = new double[infinity + 1];
    for (int i = 0; i < infinity; i++) {
      t[i] = value.applyAsDouble(i);
    }
    t[infinity] = past;
    return t;
  }

  @Test
  void f16WideningIsExactForAllPatterns() {
    for (int h = 0; h < 65536; h++) {
      float actual = HalfFloats.f16ToF32((short) h);
      double expected = f16Reference(h);
      if (Double.isNaN(expected)) {
        int bits = Float.floatToRawIntBits(actual);
        assertTrue(Float.isNaN(actual), "pattern " + h);
        assertEquals((h & 0x8000) != 0, bits < 0, "sign of NaN " + h);
        assertEquals(h & 0x3ff, (bits >>> 13) & 0x3ff, "payload of NaN " + h);
      } else {
        assertEquals((float) expected, actual, "pattern " + Integer.toHexString(h));
        assertEquals(expected, actual, 0.0, "exactness " + Integer.toHexString(h));
        assertEquals(h >= 0x8000, Float.floatToRawIntBits(actual) < 0, "sign " + h);
      }
    }
  }

  @Test
  void bf16WideningIsExactForAllPatterns() {
    for (int b = 0; b < 65536; b++) {
      float actual = HalfFloats.bf16ToF32((short) b);
      double expected = bf16Reference(b);
      if (Double.isNaN(expected)) {
        assertTrue(Float.isNaN(actual), "pattern " + b);
      } else {
        assertEquals(expected, actual, 0.0, "pattern " + Integer.toHexString(b));
        assertEquals(b >= 0x8000, Float.floatToRawIntBits(actual) < 0, "sign " + b);
      }
    }
  }

  @Test
  void narrowingRoundTripsEveryPatternAndQuietsNaNs() {
    for (int h = 0; h < 65536; h++) {
      int f16 = HalfFloats.f32ToF16(HalfFloats.f16ToF32((short) h)) & 0xffff;
      int bf16 = HalfFloats.f32ToBf16(HalfFloats.bf16ToF32((short) h)) & 0xffff;
      boolean f16NaN = (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0;
      boolean bf16NaN = (h & 0x7f80) == 0x7f80 && (h & 0x7f) != 0;
      assertEquals(f16NaN ? h | 0x0200 : h, f16, "f16 " + Integer.toHexString(h));
      assertEquals(bf16NaN ? h | 0x0040 : h, bf16, "bf16 " + Integer.toHexString(h));
    }
  }

  @Test
  void narrowingRoundsToNearestEvenAtEveryMidpoint() {
    checkMidpoints(F16_TABLE, 0x7c00, true);
    checkMidpoints(BF16_TABLE, 0x7f80, false);
  }

  private static void checkMidpoints(double[] table, int infinity, boolean f16) {
    for (int i = 0; i < infinity; i++) {
      double mid = (table[i] + table[i + 1]) / 2;
      float m = (float) mid;
      if (m != mid) {
        continue; // bf16 midpoints beyond float32's range cannot be asked for
      }
      for (float x :
          new float[] {
            m, Math.nextDown(m), Math.nextUp(m), -m, -Math.nextUp(m), (float) table[i]
          }) {
        int expected = roundReference(x, table, infinity);
        int actual = (f16 ? HalfFloats.f32ToF16(x) : HalfFloats.f32ToBf16(x)) & 0xffff;
        assertEquals(
            expected,
            actual,
            (f16 ? "f16" : "bf16")
                + " of "
                + x
                + " ("
                + Integer.toHexString(Float.floatToRawIntBits(x))
                + ")");
      }
    }
  }

  @Test
  void narrowingMatchesReferenceOnSeededRandomFloats() {
    SplittableRandom random = new SplittableRandom(42);
    for (int i = 0; i < 200_000; i++) {
      float x = Float.intBitsToFloat(random.nextInt());
      if (Float.isNaN(x)) {
        assertTrue(Float.isNaN(HalfFloats.f16ToF32(HalfFloats.f32ToF16(x))));
        assertTrue(Float.isNaN(HalfFloats.bf16ToF32(HalfFloats.f32ToBf16(x))));
        continue;
      }
      assertEquals(
          roundReference(x, F16_TABLE, 0x7c00), HalfFloats.f32ToF16(x) & 0xffff, "f16 " + x);
      assertEquals(
          roundReference(x, BF16_TABLE, 0x7f80), HalfFloats.f32ToBf16(x) & 0xffff, "bf16 " + x);
    }
  }

  @Test
  void handPickedValues() {
    assertEquals(0x3c00, HalfFloats.f32ToF16(1.0f));
    assertEquals(0x7bff, HalfFloats.f32ToF16(65504f));
    assertEquals(0x7bff, HalfFloats.f32ToF16(65519.996f));
    assertEquals(0x7c00, HalfFloats.f32ToF16(65520f));
    assertEquals(0x0001, HalfFloats.f32ToF16(0x1p-24f));
    assertEquals(0x0000, HalfFloats.f32ToF16(0x1p-25f)); // tie to even (zero)
    assertEquals(0x0001, HalfFloats.f32ToF16(Math.nextUp(0x1p-25f)));
    assertEquals((short) 0x8000, HalfFloats.f32ToF16(-0.0f));
    assertEquals(0x3f80, HalfFloats.f32ToBf16(1.0f));
    assertEquals(0x3f80, HalfFloats.f32ToBf16(Float.intBitsToFloat(0x3f808000))); // tie, even down
    assertEquals(0x3f82, HalfFloats.f32ToBf16(Float.intBitsToFloat(0x3f818000))); // tie, even up
    assertEquals(0x7f80, HalfFloats.f32ToBf16(Float.MAX_VALUE)); // rounds past the largest
    assertEquals((short) 0x7fc1, HalfFloats.f32ToBf16(Float.intBitsToFloat(0x7f810000)));
    assertEquals((short) 0x7fc0, HalfFloats.f32ToBf16(Float.intBitsToFloat(0x7f800001)));
    assertEquals(-2.5f, HalfFloats.f16ToF32((short) 0xc100));
  }
}
