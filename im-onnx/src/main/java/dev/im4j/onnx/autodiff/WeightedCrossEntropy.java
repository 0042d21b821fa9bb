package dev.im4j.onnx.autodiff;

import dev.im4j.core.collate.Batch;
import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.graph.Value;

/**
 * The weighted token cross-entropy {@code loss = Σ_i c_i · nll_i} with its analytic gradient.
 *
 * <p>{@code nll_i = logsumexp(logits_i) − logits_i[target_i]}. The coefficients {@code c} carry
 * every loss policy and reduction (see {@code loss.StepCoefficients.of} in im-core), so this graph
 * only sums. The gradient is {@code d loss / d logits_i = c_i · (softmax(logits_i) −
 * onehot(target_i))}: finite for finite logits, and exactly zero where {@code c_i = 0}. A target of
 * {@link #IGNORE_INDEX} (or any negative id) is clamped to 0 before the lookup, so it must come
 * with {@code c_i = 0}.
 */
public final class WeightedCrossEntropy {
  /**
   * The target id for positions that are not predicted, the collator's ({@link Batch#IGNORE}); pair
   * it with a zero coefficient.
   */
  public static final long IGNORE_INDEX = Batch.IGNORE;

  private WeightedCrossEntropy() {}

  /**
   * The loss and its gradient with respect to the logits.
   *
   * @param loss scalar, dtype of the logits
   * @param logitsGradient d loss / d logits, shaped like the logits; seed it into {@link
   *     Autodiff#gradients(Graph, java.util.Map, java.util.List)}
   */
  public record Result(Value loss, Value logitsGradient) {}

  /**
   * Emits the loss and its analytic gradient.
   *
   * @param logits [N, V] or [B, T, V], floating point
   * @param targets INT64, the logits' shape without the last axis
   * @param coefficients the logits' dtype and the targets' shape
   */
  public static Result build(Graph g, Value logits, Value targets, Value coefficients) {
    int rank = logits.rank();
    if (rank < 2 || (logits.dtype() != DType.FLOAT && logits.dtype() != DType.DOUBLE)) {
      throw new IllegalArgumentException(
          "logits must be FLOAT (or DOUBLE, for checks) of rank >= 2 ([N, V] or [B, T, V]) but"
              + " were "
              + logits
              + "; cast half-precision logits to FLOAT first");
    }
    if (targets.dtype() != DType.INT64 || targets.rank() != rank - 1) {
      throw new IllegalArgumentException(
          "targets must be INT64 of rank " + (rank - 1) + " but were " + targets);
    }
    if (coefficients.dtype() != logits.dtype() || coefficients.rank() != rank - 1) {
      throw new IllegalArgumentException(
          "coefficients must be "
              + logits.dtype()
              + " of rank "
              + (rank - 1)
              + " but were "
              + coefficients);
    }
    DType dt = logits.dtype();
    Value flat = g.flatten(logits, rank - 1); // [N, V]
    Value t = g.reshape(targets, -1); // [N]
    Value c = g.reshape(coefficients, -1, 1); // [N, 1]
    Value zero = g.scalar(DType.INT64, 0);
    Value safe = g.where(g.less(t, zero), zero, t); // [N], ignore ids -> 0
    Value safeCol = g.unsqueeze(safe, 1); // [N, 1]

    Value max = g.reduceMax(flat, new long[] {1}, true); // [N, 1], a constant for the gradient
    Value shifted = g.sub(flat, max); // [N, V]
    Value sumExp = g.reduceSum(g.exp(shifted), new long[] {1}, true); // [N, 1]
    Value lse = g.add(g.log(sumExp), max); // [N, 1]
    Value picked = g.gatherElements(flat, safeCol, 1); // [N, 1]
    Value nll = g.sub(lse, picked); // [N, 1]
    Value loss = g.reduceSum(g.mul(c, nll), new long[] {0, 1}, false); // []

    Value probs = g.exp(g.sub(flat, lse)); // [N, V]
    Value vocab = g.shape(flat, 1, 2); // [1]
    Value ids =
        g.range(g.scalar(DType.INT64, 0), g.squeeze(vocab, 0), g.scalar(DType.INT64, 1)); // [V]
    Value oneHot = g.cast(g.equal(g.unsqueeze(ids, 0), safeCol), dt); // [N, V]
    Value grad = g.mul(c, g.sub(probs, oneHot)); // [N, V]
    Value gradShaped = g.reshapeLiteral(grad, g.shape(logits)); // like logits, also when empty
    return new Result(loss, gradShaped);
  }
}
