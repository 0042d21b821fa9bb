package dev.im4j.core.loss;

import static com.google.common.base.Preconditions.checkElementIndex;

import dev.im4j.core.collate.Batch;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * Per-position loss coefficients for every micro-batch of one optimizer step: the step loss is
 * {@code Σ_batches Σ_cells c · nll}, and its gradient with respect to the logits of a cell is
 * {@code c · (softmax - onehot(target))}.
 *
 * <p>Immutable; accessors return copies or fresh direct buffers.
 */
public final class StepCoefficients {
  private final Reduction reduction;
  private final float[][] coefficients; // [batches][rows * seqLen]
  private final double totalWeight;
  private final int countedExamples;

  StepCoefficients(
      Reduction reduction, float[][] coefficients, double totalWeight, int countedExamples) {
    this.reduction = reduction;
    this.coefficients = coefficients;
    this.totalWeight = totalWeight;
    this.countedExamples = countedExamples;
  }

  /** The reduction these coefficients implement. */
  public Reduction reduction() {
    return reduction;
  }

  /** Number of micro-batches, equal to the number of batches given. */
  public int batchCount() {
    return coefficients.length;
  }

  /**
   * Copy of the coefficients of batch {@code b}, {@code [rows, seqLen]} like that batch's arrays; 0
   * wherever the target is {@link Batch#IGNORE} or its weight is 0.
   */
  public float[] forBatch(int b) {
    checkElementIndex(b, coefficients.length, "batch");
    return coefficients[b].clone();
  }

  /** The coefficient at flat cell {@code i} of batch {@code b}. */
  public float at(int b, int i) {
    return coefficients[b][i];
  }

  /** The coefficients of batch {@code b} as a new direct buffer in native order. */
  public FloatBuffer buffer(int b) {
    checkElementIndex(b, coefficients.length, "batch");
    FloatBuffer buffer =
        ByteBuffer.allocateDirect(Math.multiplyExact(coefficients[b].length, Float.BYTES))
            .order(ByteOrder.nativeOrder())
            .asFloatBuffer();
    buffer.put(coefficients[b]).flip();
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
