package dev.im4j.bench;

import dev.im4j.core.collate.Batch;
import dev.im4j.core.collate.BatchBuffers;
import dev.im4j.core.collate.CollateResult;
import org.openjdk.jmh.infra.Blackhole;

/**
 * What the benchmarks do with collated batches: write each one's cells (input ids, position ids,
 * segment ids, shifted targets, weights) into one {@link BatchBuffers} reused across batches, as a
 * training loop feeds a runtime.
 */
final class RuntimeBuffers {
  private final BatchBuffers buffers = new BatchBuffers();

  /** Writes the cells of every batch of {@code result}. */
  void write(CollateResult result, Blackhole bh) {
    for (Batch batch : result.batches()) {
      batch.writeTo(buffers);
      bh.consume(buffers.inputIds());
      bh.consume(buffers.positionIds());
      bh.consume(buffers.segmentIds());
      bh.consume(buffers.targets());
      bh.consume(buffers.weights());
    }
  }
}
