package dev.im4j.core.loss;

import static com.google.common.base.Preconditions.checkElementIndex;
import static com.google.common.base.Preconditions.checkNotNull;

import dev.im4j.core.collate.Batch;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.List;

/**
 * Per-position loss coefficients for every micro-batch of one optimizer step: the step loss is
 * {@code Σ_batches Σ_cells c · nll}, and its gradient with respect to the logits of a cell is
 * {@code c · (softmax - onehot(target))}. {@link #of} computes them from the step's target weights
 * for a {@link Reduction}, so that every reduction reaches a backend as one float tensor per batch
 * and the backend only computes {@code Σ c · nll} and its gradient.
 *
 * <p>Held as one scale per segment (a cell's coefficient is its target weight times its segment's
 * scale), so a step's coefficients cost memory per example, not per cell. Immutable; accessors
 * return fresh arrays or buffers, or write into the caller's.
 *
 * <p>Reference: Shi et al., "Instruction Tuning With Loss Over Instructions", NeurIPS 2024.
 */
public final class StepCoefficients {
  private final Reduction reduction;
  private final List<Batch> batches;
  private final double[][] scales; // [batches][segments]: coefficient = weight * scale
  private final double totalWeight;
  private final int countedExamples;

  private StepCoefficients(
      Reduction reduction,
      List<Batch> batches,
      double[][] scales,
      double totalWeight,
      int countedExamples) {
    this.reduction = reduction;
    this.batches = batches;
    this.scales = scales;
    this.totalWeight = totalWeight;
    this.countedExamples = countedExamples;
  }

  /**
   * The coefficients of one optimizer step under {@code reduction}.
   *
   * <p>Because the normalisers ({@code Σ w} of the step, {@code Σ w} per example, the number of
   * examples) are taken over the whole step, loss and gradient do not depend on how the step is
   * split into micro-batches, on the padding side or multiple, or on packed versus padded layout
   * (invariants 12 and 15 of docs/invariants.md). A step without any positive-weight target yields
   * all-zero coefficients: loss 0 and zero gradient, never NaN (invariant 16). Only positions that
   * are predicted after the label shift carry weight (the collator writes 0 for each segment's last
   * token and for padding; position 0 is never a target), so the normalisers count predicted
   * positions only (invariant 17).
   *
   * <p>Examples are identified by their segment: the cells of one row with one non-zero segment id
   * form one example. Each example must therefore appear in exactly one segment of the step, which
   * {@link dev.im4j.core.collate.Collator} guarantees (it never splits an example).
   *
   * @param reduction how the step's weighted losses are combined
   * @param step every micro-batch of the step (possibly empty)
   * @return one coefficient per cell of every batch, {@code [rows, seqLen]} per batch
   * @throws NullPointerException if {@code reduction}, {@code step} or one of its batches is null
   */
  public static StepCoefficients of(Reduction reduction, List<Batch> step) {
    checkNotNull(reduction, "reduction must not be null; pick a Reduction");
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

  /** The reduction these coefficients implement. */
  public Reduction reduction() {
    return reduction;
  }

  /** Number of micro-batches, equal to the number of batches given. */
  public int batchCount() {
    return scales.length;
  }

  /**
   * The coefficients of batch {@code b}, {@code [rows, seqLen]} like that batch's arrays (a new
   * array); 0 wherever the target is {@link Batch#IGNORE} or its weight is 0.
   */
  public float[] forBatch(int b) {
    checkElementIndex(b, scales.length, "batch");
    float[] c = batches.get(b).weights();
    writeInto(b, c, FloatBuffer.wrap(c));
    return c;
  }

  /**
   * Writes the coefficients of batch {@code b} into {@code dest[0, cells)} (absolute puts; position
   * and limit are left alone), computed from that batch's weight column {@code weights} as {@link
   * Batch#writeTo} wrote it: no array is allocated, which is how a training loop feeds them.
   */
  public void writeInto(int b, float[] weights, FloatBuffer dest) {
    checkElementIndex(b, scales.length, "batch");
    Batch batch = batches.get(b);
    double[] scale = scales[b];
    int cell = 0;
    for (int s = 0; s < batch.segmentCount(); s++) {
      int from = batch.segmentStart(s);
      int to = from + batch.segmentLength(s);
      for (; cell < from; cell++) {
        dest.put(cell, 0f); // padding
      }
      for (; cell < to; cell++) {
        float w = weights[cell];
        dest.put(cell, w != 0f ? (float) (w * scale[s]) : 0f);
      }
    }
    for (int n = batch.cells(); cell < n; cell++) {
      dest.put(cell, 0f);
    }
  }

  /** The coefficient at flat cell {@code i} of batch {@code b}. */
  public float at(int b, int i) {
    checkElementIndex(b, scales.length, "batch");
    Batch batch = batches.get(b);
    float w = batch.weightAt(i);
    if (w == 0f) {
      return 0f;
    }
    int lo = 0;
    int hi = batch.segmentCount() - 1;
    while (lo < hi) { // the last segment starting at or before i holds it (w != 0: inside one)
      int mid = (lo + hi + 1) >>> 1;
      if (batch.segmentStart(mid) <= i) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return (float) (w * scales[b][lo]);
  }

  /** The coefficients of batch {@code b} as a new direct buffer in native order. */
  public FloatBuffer buffer(int b) {
    float[] c = forBatch(b);
    FloatBuffer buffer =
        ByteBuffer.allocateDirect(Math.multiplyExact(c.length, Float.BYTES))
            .order(ByteOrder.nativeOrder())
            .asFloatBuffer();
    buffer.put(c).flip();
    return buffer;
  }

  /** Σ w over every predicted position of the step (double accumulation). */
  public double totalWeight() {
    return totalWeight;
  }

  /**
   * Number of examples (segments) with positive total predicted weight: the {@code E} of {@link
   * Reduction#SEQUENCE_MEAN}.
   */
  public int countedExamples() {
    return countedExamples;
  }

  /** False if the step has no target with positive weight; then every coefficient is 0. */
  public boolean hasTarget() {
    return totalWeight > 0;
  }
}
