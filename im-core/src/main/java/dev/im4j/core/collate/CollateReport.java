package dev.im4j.core.collate;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import java.util.List;

/**
 * What the {@link Collator} did to a list of examples: counts, and every example it shortened or
 * dropped with the reason.
 *
 * @param examplesIn examples handed to the collator
 * @param examplesOut examples present in the batches ({@code examplesIn - dropped - noTarget})
 * @param truncated examples shortened by truncation (kept or later dropped for lack of a target)
 * @param dropped examples dropped by {@link TruncationStrategy#DROP} for being too long
 * @param noTarget examples dropped because no token with positive weight is predicted (after
 *     truncation); the paper drops such rows, whose labels are all masked
 * @param tokens real (non-padding) cells over all batches
 * @param paddingTokens padding cells over all batches
 * @param events one entry per shortened or dropped example, in input order (an example that was
 *     truncated and then found without target has two entries)
 */
public record CollateReport(
    int examplesIn,
    int examplesOut,
    int truncated,
    int dropped,
    int noTarget,
    long tokens,
    long paddingTokens,
    List<Event> events) {

  public CollateReport {
    checkArgument(
        examplesIn >= 0 && examplesOut >= 0 && truncated >= 0 && dropped >= 0 && noTarget >= 0,
        "counts must be >= 0");
    if (examplesOut != examplesIn - dropped - noTarget) { // not checkArgument: no boxing
      throw new IllegalArgumentException(
          String.format(
              "examplesOut must equal examplesIn - dropped - noTarget but was %d != %d - %d - %d",
              examplesOut, examplesIn, dropped, noTarget));
    }
    checkArgument(tokens >= 0 && paddingTokens >= 0, "token counts must be >= 0");
    events = List.copyOf(checkNotNull(events, "events"));
  }

  /** Padding cells as a fraction of all cells, 0 when there are no cells. */
  public double paddingFraction() {
    long cells = tokens + paddingTokens;
    return cells == 0 ? 0.0 : (double) paddingTokens / cells;
  }

  /** Why an example appears in {@link #events()}. */
  public enum Reason {
    /** Shortened by {@link TruncationStrategy#KEEP_START}. */
    TRUNCATED_KEEP_START,
    /** Shortened by {@link TruncationStrategy#KEEP_END}. */
    TRUNCATED_KEEP_END,
    /** Shortened by {@link TruncationStrategy#TRIM_INSTRUCTION}. */
    TRIMMED_INSTRUCTION,
    /**
     * {@link TruncationStrategy#TRIM_INSTRUCTION} could not make the example fit (template and
     * outputs alone are too long), so it was cut as by {@link TruncationStrategy#KEEP_START}.
     */
    TRIM_FELL_BACK_TO_KEEP_START,
    /** Dropped by {@link TruncationStrategy#DROP}. */
    DROPPED_TOO_LONG,
    /** Dropped because no positive-weight token is predicted. */
    DROPPED_NO_TARGET;

    /** True for the reasons that remove the example from the batches. */
    public boolean isDrop() {
      return this == DROPPED_TOO_LONG || this == DROPPED_NO_TARGET;
    }
  }

  /**
   * One shortened or dropped example.
   *
   * @param exampleId the example's index within the collated step (as in {@link
   *     Batch#exampleIds()})
   * @param reason what happened
   * @param originalLength tokens before truncation
   * @param keptLength tokens kept (0 when dropped)
   */
  public record Event(int exampleId, Reason reason, int originalLength, int keptLength) {
    public Event {
      checkNotNull(reason, "reason");
      checkArgument(
          originalLength >= 0 && keptLength >= 0 && keptLength <= originalLength,
          "need 0 <= keptLength <= originalLength but were %s, %s",
          keptLength,
          originalLength);
    }
  }
}
