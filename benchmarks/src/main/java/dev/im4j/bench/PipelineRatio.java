package dev.im4j.bench;

import java.util.Arrays;
import org.openjdk.jmh.infra.Blackhole;

/**
 * {@link PipelineBenchmark}'s two operations, alternated pass by pass in one JVM, so that both see
 * the same machine: on a shared virtual machine a core's speed changes by up to 1.7× from moment to
 * moment, which JMH's separate measurement of each benchmark turns into noise in their ratio. Each
 * pass handles the benchmark's 500 examples; a pipeline pass and the raw tokenization pass right
 * after it form a pair, whose time ratio is one sample. Prints the median and the 10th and 90th
 * percentiles of the pipeline's throughput as a share of raw tokenization's. Target: at least 85 %.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar dev.im4j.bench.PipelineRatio [seconds,
 * default 60]}; the first 10 s are warm-up.
 */
public final class PipelineRatio {
  private PipelineRatio() {}

  public static void main(String[] args) {
    long seconds = Mains.seconds(args);
    Blackhole bh = Mains.blackhole();
    PipelineBenchmark benchmark = new PipelineBenchmark();
    benchmark.setUp();
    PipelineBenchmark.Examples counter = new PipelineBenchmark.Examples();
    long start = System.nanoTime();
    long end = start + Mains.WARM_UP_NANOS + seconds * 1_000_000_000L;
    double[] shares = new double[1024];
    double[] pipelineRates = new double[1024];
    double[] rawRates = new double[1024];
    int n = 0;
    long examplesPerPass = 0;
    while (System.nanoTime() < end) {
      long before = counter.examples;
      long t0 = System.nanoTime();
      benchmark.pipeline(counter, bh);
      long t1 = System.nanoTime();
      benchmark.rawTokenization(counter, bh);
      long t2 = System.nanoTime();
      examplesPerPass = (counter.examples - before) / 2;
      if (t0 - start < Mains.WARM_UP_NANOS) {
        continue;
      }
      if (n == shares.length) {
        shares = Arrays.copyOf(shares, 2 * n);
        pipelineRates = Arrays.copyOf(pipelineRates, 2 * n);
        rawRates = Arrays.copyOf(rawRates, 2 * n);
      }
      shares[n] = (double) (t2 - t1) / (t1 - t0); // pipeline throughput / raw throughput
      pipelineRates[n] = examplesPerPass * 1e9 / (t1 - t0);
      rawRates[n] = examplesPerPass * 1e9 / (t2 - t1);
      n++;
    }
    benchmark.tearDown();
    if (n < 10) {
      throw new IllegalStateException("only " + n + " pairs were measured; run longer");
    }
    System.out.printf(
        "%d pairs of %d-example passes after %d s of warm-up%n",
        n, examplesPerPass, Mains.WARM_UP_NANOS / 1_000_000_000L);
    System.out.printf("%-34s %10s %10s %10s%n", "", "p10", "p50", "p90");
    print("pipeline, examples/s", pipelineRates, n, "%.0f");
    print("raw tokenization, examples/s", rawRates, n, "%.0f");
    print("pipeline / raw, per pair", shares, n, "%.3f");
  }

  private static void print(String name, double[] values, int n, String format) {
    double[] p = Mains.percentiles(values, n);
    System.out.printf(
        "%-34s %10s %10s %10s%n",
        name,
        String.format(format, p[0]),
        String.format(format, p[1]),
        String.format(format, p[2]));
  }
}
