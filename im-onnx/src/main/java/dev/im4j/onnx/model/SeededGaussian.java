package dev.im4j.onnx.model;

/**
 * The sequence of {@code new java.util.Random(seed).nextGaussian()}, bit for bit, without its
 * costs: {@code java.util.Random} updates its seed with an atomic compare-and-set per draw and
 * locks per Gaussian, which made seeded initialisation of a 0.5 B-parameter model take about 30 s.
 * This is the algorithm {@code java.util.Random}'s specification gives (its 48-bit linear
 * congruential generator, {@code nextDouble} from 26 + 27 bits, and the polar method with {@code
 * StrictMath}), on plain fields. Seeded weights therefore equal those of earlier versions, which
 * used {@code java.util.Random}.
 *
 * <p>Not thread-safe: one instance per reader.
 */
final class SeededGaussian {
  private static final long MULTIPLIER = 0x5DEECE66DL;
  private static final long INCREMENT = 0xBL;
  private static final long MASK = (1L << 48) - 1;
  private static final double DOUBLE_UNIT = 0x1.0p-53;

  private long state;
  private double pending;
  private boolean hasPending;

  SeededGaussian(long seed) {
    state = (seed ^ MULTIPLIER) & MASK;
  }

  private int next(int bits) {
    state = (state * MULTIPLIER + INCREMENT) & MASK;
    return (int) (state >>> (48 - bits));
  }

  private double nextDouble() {
    return (((long) next(26) << 27) + next(27)) * DOUBLE_UNIT;
  }

  /** The next standard normal value. */
  double next() {
    if (hasPending) {
      hasPending = false;
      return pending;
    }
    double v1;
    double v2;
    double s;
    do {
      v1 = 2 * nextDouble() - 1;
      v2 = 2 * nextDouble() - 1;
      s = v1 * v1 + v2 * v2;
    } while (s >= 1 || s == 0);
    double multiplier = StrictMath.sqrt(-2 * StrictMath.log(s) / s);
    pending = v2 * multiplier;
    hasPending = true;
    return v1 * multiplier;
  }
}
