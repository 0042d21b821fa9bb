package dev.im4j.onnx.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;

class SamplerTest {
  private static final float[] LOGITS = {0f, 2f, 1f, 2f, -1f};

  @Test
  void greedyTakesTheArgMaxWithTheLowestIdOnTies() {
    assertEquals(1, new Sampler(SamplingConfig.greedy()).next(LOGITS));
  }

  @Test
  void topKOneIsGreedyWhateverTheTemperature() {
    Sampler s = new Sampler(new SamplingConfig(1, 5.0, 1, 1.0, 3));
    for (int i = 0; i < 20; i++) {
      assertEquals(1, s.next(LOGITS));
    }
  }

  @Test
  void topPKeepsTheSmallestSetReachingP() {
    // Probabilities at temperature 1: e^2, e^2, e^1, e^0, e^-1 over their sum; ids 1 and 3 hold
    // about 0.8 together, so top-p 0.7 never yields 0, 2 or 4.
    Sampler s = new Sampler(new SamplingConfig(1, 1.0, 0, 0.7, 11));
    int[] counts = new int[5];
    for (int i = 0; i < 2000; i++) {
      counts[s.next(LOGITS)]++;
    }
    assertEquals(0, counts[0] + counts[2] + counts[4]);
    assertTrue(counts[1] > 800 && counts[3] > 800, java.util.Arrays.toString(counts));
  }

  @Test
  void samplingFollowsTheSoftmaxAndIsReproducible() {
    Sampler a = new Sampler(new SamplingConfig(1, 1.0, 0, 1.0, 42));
    Sampler b = new Sampler(new SamplingConfig(1, 1.0, 0, 1.0, 42));
    int[] counts = new int[5];
    int n = 20000;
    for (int i = 0; i < n; i++) {
      int x = a.next(LOGITS);
      assertEquals(x, b.next(LOGITS));
      counts[x]++;
    }
    double z = 0;
    for (float l : LOGITS) {
      z += Math.exp(l);
    }
    for (int i = 0; i < 5; i++) {
      double expected = Math.exp(LOGITS[i]) / z;
      assertEquals(expected, counts[i] / (double) n, 0.015, "token " + i);
    }
  }

  @Test
  void nonFiniteLogitsAreRejected() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new Sampler(SamplingConfig.greedy()).next(new float[] {0f, Float.NaN}));
    assertEquals("logits[1] is NaN; the model produced a non-finite logit", e.getMessage());
  }

  @Test
  void generationStopsAtAStopTokenAndIncludesIt() {
    // A toy model: the next token is (last + 1) mod 6.
    LogitsFunction counter =
        ids -> {
          float[] l = new float[6];
          l[(ids[ids.length - 1] + 1) % 6] = 1f;
          return l;
        };
    Generator g = new Generator(counter, Set.of(5));
    assertArrayEquals(new int[] {3, 4, 5}, g.generate(new int[] {1, 2}, SamplingConfig.greedy()));
    assertArrayEquals(
        new int[] {3, 4},
        g.generate(new int[] {1, 2}, SamplingConfig.greedy().withMaxNewTokens(2)));
  }

  @Test
  void configIsValidated() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> new SamplingConfig(1, 1, 0, 0, 0));
    assertEquals("topP must be in (0, 1] (1 disables it) but was 0.0", e.getMessage());
  }
}
