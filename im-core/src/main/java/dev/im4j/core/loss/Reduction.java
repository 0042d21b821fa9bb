package dev.im4j.core.loss;

/**
 * How the weighted per-token losses of one optimizer step are reduced to the step loss.
 *
 * <p>Notation: the step holds examples {@code e}; {@code P(e)} is the set of predicted positions of
 * {@code e} (after truncation and the label shift, so never its first token), {@code w_t} the
 * target weight and {@code nll_t = logsumexp(z_t) - z_t[y_t]} the negative log-likelihood at
 * position {@code t}. Every mode is linear in the {@code nll}, so {@link StepCoefficients#of}
 * expresses it as coefficients {@code c_t} with {@code loss = Σ_t c_t · nll_t}; the normalisers are
 * computed over the whole step, so the result does not depend on how the step is split into
 * micro-batches, nor on padding or packing.
 *
 * <p>Reference: Shi, Yang, Wu, Aitchison, Yilmaz, Lipani, "Instruction Tuning With Loss Over
 * Instructions", NeurIPS 2024 (arXiv 2405.14394).
 */
public enum Reduction {
  /**
   * Mean over examples of each example's weighted mean loss, the paper's objective (batch 1 per
   * device, gradient accumulation, mean cross-entropy per example):
   *
   * <pre>
   *   loss = (1 / E) Σ_e ( Σ_{t∈P(e)} w_t · nll_t ) / ( Σ_{t∈P(e)} w_t ),   c_t = w_t / (E · W_e)
   * </pre>
   *
   * where {@code W_e = Σ_{t∈P(e)} w_t} and {@code E} counts only examples with {@code W_e > 0} (an
   * example without any weighted target has nothing to average and does not dilute the others).
   */
  SEQUENCE_MEAN,
  /**
   * Weighted mean over every predicted token of the step, across all micro-batches (what TRL and
   * Hugging Face do since their 2024 gradient-accumulation fix):
   *
   * <pre>
   *   loss = ( Σ_t w_t · nll_t ) / ( Σ_t w_t ),   c_t = w_t / Σ_t w_t
   * </pre>
   */
  TOKEN_MEAN,
  /**
   * Weighted sum, no normalisation:
   *
   * <pre>
   *   loss = Σ_t w_t · nll_t,   c_t = w_t
   * </pre>
   */
  SUM
}
