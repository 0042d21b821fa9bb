package dev.im4j.onnx.train;

import static com.google.common.base.Preconditions.checkArgument;

/**
 * AdamW hyper-parameters baked into the optimizer model (all but the learning rate, which the
 * trainer sets per step).
 *
 * <p>ONNX Runtime's {@code AdamWOptimizer} in mode 1 (Hugging Face style) computes, per parameter
 * {@code w} with gradient {@code g} at step {@code t} (1-based):
 *
 * <pre>
 * m = β1 m + (1 − β1) g;   v = β2 v + (1 − β2) g²
 * lr_t = lr · √(1 − β2^t) / (1 − β1^t)
 * w = w − lr_t · m / (√v + ε);   w = w − lr · λ · w
 * </pre>
 *
 * (Loshchilov and Hutter, "Decoupled weight decay regularization", 2019). Defaults per im-spec §6:
 * lr 2e-5, β = (0.9, 0.999), ε = 1e-8, λ = 0.
 *
 * @param learningRate the initial learning rate, stored in the checkpoint ({@code >= 0})
 * @param beta1 first-moment decay, in [0, 1)
 * @param beta2 second-moment decay, in [0, 1)
 * @param epsilon added to √v, {@code > 0}
 * @param weightDecay decoupled weight decay λ, {@code >= 0}
 */
public record AdamWConfig(
    float learningRate, float beta1, float beta2, float epsilon, float weightDecay) {

  /** Validates every field. */
  public AdamWConfig {
    checkArgument(
        Float.isFinite(learningRate) && learningRate >= 0,
        "learningRate must be finite and >= 0 but was %s",
        learningRate);
    checkArgument(beta1 >= 0 && beta1 < 1, "beta1 must be in [0, 1) but was %s", beta1);
    checkArgument(beta2 >= 0 && beta2 < 1, "beta2 must be in [0, 1) but was %s", beta2);
    checkArgument(
        Float.isFinite(epsilon) && epsilon > 0, "epsilon must be > 0 but was %s", epsilon);
    checkArgument(
        Float.isFinite(weightDecay) && weightDecay >= 0,
        "weightDecay must be finite and >= 0 but was %s",
        weightDecay);
  }

  /** im-spec §6: lr 2e-5, betas (0.9, 0.999), eps 1e-8, weight decay 0. */
  public static AdamWConfig defaults() {
    return new AdamWConfig(2e-5f, 0.9f, 0.999f, 1e-8f, 0f);
  }

  /** This configuration with another initial learning rate. */
  public AdamWConfig withLearningRate(float lr) {
    return new AdamWConfig(lr, beta1, beta2, epsilon, weightDecay);
  }

  /** This configuration with another weight decay. */
  public AdamWConfig withWeightDecay(float wd) {
    return new AdamWConfig(learningRate, beta1, beta2, epsilon, wd);
  }
}
