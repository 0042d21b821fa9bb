package dev.im4j.core.loss;

import static com.google.common.base.Preconditions.checkElementIndex;

import dev.im4j.core.collate.Batch;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.List;

/**
 * Per-position loss coefficients for every micro-batch of one optimizer step: the step loss is
 * {@code Σ_batches Σ_cells c · nll}, and its gradient with respect to the logits of a cell is
 * {@code c · (softmax - onehot(target))}.
 *
 * <p>Held as one scale per segment (a cell's coefficient is its target weight times its segment's
 * scale), so a step's coefficients cost memory per example, not per cell. Immutable; accessors
 * return fresh arrays or buffers, or write into the caller's.
 */
public final class StepCoefficients {
  private final Reduction reduction;
  private final List<Batch> batches;
  private final double[][] scales; // [batches][segments]: coefficient = weight * scale
  private final double totalWeight;
  private final int countedExamples;

  StepCoefficients(
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
