package dev.im4j.onnx.model;

/**
 * The sequence {@code (float) new java.util.Random(seed).nextGaussian()}, bit for bit, and fast to
 * draw. Seeded weights therefore equal those of earlier versions, which used {@code
 * java.util.Random}.
 *
 * <p>The algorithm is the one {@code java.util.Random}'s specification gives: its 48-bit linear
 * congruential generator, {@code nextDouble} from 26 + 27 bits, and the polar method, whose every
 * attempt takes exactly four steps of the generator, accepted or not. Three things make it faster
 * without changing a bit of the floats:
 *
 * <ul>
 *   <li>Plain fields: {@code java.util.Random} updates its seed with an atomic compare-and-set per
 *       draw and locks per Gaussian, which made seeded initialisation of a 0.5 B-parameter model
 *       take about 30 s.
 *   <li>Two blocks of attempts at once: attempt {@code i} starts at step {@code 4 i}, so the
 *       generator can jump to any block's start ({@link #jump}), and two independent blocks are
 *       drawn in one loop (their dependency chains overlap); the values of the first block are
 *       returned before those of the second.
 *   <li>{@code Math.log} instead of {@code StrictMath.log}: both are within one ulp of the exact
 *       logarithm, so the two Gaussians differ by at most about 7 ulps of the double (two for the
 *       logarithms, then a half-ulp rounding in each of the division, square root and product); a
 *       value is kept only if every double within {@link #SLACK_ULPS} ulps rounds to the same
 *       float, and is otherwise computed again with {@code StrictMath} (about once in four million
 *       values).
 * </ul>
 *
 * <p>Not thread-safe: one instance per reader.
 */
final class SeededGaussian {
  private static final long MULTIPLIER = 0x5DEECE66DL;
  private static final long INCREMENT = 0xBL;
  private static final long MASK = (1L << 48) - 1;
  private static final double DOUBLE_UNIT = 0x1.0p-53;

  /** Attempts of the polar method per block: 16,384, so two blocks' values take 256 KiB. */
  static final int BLOCK_ATTEMPTS = 1 << 14;

  /** How far (in ulps of the double) a fast value must be from a float rounding boundary. */
  static final double SLACK_ULPS = 64;

  private final int blockAttempts;
  private final double slackUlps;
  private final long jumpMultiplier; // the generator advanced by one block: state * m + c
  private final long jumpIncrement;
  private long nextBlock; // the generator's state at the start of the next block to draw
  private final float[] first;
  private final float[] second;
  private float[] values; // the drawn values not yet returned: values[read..count)
  private int read;
  private int count;
  private float[] pending; // the second block's values, returned after the first's
  private int pendingCount;

  SeededGaussian(long seed) {
    this(seed, BLOCK_ATTEMPTS, SLACK_ULPS);
  }

  /** With another block size or slack, for tests of block boundaries and of the exact path. */
  SeededGaussian(long seed, int blockAttempts, double slackUlps) {
    if (blockAttempts < 1) {
      throw new IllegalArgumentException("blockAttempts must be >= 1 but was " + blockAttempts);
    }
    this.blockAttempts = blockAttempts;
    this.slackUlps = slackUlps;
    long[] jump = jump(4L * blockAttempts);
    jumpMultiplier = jump[0];
    jumpIncrement = jump[1];
    nextBlock = (seed ^ MULTIPLIER) & MASK;
    first = new float[2 * blockAttempts];
    second = new float[2 * blockAttempts];
  }

  /** The next value. */
  float next() {
    if (read == count) {
      refill();
    }
    return values[read++];
  }

  private void refill() {
    if (pendingCount > 0) {
      values = pending;
      count = pendingCount;
      pendingCount = 0;
      read = 0;
      return;
    }
    long a = nextBlock;
    long b = advance(a);
    nextBlock = advance(b);
    int na = 0;
    int nb = 0;
    for (int i = 0; i < blockAttempts; i++) {
      long a1 = step(a);
      long a2 = step(a1);
      long a3 = step(a2);
      a = step(a3);
      long b1 = step(b);
      long b2 = step(b1);
      long b3 = step(b2);
      b = step(b3);
      double av1 = 2 * unitDouble(a1, a2) - 1;
      double av2 = 2 * unitDouble(a3, a) - 1;
      double bv1 = 2 * unitDouble(b1, b2) - 1;
      double bv2 = 2 * unitDouble(b3, b) - 1;
      double as = av1 * av1 + av2 * av2;
      double bs = bv1 * bv1 + bv2 * bv2;
      if (as < 1 && as != 0) {
        double m = Math.sqrt(-2 * Math.log(as) / as);
        first[na++] = toFloat(av1, m, as);
        first[na++] = toFloat(av2, m, as);
      }
      if (bs < 1 && bs != 0) {
        double m = Math.sqrt(-2 * Math.log(bs) / bs);
        second[nb++] = toFloat(bv1, m, bs);
        second[nb++] = toFloat(bv2, m, bs);
      }
    }
    values = first;
    count = na;
    read = 0;
    pending = second;
    pendingCount = nb;
    if (count == 0) {
      refill(); // a block without an accepted attempt (only with tiny test blocks)
    }
  }

  /**
   * {@code (float) (v * multiplier)} as {@code java.util.Random} computes it, from the fast
   * multiplier when no double within the slack rounds to another float.
   */
  private float toFloat(double v, double fastMultiplier, double s) {
    double g = v * fastMultiplier;
    float f = (float) g;
    double slack = slackUlps * Math.ulp(g);
    if ((float) (g - slack) == f && (float) (g + slack) == f) {
      return f;
    }
    return (float) (v * StrictMath.sqrt(-2 * StrictMath.log(s) / s));
  }

  private static long step(long state) {
    return (state * MULTIPLIER + INCREMENT) & MASK;
  }

  /** {@code nextDouble}: 26 bits from the first state, 27 from the second. */
  private static double unitDouble(long first, long second) {
    return (((first >>> 22) << 27) + (second >>> 21)) * DOUBLE_UNIT;
  }

  private long advance(long state) {
    return (state * jumpMultiplier + jumpIncrement) & MASK;
  }

  /**
   * The generator advanced by {@code steps}: {@code {m, c}} with {@code state_steps = state * m +
   * c} (mod 2^48), by composing powers of one step.
   */
  static long[] jump(long steps) {
    long m = 1;
    long c = 0;
    long pm = MULTIPLIER; // one step applied 2^k times
    long pc = INCREMENT;
    for (long n = steps; n > 0; n >>>= 1) {
      if ((n & 1) != 0) {
        m = (m * pm) & MASK;
        c = (c * pm + pc) & MASK;
      }
      pc = (pc * pm + pc) & MASK;
      pm = (pm * pm) & MASK;
    }
    return new long[] {m, c};
  }
}
