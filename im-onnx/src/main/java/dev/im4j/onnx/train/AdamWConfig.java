package dev.im4j.onnx.train;

import static com.google.common.base.Preconditions.checkArgument;

/**
 * AdamW hyper-parameters baked into the optimizer model (all but the learning rate, which the
 * trainer sets per step), and which of ONNX Runtime's two AdamW formulas to use.
 *
 * <p>Both variants update, per parameter {@code w} with gradient {@code g} at step {@code t}
 * (1-based), {@code m = β1 m + (1 − β1) g} and {@code v = β2 v + (1 − β2) g²}; they differ in where
 * ε goes and when the weight decays (Loshchilov and Hutter, "Decoupled weight decay
 * regularization", 2019):
 *
 * <pre>
 * TORCH:                w = w − lr · λ · w
 *                       w = w − lr · (m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε)
 * HUGGING_FACE_LEGACY:  w = w − lr · √(1 − β2^t) / (1 − β1^t) · m / (√v + ε)
 *                       w = w − lr · λ · w
 * </pre>
 *
 * The legacy variant's ε acts as {@code ε / √(1 − β2^t)} on the bias-corrected scale (3.2e-7 at
 * step 1 for ε = 1e-8, β2 = 0.999), so early steps on small gradients differ visibly. Defaults per
 * The paper's recipe (docs/user-guide.md, section 8): lr 2e-5 and λ = 0, with the β = (0.9, 0.999)
 * and ε = 1e-8 of its released code (its table says 0.98 and 1e-6), {@link Variant#TORCH}.
 *
 * @param learningRate the initial learning rate, stored in the checkpoint ({@code >= 0})
 * @param beta1 first-moment decay, in [0, 1)
 * @param beta2 second-moment decay, in [0, 1)
 * @param epsilon added to the square root of the second moment, {@code > 0}
 * @param weightDecay decoupled weight decay λ, {@code >= 0}
 * @param variant the update formula; the trainer records it beside its checkpoints and resumes only
 *     with the same one (the moments in ORT's checkpoint mean the same in both)
 */
public record AdamWConfig(
    float learningRate,
    float beta1,
    float beta2,
    float epsilon,
    float weightDecay,
    Variant variant) {

  /**
   * The AdamW formula: ONNX Runtime's {@code com.microsoft} {@code AdamWOptimizer} implements both,
   * selected by its {@code adam_mode} attribute (CPU kernel {@code
   * training_ops/cpu/optimizer/adamw/adamw.cc}).
   */
  public enum Variant {
    /**
     * {@code torch.optim.AdamW} (and Hugging Face Trainer's default {@code adamw_torch}): weight
     * decay first, then bias-corrected moments with ε added to {@code √v̂}; {@code adam_mode} 0.
     */
    TORCH(0),
    /**
     * The deprecated {@code transformers.AdamW} (ONNX Runtime's on-device default): bias correction
     * folded into the learning rate, ε added to the uncorrected {@code √v}, weight decay after the
     * update; {@code adam_mode} 1.
     */
    HUGGING_FACE_LEGACY(1);

    private final int adamMode;

    Variant(int adamMode) {
      this.adamMode = adamMode;
    }

    /** ONNX Runtime's {@code adam_mode} attribute for this formula. */
    public int adamMode() {
      return adamMode;
    }
  }

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
    checkArgument(variant != null, "variant must be non-null; use Variant.TORCH");
  }

  /** The {@link Variant#TORCH} configuration with these hyper-parameters. */
  public AdamWConfig(
      float learningRate, float beta1, float beta2, float epsilon, float weightDecay) {
    this(learningRate, beta1, beta2, epsilon, weightDecay, Variant.TORCH);
  }

  /**
   * lr 2e-5, betas (0.9, 0.999), eps 1e-8, weight decay 0, torch.optim.AdamW: the paper's recipe
   * with its released code's betas and eps.
   */
  public static AdamWConfig defaults() {
    return new AdamWConfig(2e-5f, 0.9f, 0.999f, 1e-8f, 0f, Variant.TORCH);
  }

  /** This configuration with another initial learning rate. */
  public AdamWConfig withLearningRate(float lr) {
    return new AdamWConfig(lr, beta1, beta2, epsilon, weightDecay, variant);
  }

  /** This configuration with another weight decay. */
  public AdamWConfig withWeightDecay(float wd) {
    return new AdamWConfig(learningRate, beta1, beta2, epsilon, wd, variant);
  }

  /** This configuration with another update formula. */
  public AdamWConfig withVariant(Variant value) {
    return new AdamWConfig(learningRate, beta1, beta2, epsilon, weightDecay, value);
  }
}
