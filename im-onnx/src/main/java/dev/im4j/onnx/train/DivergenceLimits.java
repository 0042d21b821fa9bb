package dev.im4j.onnx.train;

import static com.google.common.base.Preconditions.checkArgument;

/**
 * When the {@link Trainer} declares a run diverged and stops, beyond a non-finite step loss (which
 * always stops it).
 *
 * <ul>
 *   <li><b>Weights</b>: before a checkpoint is committed, its parameters are scanned; a NaN or
 *       infinite value, or a global L2 norm above {@code maxWeightNormGrowth} times the initial
 *       weights' norm, stops the run and the checkpoint is not written, so every checkpoint on disk
 *       holds weights from before the divergence. (The training API keeps gradients inside its
 *       session; a non-finite gradient shows up here, as non-finite weights after its update.)
 *   <li><b>Loss</b>: once {@code 2 · lossWindow} steps are done, the mean step loss of the last
 *       {@code lossWindow} steps must stay at most {@code maxLossRise} times the mean of the run's
 *       first {@code lossWindow} steps.
 * </ul>
 *
 * @param maxWeightNormGrowth allowed growth of the global weight norm over the initial weights'
 *     norm, {@code > 1}; infinite turns the rule off
 * @param maxLossRise allowed ratio of the recent mean step loss to the first steps' mean, {@code >
 *     1}; infinite turns the rule off
 * @param lossWindow steps in each of the two means, {@code >= 1}
 */
public record DivergenceLimits(double maxWeightNormGrowth, double maxLossRise, int lossWindow) {
  /** Default growth of the weight norm that counts as divergence: 100x. */
  public static final double DEFAULT_MAX_WEIGHT_NORM_GROWTH = 100;

  /**
   * Default rise of the mean step loss over the first steps' mean that counts as divergence: 2x.
   */
  public static final double DEFAULT_MAX_LOSS_RISE = 2;

  /** Default steps in each mean of the loss rule: 20. */
  public static final int DEFAULT_LOSS_WINDOW = 20;

  public DivergenceLimits {
    checkArgument(
        maxWeightNormGrowth > 1,
        "maxWeightNormGrowth must be > 1 (infinite = off) but was %s",
        maxWeightNormGrowth);
    checkArgument(
        maxLossRise > 1, "maxLossRise must be > 1 (infinite = off) but was %s", maxLossRise);
    checkArgument(lossWindow >= 1, "lossWindow must be >= 1 but was %s", lossWindow);
  }

  /** The defaults: 100x weight-norm growth, 2x loss rise over windows of 20 steps. */
  public static DivergenceLimits defaults() {
    return new DivergenceLimits(
        DEFAULT_MAX_WEIGHT_NORM_GROWTH, DEFAULT_MAX_LOSS_RISE, DEFAULT_LOSS_WINDOW);
  }

  /** Only the non-finite-loss rule, which cannot be turned off. */
  public static DivergenceLimits off() {
    return new DivergenceLimits(
        Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY, DEFAULT_LOSS_WINDOW);
  }
}
