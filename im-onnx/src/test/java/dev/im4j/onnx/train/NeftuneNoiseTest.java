package dev.im4j.onnx.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.core.collate.Batch;
import dev.im4j.core.collate.Collator;
import dev.im4j.core.collate.CollatorConfig;
import dev.im4j.core.mask.LossPolicy;
import org.junit.jupiter.api.Test;

/** Invariant 18: noise scale α/√(L·d) with each example's own length; none in padding. */
class NeftuneNoiseTest {
  @Test
  void scaledPerExampleAndZeroInPadding() {
    int hidden = 8;
    double alpha = 5;
    for (boolean packing : new boolean[] {false, true}) {
      Batch batch =
          Collator.of(CollatorConfig.builder(24).packing(packing).build())
              .collate(Examples.random(LossPolicy.instructionModelling(), 6, 20, 11), 6)
              .batches()
              .get(0);
      float[] noise = new float[batch.cells() * hidden];
      java.util.Arrays.fill(noise, Float.NaN); // a reused buffer's stale values
      NeftuneNoise.sample(
          batch, alpha, hidden, NeftuneNoise.random(1, 0, 0), java.nio.FloatBuffer.wrap(noise));
      int[] lengths = new int[7];
      for (int i = 0; i < batch.cells(); i++) {
        if (batch.exampleIdAt(i) >= 0) {
          lengths[batch.exampleIdAt(i)]++;
        }
      }
      double[] maxAbs = new double[7];
      for (int i = 0; i < batch.cells(); i++) {
        int e = batch.exampleIdAt(i);
        for (int k = 0; k < hidden; k++) {
          float x = noise[i * hidden + k];
          if (e < 0) {
            assertEquals(0f, x, "padding cell " + i);
          } else {
            maxAbs[e] = Math.max(maxAbs[e], Math.abs(x));
          }
        }
      }
      for (int e = 0; e < 6; e++) {
        double bound = alpha / Math.sqrt(lengths[e] * hidden);
        assertTrue(maxAbs[e] <= bound, "example " + e + ": " + maxAbs[e] + " > " + bound);
        assertTrue(maxAbs[e] > 0.5 * bound, "example " + e + " noise too small: " + maxAbs[e]);
      }
    }
  }

  @Test
  void zeroAlphaGivesZeros() {
    Batch batch =
        Collator.of(CollatorConfig.of(16))
            .collate(Examples.random(LossPolicy.outputOnly(), 2, 10, 3), 2)
            .batches()
            .get(0);
    float[] noise = new float[batch.cells() * 4];
    java.util.Arrays.fill(noise, Float.NaN); // a reused buffer's stale values
    NeftuneNoise.sample(
        batch, 0, 4, NeftuneNoise.random(1, 0, 0), java.nio.FloatBuffer.wrap(noise));
    for (float x : noise) {
      assertEquals(0f, x);
    }
  }
}
