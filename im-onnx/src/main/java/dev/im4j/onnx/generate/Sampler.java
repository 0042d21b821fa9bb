package dev.im4j.onnx.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks next tokens from logits per a {@link SamplingConfig}. Not thread-safe: it owns the seeded
 * random generator, so a sequence of calls is reproducible.
 */
public final class Sampler {
  private final SamplingConfig config;
  private final SplittableRandom random;

  public Sampler(SamplingConfig config) {
    this.config = config;
    this.random = new SplittableRandom(config.seed());
  }

  /**
   * The next token for one position's logits.
   *
   * @param logits {@code [vocab]}, finite
   * @throws IllegalArgumentException if a logit is NaN or infinite
   */
  public int next(float[] logits) {
    int vocab = logits.length;
    for (int i = 0; i < vocab; i++) {
      if (!Float.isFinite(logits[i])) {
        throw new IllegalArgumentException(
            "logits[" + i + "] is " + logits[i] + "; the model produced a non-finite logit");
      }
    }
    if (config.temperature() == 0) {
      return argMax(logits);
    }
    // Candidates by decreasing logit, ties by lower id: one primitive sort of packed keys.
    long[] keys = new long[vocab];
    for (int i = 0; i < vocab; i++) {
      int bits = Float.floatToIntBits(logits[i]);
      int ascending = bits >= 0 ? bits : bits ^ Integer.MAX_VALUE; // orders like the float
      keys[i] = ((long) ~ascending << 32) | i; // ~: larger logit sorts first
    }
    Arrays.sort(keys);
    int[] order = new int[vocab];
    for (int r = 0; r < vocab; r++) {
      order[r] = (int) keys[r];
    }
    int kept = config.topK() == 0 ? vocab : Math.min(config.topK(), vocab);
    double max = logits[order[0]] / config.temperature();
    double[] probabilities = new double[kept];
    double total = 0;
    for (int r = 0; r < kept; r++) {
      probabilities[r] = Math.exp(logits[order[r]] / config.temperature() - max);
      total += probabilities[r];
    }
    // Top-p: the smallest prefix whose probability reaches topP.
    if (config.topP() < 1) {
      double cumulative = 0;
      int cut = kept;
      for (int r = 0; r < kept; r++) {
        cumulative += probabilities[r] / total;
        if (cumulative >= config.topP()) {
          cut = r + 1;
          break;
        }
      }
      kept = cut;
      total = 0;
      for (int r = 0; r < kept; r++) {
        total += probabilities[r];
      }
    }
    double u = random.nextDouble() * total;
    for (int r = 0; r < kept; r++) {
      u -= probabilities[r];
      if (u < 0) {
        return order[r];
      }
    }
    return order[kept - 1];
  }

  static int argMax(float[] logits) {
    int best = 0;
    for (int i = 1; i < logits.length; i++) {
      if (logits[i] > logits[best]) {
        best = i;
      }
    }
    return best;
  }
}
