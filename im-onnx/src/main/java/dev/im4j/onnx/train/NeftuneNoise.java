package dev.im4j.onnx.train;

import dev.im4j.core.collate.Batch;
import java.nio.FloatBuffer;
import java.util.SplittableRandom;

/**
 * NEFTune's embedding noise (Jain et al., "NEFTune: Noisy embeddings improve instruction
 * finetuning", 2023): each embedding entry of an example of {@code L} tokens gets noise uniform in
 * {@code ±α / √(L · d)}, {@code d} the hidden size. {@code L} is the example's own length in the
 * micro-batch (packed neighbours do not change it); padding gets none. Training only: evaluation
 * feeds zeros (docs/invariants.md, 18). Fed to the graph as an input so that a run is a pure
 * function of its seed.
 */
final class NeftuneNoise {
  private NeftuneNoise() {}

  /**
   * Writes the noise of one micro-batch into {@code noise[0, cells * hidden)}, {@code [rows,
   * seqLen, hidden]}: zeros when {@code alpha == 0} and in padding.
   */
  static void sample(
      Batch batch, double alpha, int hidden, SplittableRandom random, FloatBuffer noise) {
    FeedBuffers.zero(noise, 0, batch.cells() * hidden);
    if (alpha == 0) {
      return;
    }
    // Segments are in cell order, so the draws follow the cells as they always have.
    for (int s = 0; s < batch.segmentCount(); s++) {
      int length = batch.segmentLength(s); // the whole example: one segment per example
      double scale = alpha / Math.sqrt((double) length * hidden);
      for (int i = batch.segmentStart(s), end = i + length; i < end; i++) {
        for (int k = 0; k < hidden; k++) {
          noise.put(i * hidden + k, (float) (scale * (2 * random.nextDouble() - 1)));
        }
      }
    }
  }

  /** The generator of micro-batch {@code microBatch} of 0-based step {@code step}. */
  static SplittableRandom random(long seed, long step, int microBatch) {
    return new SplittableRandom(seed * 0x9E3779B97F4A7C15L + step * 1_000_003L + microBatch);
  }
}
