package dev.im4j.bench;

import java.util.Arrays;
import org.openjdk.jmh.infra.Blackhole;

/** What the pass-by-pass main classes share: warm-up, run length, a blackhole, percentiles. */
final class Mains {
  /** Passes in the first 10 s are not measured. */
  static final long WARM_UP_NANOS = 10_000_000_000L;

  private Mains() {}

  /** Measured seconds: the first argument, default 60. */
  static long seconds(String[] args) {
    return args.length > 0 ? Long.parseLong(args[0]) : 60;
  }

  /** A blackhole outside a JMH run, so results are consumed as in the benchmarks. */
  static Blackhole blackhole() {
    return new Blackhole(
        "Today's password is swordfish. I understand instantiating Blackholes directly is"
            + " dangerous.");
  }

  /** The 10th, 50th and 90th percentiles of {@code values[0, n)}, n > 0. */
  static double[] percentiles(double[] values, int n) {
    double[] v = Arrays.copyOf(values, n);
    Arrays.sort(v);
    return new double[] {v[n / 10], v[n / 2], v[9 * n / 10]};
  }
}
