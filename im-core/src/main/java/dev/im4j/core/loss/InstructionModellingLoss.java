package dev.im4j.core.loss;

import static com.google.common.base.Preconditions.checkNotNull;

import dev.im4j.core.collate.Batch;
import java.util.List;

/**
 * Turns the target weights of all micro-batches of one optimizer step into per-position loss
 * coefficients, so that every {@link Reduction} reaches a backend as one float tensor per batch and
 * the backend only computes {@code Σ c · nll} and its gradient.
 *
 * <p>Because the normalisers ({@code Σ w} of the step, {@code Σ w} per example, the number of
 * examples) are taken over the whole step, loss and gradient do not depend on how the step is split
 * into micro-batches, on the padding side or multiple, or on packed versus padded layout. A step
 * without any positive-weight target yields all-zero coefficients: loss 0 and zero gradient, never
 * NaN. Only positions that are predicted after the label shift carry weight (the collator writes 0
 * for each segment's last token and for padding; position 0 is never a target), so the normalisers
 * count predicted positions only.
 *
 * <p>Examples are identified by their segment: the cells of one row with one non-zero segment id
 * form one example. Each example must therefore appear in exactly one segment of the step, which
 * {@link dev.im4j.core.collate.Collator} guarantees (it never splits an example).
 *
 * <p>Reference: Shi et al., "Instruction Tuning With Loss Over Instructions", NeurIPS 2024.
 * Thread-safe and stateless.
 */
public final class InstructionModellingLoss {
  private final Reduction reduction;

  private InstructionModellingLoss(Reduction reduction) {
    this.reduction = reduction;
  }

  /** The loss for the given reduction. */
  public static InstructionModellingLoss of(Reduction reduction) {
    return new InstructionModellingLoss(
        checkNotNull(reduction, "reduction must not be null; pick a Reduction"));
  }

  /** The reduction this loss applies. */
  public Reduction reduction() {
    return reduction;
  }

  /**
   * Coefficients for every batch of one optimizer step.
   *
   * @param step every micro-batch of the step (possibly empty)
   * @return one coefficient array per batch, {@code [rows, seqLen]} each
   */
  public StepCoefficients coefficients(List<Batch> step) {
    checkNotNull(step, "step");
    int batchCount = step.size();
    // Pass 1: per-segment weight sums (double, in cell order), the step total and the example
    // count, from the examples' runs: no column is written.
    double[][] segmentSums = new double[batchCount][]; // [batches][segments]
    double total = 0;
    int examples = 0;
    for (int b = 0; b < batchCount; b++) {
      Batch batch = checkNotNull(step.get(b), "step[%s] is null", b);
      double[] sums = new double[batch.segmentCount()];
      for (int s = 0; s < sums.length; s++) {
        sums[s] = batch.addSegmentTargetWeights(s, 0);
        // weight by weight in cell order, as a sum over the step's weight columns would add them
        total = batch.addSegmentTargetWeights(s, total);
        if (sums[s] > 0) {
          examples++;
        }
      }
      segmentSums[b] = sums;
    }
    // Pass 2: one scale per segment; a cell's coefficient is its weight times its segment's scale.
    double[][] scales = new double[batchCount][]; // [batches][segments]
    for (int b = 0; b < batchCount; b++) {
      double[] scale = new double[segmentSums[b].length];
      for (int s = 0; total > 0 && s < scale.length; s++) {
        scale[s] =
            switch (reduction) {
              case SUM -> 1.0;
              case TOKEN_MEAN -> 1.0 / total;
              case SEQUENCE_MEAN -> 1.0 / (examples * segmentSums[b][s]);
            };
      }
      scales[b] = scale;
    }
    return new StepCoefficients(reduction, List.copyOf(step), scales, total, examples);
  }
}
