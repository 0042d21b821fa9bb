package dev.im4j.core.collate;

/**
 * What the {@link Collator} does with an example longer than {@link CollatorConfig#maxLength()}.
 *
 * <p>Every strategy that keeps a shortened example reports it in {@link CollateReport}; none of
 * them appends a token that was not in the data (a cut answer is never closed with a made-up EOS).
 */
public enum TruncationStrategy {
  /** Keep the first {@code maxLength} tokens (cut the end). The paper's "right truncation". */
  KEEP_START,
  /**
   * Keep the last {@code maxLength} tokens (cut the start). The first kept token loses its context
   * and is therefore not predicted (it becomes position 0).
   */
  KEEP_END,
  /** Drop the example; it is counted and listed in the report. */
  DROP,
  /** Throw {@link IllegalArgumentException} naming the example index and its length. */
  ERROR,
  /**
   * Remove instruction tokens ({@link dev.im4j.core.mask.TokenClass#SYSTEM SYSTEM} and {@link
   * dev.im4j.core.mask.TokenClass#USER USER} content) until the example fits, keeping every
   * template and output token.
   *
   * <p>Removal starts at the earliest instruction token and proceeds forwards: the oldest
   * instruction text (system prompt, first user turns) goes first, and the instruction text closest
   * to the outputs survives. The token that directly follows a removed run has lost its true
   * context, so its weight as a target is set to 0: trained targets are then a subsequence of the
   * untruncated trained targets, never a pair that did not occur in the data.
   *
   * <p>If the example still does not fit with every instruction token removed (template and outputs
   * alone exceed {@code maxLength}), the original example is truncated as by {@link #KEEP_START}
   * instead, and the report says so ({@link CollateReport.Reason#TRIM_FELL_BACK_TO_KEEP_START}).
   */
  TRIM_INSTRUCTION
}
