// Manual exhaustive check of HalfFloats over all 2^32 float32 bit patterns (not part of the build).
// Needs JDK 20+ for Float.floatToFloat16, the independent reference for binary16:
//   mvn -q -pl im-onnx -am compile && JDK20PLUS/bin/java -cp im-onnx/target/classes \
//       im-onnx/src/test/resources/model/ExhaustiveHalfFloatCheck.java
// Also compares both formats with a Math.rint reference (ties to even at the format's ulp).
// Result on 2026-11-23 (Temurin 25): checked 4278190082 non-NaN floats, mismatches 0.
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.reflect.Method;

public class ExhaustiveHalfFloatCheck {
  static final MethodHandle F16;
  static final MethodHandle BF16;
  static {
    try {
      Class<?> c = Class.forName("dev.im4j.onnx.model.HalfFloats");
      Method a = c.getDeclaredMethod("f32ToF16", float.class);
      Method b = c.getDeclaredMethod("f32ToBf16", float.class);
      a.setAccessible(true);
      b.setAccessible(true);
      F16 = MethodHandles.lookup().unreflect(a);
      BF16 = MethodHandles.lookup().unreflect(b);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  static double rintRef(float x, int mantBits, int minExp, double overflow) {
    double d = Math.abs((double) x);
    if (d == 0) return 0;
    int e = Math.max(Math.getExponent(d), minExp);
    double ulp = Math.scalb(1.0, e - mantBits);
    double r = Math.rint(d / ulp) * ulp;
    return r >= overflow ? Double.POSITIVE_INFINITY : r;
  }

  public static void main(String[] args) throws Throwable {
    long bad = 0, checked = 0;
    for (long i = 0; i <= 0xffffffffL; i++) {
      int bits = (int) i;
      float x = Float.intBitsToFloat(bits);
      short h = (short) F16.invokeExact(x);
      short b = (short) BF16.invokeExact(x);
      if (Float.isNaN(x)) {
        if (!Float.isNaN(Float.float16ToFloat(h)) || !Float.isNaN(Float.intBitsToFloat((b & 0xffff) << 16))) bad++;
        continue;
      }
      checked++;
      if (h != Float.floatToFloat16(x)) { if (bad++ < 10) System.out.println("f16 jdk " + Integer.toHexString(bits)); }
      double rf = rintRef(x, 10, -14, 65536.0);
      double gotF = Math.abs((double) Float.float16ToFloat(h));
      if (gotF != rf) { if (bad++ < 10) System.out.println("f16 rint " + Integer.toHexString(bits)); }
      double rb = rintRef(x, 7, -126, 0x1p128);
      double gotB = Math.abs((double) Float.intBitsToFloat((b & 0xffff) << 16));
      if (gotB != rb) { if (bad++ < 10) System.out.println("bf16 rint " + Integer.toHexString(bits)); }
      if (((h & 0x8000) != 0) != (bits < 0) || ((b & 0x8000) != 0) != (bits < 0)) bad++;
    }
    System.out.println("checked " + checked + " non-NaN floats, mismatches " + bad);
  }
}
