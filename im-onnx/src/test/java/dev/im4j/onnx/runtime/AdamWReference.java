package dev.im4j.onnx.runtime;

/**
 * Plain-Java twin of the toy regression's training: gradients of {@code sum_i c_i (x_i W + b -
 * y_i)^2} and ONNX Runtime's CPU AdamWOptimizer in mode 1 (Hugging Face style: bias correction
 * folded into the learning rate, weight decay after the update), in float arithmetic like the
 * kernel:
 *
 * <pre>
 * m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 * lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t)
 * w = w - lr_t m / (sqrt(v) + eps);  w = w - lr wd w
 * </pre>
 */
final class AdamWReference {
  final int d;
  final float[] w; // [d]
  float b;
  final float[] mW; // [d]
  final float[] vW; // [d]
  float mB;
  float vB;
  final float[] gW; // [d], accumulated
  float gB;
  long step;
  private final ToyRegression.AdamW hyper;

  AdamWReference(float[] w0, float b0, ToyRegression.AdamW hyper) {
    this.d = w0.length;
    this.w = w0.clone();
    this.b = b0;
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
      float pred = b;
      for (int j = 0; j < d; j++) {
        pred += x[i * d + j] * w[j];
      }
      float diff = pred - y[i];
      loss += c[i] * diff * diff;
      float g = 2 * c[i] * diff;
      for (int j = 0; j < d; j++) {
        gW[j] += x[i * d + j] * g;
      }
      gB += g;
    }
    return loss;
  }

  void resetGrad() {
    java.util.Arrays.fill(gW, 0);
    gB = 0;
  }

  void optimizerStep(float lr) {
    step++;
    float b1 = hyper.beta1();
    float b2 = hyper.beta2();
    float alphaCorrection = 1f - (float) Math.pow(b1, step);
    float betaCorrection = 1f - (float) Math.pow(b2, step);
    float lrCorrected = lr * ((float) Math.sqrt(betaCorrection) / alphaCorrection);
    for (int j = 0; j < d; j++) {
      mW[j] = b1 * mW[j] + (1f - b1) * gW[j];
      vW[j] = b2 * vW[j] + (1f - b2) * gW[j] * gW[j];
      w[j] = w[j] - lrCorrected * mW[j] / ((float) Math.sqrt(vW[j]) + hyper.epsilon());
      w[j] = w[j] - lr * hyper.weightDecay() * w[j];
    }
    mB = b1 * mB + (1f - b1) * gB;
    vB = b2 * vB + (1f - b2) * gB * gB;
    b = b - lrCorrected * mB / ((float) Math.sqrt(vB) + hyper.epsilon());
    b = b - lr * hyper.weightDecay() * b;
  }
}
