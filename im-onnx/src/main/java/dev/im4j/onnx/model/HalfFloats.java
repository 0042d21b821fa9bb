package dev.im4j.onnx.model;

import dev.im4j.onnx.graph.DType;

/**
 * Conversions between float32 and the two 16-bit float formats, exact where the value is
 * representable and round-to-nearest-even otherwise (Java 17 has no {@code Float.float16ToFloat}).
 *
 * <p>NaN handling: a NaN stays a NaN of the same sign. Narrowing keeps the top payload bits that
 * fit and sets the quiet bit, so a signalling NaN becomes quiet; widening keeps the payload
 * (shifted into the high bits) unchanged. Infinities map to infinities; finite values too large for
 * binary16 (from 65520 up, the midpoint between 65504 and 2^16) round to infinity, as IEEE 754
 * requires.
 */
final class HalfFloats {
  private HalfFloats() {}

  /** Widens a bfloat16 bit pattern (low 16 bits of {@code bits}) to float32; always exact. */
  static float bf16ToF32(short bits) {
    return Float.intBitsToFloat((bits & 0xffff) << 16);
  }

  /** Narrows a float32 to bfloat16 bits, rounding to nearest, ties to even. */
  static short f32ToBf16(float value) {
    int bits = Float.floatToRawIntBits(value);
    if ((bits & 0x7fffffff) > 0x7f800000) {
      // NaN: truncation could clear every payload bit and turn it into infinity.
      return (short) ((bits >>> 16) | 0x0040);
    }
    int lsb = (bits >>> 16) & 1;
    return (short) ((bits + 0x7fff + lsb) >>> 16);
  }

  /** Widens a binary16 bit pattern (low 16 bits of {@code bits}) to float32; always exact. */
  static float f16ToF32(short bits) {
    int h = bits & 0xffff;
    int sign = (h & 0x8000) << 16;
    int exponent = (h >>> 10) & 0x1f;
    int mantissa = h & 0x3ff;
    if (exponent == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
    }
    if (exponent == 0) {
      // Zero or subnormal: mantissa * 2^-24, exact in float32 (10 significant bits).
      float magnitude = mantissa * 0x1p-24f;
      return sign == 0 ? magnitude : -magnitude;
    }
    return Float.intBitsToFloat(sign | ((exponent - 15 + 127) << 23) | (mantissa << 13));
  }

  /** Narrows a float32 to binary16 bits, rounding to nearest, ties to even. */
  static short f32ToF16(float value) {
    int bits = Float.floatToRawIntBits(value);
    int sign = (bits >>> 16) & 0x8000;
    int abs = bits & 0x7fffffff;
    if (abs > 0x7f800000) {
      return (short) (sign | 0x7c00 | 0x0200 | ((abs >>> 13) & 0x3ff));
    }
    if (abs >= 0x477ff000) { // 65520 and above, including infinity
      return (short) (sign | 0x7c00);
    }
    if (abs >= 0x38800000) { // 2^-14: normal in binary16
      int exponent = (abs >>> 23) - 127 + 15;
      int mantissa = abs & 0x7fffff;
      int h = (exponent << 10) | (mantissa >>> 13);
      int rest = mantissa & 0x1fff;
      if (rest > 0x1000 || (rest == 0x1000 && (h & 1) == 1)) {
        h++; // a carry into the exponent is the correct result
      }
      return (short) (sign | h);
    }
    if (abs <= 0x33000000) { // at most 2^-25: rounds to zero (2^-25 itself is a tie to even 0)
      return (short) sign;
    }
    // Subnormal result: round(|value| / 2^-24). |value| = m24 * 2^(e - 150), so the quotient is
    // m24 >> (126 - e), with e in [102, 112] here.
    int e = abs >>> 23;
    int m24 = (abs & 0x7fffff) | 0x800000;
    int shift = 126 - e;
    int m = m24 >>> shift;
    int rest = m24 & ((1 << shift) - 1);
    int half = 1 << (shift - 1);
    if (rest > half || (rest == half && (m & 1) == 1)) {
      m++; // 1024 is the smallest normal, which is correct
    }
    return (short) (sign | m);
  }

  /** {@code x} rounded to nearest-even in {@code dtype} and widened back (F32: {@code x}). */
  static float roundTo(DType dtype, float x) {
    return switch (dtype) {
      case FLOAT16 -> f16ToF32(f32ToF16(x));
      case BFLOAT16 -> bf16ToF32(f32ToBf16(x));
      default -> x;
    };
  }
}
