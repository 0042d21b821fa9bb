package dev.im4j.core.collate;

import static com.google.common.base.Preconditions.checkNotNull;

import java.util.List;

/**
 * The batches of one collated step and the report of what was shortened or dropped.
 *
 * @param batches the micro-batches, in order; empty if every example was dropped
 * @param report counts and events
 */
public record CollateResult(List<Batch> batches, CollateReport report) {
  public CollateResult {
    batches = List.copyOf(checkNotNull(batches, "batches"));
    checkNotNull(report, "report");
  }
}
