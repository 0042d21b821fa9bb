package dev.im4j.bench;

/**
 * Shows whether this machine's core runs at one speed: times a fixed, core-bound kernel (integer
 * arithmetic over 16 KiB, no allocation, nothing beyond L1) round after round and prints how the
 * round times spread. One cluster means a steady core; two clusters mean the core is shared with
 * other work part of the time, so benchmark means mix two speeds and should be compared only within
 * one session, jar against jar.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar dev.im4j.bench.CoreSpeedCheck [seconds,
 * default 15]}.
 */
public final class CoreSpeedCheck {
  private static final int WARM_UP_ROUNDS = 20;

  private CoreSpeedCheck() {}

  public static void main(String[] args) {
    long seconds = args.length > 0 ? Long.parseLong(args[0]) : 15;
    int[] data = new int[4096];
    long x = 1;
    int[] histogram = new int[41]; // by round time in ms; the last bucket holds longer rounds
    int rounds = 0;
    long end = System.nanoTime() + seconds * 1_000_000_000L;
    while (System.nanoTime() < end) {
      long t0 = System.nanoTime();
      for (int r = 0; r < 2000; r++) {
        for (int i = 0; i < data.length; i++) {
          data[i] += (int) x;
          x = x * 6364136223846793005L + data[(i * 7) & (data.length - 1)];
        }
      }
      long ms = (System.nanoTime() - t0) / 1_000_000;
      if (rounds++ >= WARM_UP_ROUNDS) {
        histogram[(int) Math.min(histogram.length - 1, ms)]++;
      }
    }
    System.out.println("round time: rounds (each round is the same work)");
    for (int ms = 0; ms < histogram.length; ms++) {
      if (histogram[ms] > 0) {
        System.out.printf(
            "%s%3d ms: %5d %s%n",
            ms == histogram.length - 1 ? ">=" : "  ",
            ms,
            histogram[ms],
            "#".repeat((int) Math.ceil(60.0 * histogram[ms] / Math.max(1, rounds))));
      }
    }
    System.out.println("(checksum " + x + ")");
  }
}
