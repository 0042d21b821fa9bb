package dev.im4j.onnx.train;

import static com.google.common.base.Preconditions.checkArgument;

/**
 * The learning rate of each optimizer step, as Hugging Face's schedulers compute it.
 *
 * <p>With base rate {@code lr}, {@code N} total steps, {@code W = ceil(warmupRatio · N)} warm-up
 * steps and 0-based step {@code s}:
 *
 * <pre>
 * s &lt; W:    lr · s / W                                   (all kinds; step 0 of a warm-up is 0)
 * CONSTANT:  lr
 * LINEAR:    lr · max(0, (N − s) / max(1, N − W))
 * COSINE:    lr · max(0, ½ (1 + cos(π · (s − W) / max(1, N − W))))
 * </pre>
 *
 * Default, the paper's recipe: LINEAR with warm-up ratio 0.03.
 *
 * @param kind the decay after warm-up
 * @param warmupRatio fraction of the total steps spent warming up, in [0, 1]
 */
public record LearningRateSchedule(Kind kind, double warmupRatio) {
  /** The decay after warm-up. */
  public enum Kind {
    /** Constant after warm-up. */
    CONSTANT,
    /** Linear decay to zero at the last step. */
    LINEAR,
    /** Half a cosine down to zero at the last step. */
    COSINE
  }

  /** Validates the warm-up ratio. */
  public LearningRateSchedule {
    checkArgument(kind != null, "kind must be CONSTANT, LINEAR or COSINE but was null");
    checkArgument(
        warmupRatio >= 0 && warmupRatio <= 1,
        "warmupRatio must be in [0, 1] but was %s",
        warmupRatio);
  }

  /** The paper's recipe: linear decay after 3% warm-up. */
  public static LearningRateSchedule defaults() {
    return new LearningRateSchedule(Kind.LINEAR, 0.03);
  }

  /** Warm-up steps for {@code totalSteps}. */
  public long warmupSteps(long totalSteps) {
    return (long) Math.ceil(warmupRatio * totalSteps);
  }

  /**
   * The rate of 0-based step {@code step} of {@code totalSteps}.
   *
   * @throws IllegalArgumentException if {@code step} is outside [0, totalSteps)
   */
  public float at(float baseRate, long step, long totalSteps) {
    checkArgument(
        step >= 0 && step < totalSteps, "step must be in [0, %s) but was %s", totalSteps, step);
    long warmup = warmupSteps(totalSteps);
    if (step < warmup) {
      return (float) (baseRate * (double) step / warmup);
    }
    double decaySteps = Math.max(1, totalSteps - warmup);
    double factor =
        switch (kind) {
          case CONSTANT -> 1.0;
          case LINEAR -> Math.max(0, (totalSteps - step) / decaySteps);
          case COSINE -> Math.max(0, 0.5 * (1 + Math.cos(Math.PI * (step - warmup) / decaySteps)));
        };
    return (float) (baseRate * factor);
  }
}
