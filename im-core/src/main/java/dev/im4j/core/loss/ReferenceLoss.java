package dev.im4j.core.loss;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import dev.im4j.core.collate.Batch;

/**
 * The plain-Java oracle of the weighted cross-entropy every backend must reproduce:
 *
 * <pre>
 *   loss        = Σ_i c_i · nll_i,   nll_i = logsumexp(z_i) - z_i[y_i]
 *   dloss/dz_i  = c_i · (softmax(z_i) - onehot(y_i))
 * </pre>
 *
 * over the cells {@code i} of a batch, with logits {@code z}, targets {@code y} and coefficients
 * {@code c} from {@link StepCoefficients#of}. The log-sum-exp subtracts the row maximum for
 * stability; accumulation is in double. A cell with {@code c_i == 0} contributes exactly 0 to loss
 * and gradient (its target may be {@link Batch#IGNORE} and its logits are not read).
 *
 * <p>Stateless and thread-safe; written for clarity, not speed.
 */
public final class ReferenceLoss {
  private ReferenceLoss() {}

  /**
   * Loss and gradient of one batch.
   *
   * @param logits {@code [cells, vocab]} flattened, i.e. {@code [rows, seqLen, vocab]}
   * @param vocab vocabulary size, {@code > 0}
   * @param targets {@code [cells]}; a valid id in {@code [0, vocab)} wherever the coefficient is
   *     non-zero
   * @param coefficients {@code [cells]}, finite
   * @return the loss and a fresh gradient array {@code [cells, vocab]}
   * @throws IllegalArgumentException on shape mismatch, a non-finite coefficient, or a target out
   *     of range where the coefficient is non-zero
   */
  public static Result compute(float[] logits, int vocab, int[] targets, float[] coefficients) {
    checkNotNull(logits, "logits");
    checkNotNull(targets, "targets");
    checkNotNull(coefficients, "coefficients");
    checkArgument(vocab > 0, "vocab must be > 0 but was %s", vocab);
    int cells = targets.length;
    checkArgument(
        coefficients.length == cells,
        "coefficients must have one entry per target cell (%s) but had %s",
        cells,
        coefficients.length);
    checkArgument(
        (long) cells * vocab == logits.length,
        "logits must hold cells * vocab = %s * %s values but held %s",
        cells,
        vocab,
        logits.length);
    float[] gradient = new float[logits.length]; // [cells, vocab]
    double loss = 0;
    for (int i = 0; i < cells; i++) {
      float c = coefficients[i];
      // Explicit branches rather than checkArgument: no boxing in this per-cell loop.
      if (!Float.isFinite(c)) {
        throw new IllegalArgumentException(
            String.format("coefficients[%d] must be finite but was %s", i, c));
      }
      if (c == 0f) {
        continue;
      }
      int y = targets[i];
      if (y < 0 || y >= vocab) {
        throw new IllegalArgumentException(
            String.format(
                "targets[%d] must be in [0, %d) where the coefficient is non-zero but was %d;"
                    + " coefficients must be 0 where the target is IGNORE",
                i, vocab, y));
      }
      int base = i * vocab;
      double max = Double.NEGATIVE_INFINITY;
      for (int v = 0; v < vocab; v++) {
        max = Math.max(max, logits[base + v]);
      }
      double sumExp = 0;
      for (int v = 0; v < vocab; v++) {
        sumExp += Math.exp(logits[base + v] - max);
      }
      double logSumExp = max + Math.log(sumExp);
      loss += c * (logSumExp - logits[base + y]);
      for (int v = 0; v < vocab; v++) {
        double softmax = Math.exp(logits[base + v] - logSumExp);
        gradient[base + v] = (float) (c * (softmax - (v == y ? 1.0 : 0.0)));
      }
    }
    return new Result(loss, gradient);
  }

  /**
   * Loss and gradient of one collated batch.
   *
   * @param batch the batch, whose targets are used
   * @param coefficients the batch's coefficients, {@code [rows, seqLen]}
   * @param logits {@code [rows, seqLen, vocab]}
   * @param vocab vocabulary size
   * @see #compute(float[], int, int[], float[])
   */
  public static Result compute(Batch batch, float[] coefficients, float[] logits, int vocab) {
    checkNotNull(batch, "batch");
    return compute(logits, vocab, batch.targets(), coefficients);
  }

  /** A loss value and its gradient with respect to the logits. */
  public static final class Result {
    private final double loss;
    private final float[] gradient; // [cells, vocab]

    Result(double loss, float[] gradient) {
      this.loss = loss;
      this.gradient = gradient;
    }

    /** {@code Σ c · nll}. */
    public double loss() {
      return loss;
    }

    /** Copy of dloss/dlogits, {@code [rows, seqLen, vocab]}. */
    public float[] gradient() {
      return gradient.clone();
    }

    /** dloss/dlogits at flat index {@code i} of {@code [rows, seqLen, vocab]}. */
    public float gradientAt(int i) {
      return gradient[i];
    }
  }
}
