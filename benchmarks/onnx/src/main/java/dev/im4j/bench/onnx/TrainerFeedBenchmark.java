package dev.im4j.bench.onnx;

import dev.im4j.core.collate.Batch;
import dev.im4j.core.collate.Collator;
import dev.im4j.core.collate.CollatorConfig;
import dev.im4j.core.loss.Reduction;
import dev.im4j.core.loss.StepCoefficients;
import dev.im4j.core.mask.TokenClass;
import dev.im4j.core.mask.TokenizedExample;
import dev.im4j.onnx.train.FeedBuffers;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * What one optimizer step of the trainer costs before the model runs: collate the step's examples,
 * compute the step's coefficients, and write every micro-batch's inputs into the reused feed
 * buffers ({@link FeedBuffers}). Run with {@code -prof gc}: {@code gc.alloc.rate.norm} (bytes per
 * step) must not grow with the step's cells (here 8x from {@code maxLength} 256 to 2048 at the same
 * 64 examples), since only the collator's per-example layout is allocated per step.
 *
 * <p>{@code java -cp benchmarks/onnx/target/benchmarks-onnx.jar org.openjdk.jmh.Main
 * TrainerFeedBenchmark -prof gc}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class TrainerFeedBenchmark {
  /** Examples per optimizer step, as a trainer step of 8 rows x 8 micro-batches. */
  static final int EXAMPLES = 64;

  /** Rows per micro-batch. */
  static final int ROWS = 8;

  /** Hidden size of the NEFTune noise column (small: the noise costs hidden times the cells). */
  static final int HIDDEN = 64;

  @Param({"256", "2048"})
  int maxLength;

  @Param({"0", "5"})
  double neftuneAlpha;

  private List<TokenizedExample> step;
  private Collator collator;
  private FeedBuffers feeds;

  @Setup(Level.Trial)
  public void setUp() {
    SplittableRandom r = new SplittableRandom(7);
    step = new ArrayList<>();
    for (int e = 0; e < EXAMPLES; e++) {
      int n = maxLength / 2 + r.nextInt(maxLength / 2); // [maxLength / 2, maxLength)
      int prompt = n / 3;
      int[] ids = r.ints(n, 3, 32000).toArray();
      float[] weights = new float[n];
      byte[] classes = new byte[n];
      int[] turns = new int[n];
      for (int i = 0; i < n; i++) {
        boolean answer = i >= prompt;
        classes[i] = (byte) (answer ? TokenClass.ASSISTANT : TokenClass.USER).ordinal();
        turns[i] = answer ? 1 : 0;
        weights[i] = i == 0 ? 0f : 1f; // IM: every content token
      }
      step.add(new TokenizedExample(ids, weights, classes, turns));
    }
    collator = Collator.of(CollatorConfig.of(maxLength));
    feeds = new FeedBuffers(HIDDEN, neftuneAlpha > 0);
  }

  @Benchmark
  public void stepBeforeTheModel(Blackhole bh) {
    List<Batch> batches = collator.collate(step, ROWS).batches();
    StepCoefficients c = StepCoefficients.of(Reduction.SEQUENCE_MEAN, batches);
    SplittableRandom noise = new SplittableRandom(11);
    for (int m = 0; m < batches.size(); m++) {
      bh.consume(feeds.write(batches.get(m), c, m, neftuneAlpha, noise));
    }
  }
}
