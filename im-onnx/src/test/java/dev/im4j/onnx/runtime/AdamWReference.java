package dev.im4j.onnx.runtime;

import dev.im4j.onnx.train.AdamWConfig;

/**
 * Plain-Java twin of the toy regression's training: gradients of {@code sum_i c_i (x_i W + b -
 * y_i)^2} and ONNX Runtime's CPU AdamWOptimizer in both modes ({@link #update}), in float
 * arithmetic like the kernel.
 */
public final class AdamWReference {
  final int d;
  final float[] w; // [d]
  final float[] b = new float[1]; // [1]
  final float[] mW; // [d]
  final float[] vW; // [d]
  final float[] mB = new float[1]; // [1]
  final float[] vB = new float[1]; // [1]
  final float[] gW; // [d], accumulated
  final float[] gB = new float[1]; // [1], accumulated
  long step;
  private final AdamWConfig hyper;

  AdamWReference(float[] w0, float b0, AdamWConfig hyper) {
    this.d = w0.length;
    this.w = w0.clone();
    this.b[0] = b0;
    this.mW = new float[d];
    this.vW = new float[d];
    this.gW = new float[d];
    this.hyper = hyper;
  }

  /** Adds the gradient of the weighted loss on rows {@code x [n, d]}, {@code y, c [n]}. */
  float accumulate(float[] x, float[] y, float[] c) {
    int n = y.length;
    float loss = 0;
    for (int i = 0; i < n; i++) {
      float pred = b[0];
      for (int j = 0; j < d; j++) {
        pred += x[i * d + j] * w[j];
      }
      float diff = pred - y[i];
      loss += c[i] * diff * diff;
      float g = 2 * c[i] * diff;
      for (int j = 0; j < d; j++) {
        gW[j] += x[i * d + j] * g;
      }
      gB[0] += g;
    }
    return loss;
  }

  void resetGrad() {
    java.util.Arrays.fill(gW, 0);
    gB[0] = 0;
  }

  void optimizerStep(float lr) {
    step++;
    update(hyper, lr, step, w, gW, mW, vW);
    update(hyper, lr, step, b, gB, mB, vB);
  }

  /**
   * One AdamW step {@code t} (1-based) on {@code w} in place, with the moments updated in place, as
   * ONNX Runtime's CPU kernel computes it in float (the same operation order):
   *
   * <pre>
   * m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  c1 = 1 - b1^t;  c2 = 1 - b2^t
   * TORCH (adam_mode 0):
   *   w = w - w lr wd  (before the moments are applied)
   *   w = w - lr m / (c1 (sqrt(v / c2) + eps))
   * HUGGING_FACE_LEGACY (adam_mode 1):
   *   w = w - (lr sqrt(c2) / c1) m / (sqrt(v) + eps)
   *   w = w - lr wd w
   * </pre>
   *
   * The learning rate of {@code a} is ignored; {@code lr} is the step's.
   */
  public static void update(
      AdamWConfig a, float lr, long t, float[] w, float[] g, float[] m, float[] v) {
    float b1 = a.beta1();
    float b2 = a.beta2();
    float eps = a.epsilon();
    float wd = a.weightDecay();
    float alphaCorrection = 1f - (float) Math.pow(b1, t);
    float betaCorrection = 1f - (float) Math.pow(b2, t);
    float lrCorrected = lr * ((float) Math.sqrt(betaCorrection) / alphaCorrection);
    for (int i = 0; i < w.length; i++) {
      switch (a.variant()) {
        case TORCH -> {
          w[i] = w[i] - w[i] * lr * wd;
          m[i] = b1 * m[i] + (1f - b1) * g[i];
          v[i] = b2 * v[i] + (1f - b2) * g[i] * g[i];
          float denom = (float) Math.sqrt(v[i] / betaCorrection) + eps;
          w[i] = w[i] - (lr * m[i]) / (alphaCorrection * denom);
        }
        case HUGGING_FACE_LEGACY -> {
          m[i] = b1 * m[i] + (1f - b1) * g[i];
          v[i] = b2 * v[i] + (1f - b2) * g[i] * g[i];
          w[i] = w[i] - lrCorrected * m[i] / ((float) Math.sqrt(v[i]) + eps);
          w[i] = w[i] - lr * wd * w[i];
        }
      }
    }
  }
}
