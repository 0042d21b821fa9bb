package dev.im4j.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.openjdk.jmh.infra.Blackhole;

/**
 * {@link MaskCollateBenchmark#maskAndCollate} for every layout and step size, interleaved pass by
 * pass in one JVM, so that every configuration sees the same mix of machine states: on a shared
 * virtual machine a core's speed changes by up to 1.7× from minute to minute, which makes JMH's
 * one-after-the-other means unfit for comparing configurations. Each round runs one pass (mask
 * 2,000 examples, collate them, write every batch's cells) of each configuration, starting with a
 * different one each round; all configurations read the same 2,000 pre-tokenized examples. Prints
 * the 10th, 50th and 90th percentiles of each configuration's tokens per second. Target: at least
 * 100 M tokens/s.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar dev.im4j.bench.MaskCollateSweep
 * [seconds, default 60] [layout,step ...]}, e.g. {@code 60 grouped,64 padded,64} for only those
 * two; the first 10 s are warm-up.
 */
public final class MaskCollateSweep {
  private static final String[] LAYOUTS = {"padded", "grouped", "packed"};
  private static final int[] STEPS = {2000, 64};

  private MaskCollateSweep() {}

  public static void main(String[] args) {
    long seconds = Mains.seconds(args);
    Blackhole bh = Mains.blackhole();
    List<String> only = args.length > 1 ? List.of(args).subList(1, args.length) : List.of();
    List<MaskCollateBenchmark> chosen = new ArrayList<>();
    for (int step : STEPS) {
      for (String layout : LAYOUTS) {
        if (only.isEmpty() || only.contains(layout + "," + step)) {
          MaskCollateBenchmark b = new MaskCollateBenchmark();
          b.layout = layout;
          b.examplesPerStep = step;
          chosen.add(b);
        }
      }
    }
    int configs = chosen.size();
    MaskCollateBenchmark[] benchmarks = chosen.toArray(new MaskCollateBenchmark[0]);
    for (int c = 0; c < configs; c++) {
      if (c == 0) {
        benchmarks[c].setUp();
      } else {
        benchmarks[c].setUp(benchmarks[0]); // the same examples, as in a JMH fork of each
      }
    }
    MaskCollateBenchmark.Tokens counter = new MaskCollateBenchmark.Tokens();
    double[][] rates = new double[configs][1024];
    int rounds = 0;
    long start = System.nanoTime();
    long end = start + Mains.WARM_UP_NANOS + seconds * 1_000_000_000L;
    for (int round = 0; System.nanoTime() < end; round++) {
      boolean measured = System.nanoTime() - start >= Mains.WARM_UP_NANOS;
      if (measured && rounds == rates[0].length) {
        for (int c = 0; c < configs; c++) {
          rates[c] = Arrays.copyOf(rates[c], 2 * rounds);
        }
      }
      for (int k = 0; k < configs; k++) {
        int c = (round + k) % configs;
        long before = counter.tokens;
        long t0 = System.nanoTime();
        benchmarks[c].maskAndCollate(counter, bh);
        long t1 = System.nanoTime();
        if (measured) {
          rates[c][rounds] = (counter.tokens - before) * 1e3 / (t1 - t0); // M tokens/s
        }
      }
      if (measured) {
        rounds++;
      }
    }
    if (rounds < 10) {
      throw new IllegalStateException("only " + rounds + " rounds were measured; run longer");
    }
    System.out.printf(
        "%d rounds after %d s of warm-up; M tokens/s per pass%n",
        rounds, Mains.WARM_UP_NANOS / 1_000_000_000L);
    System.out.printf("%-26s %8s %8s %8s%n", "layout, examples per step", "p10", "p50", "p90");
    for (int c = 0; c < configs; c++) {
      double[] p = Mains.percentiles(rates[c], rounds);
      System.out.printf(
          "%-26s %8.1f %8.1f %8.1f%n",
          benchmarks[c].layout + ", " + benchmarks[c].examplesPerStep, p[0], p[1], p[2]);
    }
  }
}
