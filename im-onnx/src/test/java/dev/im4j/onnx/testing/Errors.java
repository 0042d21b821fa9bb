package dev.im4j.onnx.testing;

/** Error measures of one tensor against another. */
public final class Errors {
  private Errors() {}

  /** {@code ‖actual − expected‖₂ / ‖expected‖₂}, the norm-wise relative error. */
  public static double normwise(float[] actual, float[] expected) {
    if (actual.length != expected.length) {
      throw new IllegalArgumentException(
          actual.length + " elements against " + expected.length + " expected");
    }
    double diff = 0;
    double norm = 0;
    for (int i = 0; i < actual.length; i++) {
      double d = actual[i] - (double) expected[i];
      diff += d * d;
      norm += (double) expected[i] * expected[i];
    }
    return Math.sqrt(diff / Math.max(norm, 1e-30));
  }
}
