package dev.im4j.bench;

import dev.im4j.core.collate.Batch;
import dev.im4j.core.collate.CollateResult;
import org.openjdk.jmh.infra.Blackhole;

/**
 * A training loop's input buffers, reused across batches and grown when a batch needs more: what
 * the benchmarks write collated batches into, so that collation is measured up to the cells a
 * runtime is fed (input ids, position ids, segment ids, shifted targets, weights).
 */
final class RuntimeBuffers {
  private int[] inputIds = new int[0];
  private int[] positionIds = new int[0];
  private int[] segmentIds = new int[0];
  private int[] targets = new int[0];
  private float[] weights = new float[0];

  /** Writes the cells of every batch of {@code result}. */
  void write(CollateResult result, Blackhole bh) {
    for (Batch batch : result.batches()) {
      if (batch.cells() > inputIds.length) {
        inputIds = new int[batch.cells()];
        positionIds = new int[batch.cells()];
        segmentIds = new int[batch.cells()];
        targets = new int[batch.cells()];
        weights = new float[batch.cells()];
      }
      batch.writeInputIds(inputIds);
      batch.writePositionIds(positionIds);
      batch.writeSegmentIds(segmentIds);
      batch.writeTargets(targets);
      batch.writeWeights(weights);
      bh.consume(inputIds);
      bh.consume(positionIds);
      bh.consume(segmentIds);
      bh.consume(targets);
      bh.consume(weights);
    }
  }
}
