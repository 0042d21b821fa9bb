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
    Value flat = g.flatten(logits, rank - 1); // [N, V]
    Value t = g.reshape(targets, -1); // [N]
    Value c = g.reshape(coefficients, -1, 1); // [N, 1]
    Value zero = g.scalar(DType.INT64, 0);
    Value safe = g.where(g.less(t, zero), zero, t); // [N], ignore ids -> 0
    Value safeCol = g.unsqueeze(safe, 1); // [N, 1]

    // One fused LogSoftmax (stable: max-shifted) feeds both the loss and the gradient, and the
    // one-hot is never built: -c goes onto each target's entry in place (ScatterElements add).
    // Per [N, V] element that is LogSoftmax, Exp and Mul, where max/shift/exp/sum/exp and an
    // Equal + Cast one-hot took twice the passes and as many more [N, V] tensors.
    Value logProbs = g.logSoftmax(flat, 1); // [N, V]
    Value picked = g.gatherElements(logProbs, safeCol, 1); // [N, 1], -nll
    Value loss = g.neg(g.reduceSum(g.mul(c, picked), new long[] {0, 1}, false)); // []
    Value scaled = g.mul(c, g.exp(logProbs)); // [N, V], c · softmax
    Value grad = g.scatterElements(scaled, safeCol, g.neg(c), 1, "add"); // c · (softmax - onehot)
    Value gradShaped = g.reshapeLiteral(grad, g.shape(logits)); // like logits, also when empty
    return new Result(loss, gradShaped);
  }
}
