package dev.im4j.core.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.core.collate.Batch;
import dev.im4j.core.collate.CollateResult;
import dev.im4j.core.collate.Collator;
import dev.im4j.core.collate.CollatorConfig;
import dev.im4j.core.collate.Fixtures;
import dev.im4j.core.collate.TruncationStrategy;
import dev.im4j.core.mask.TokenizedExample;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * Loss properties: invariants 12 and 15 (layout and split invariance), 16 and 17 of
 * docs/invariants.md, and the reference gradient against finite differences.
 *
 * <p>Layout invariance trick: the logits of a cell are a deterministic function of (example id,
 * position within the example), so every layout of the same step shows each example the same
 * logits; padding cells get NaN logits, which must never be read.
 */
class LossProperties {
  private static final int VOCAB = 11;

  @Provide
  Arbitrary<List<TokenizedExample>> step() {
    return Fixtures.examples(VOCAB, 50).list().ofMinSize(1).ofMaxSize(10);
  }

  @Provide
  Arbitrary<CollatorConfig> layout() {
    return Arbitraries.integers()
        .between(1, 60)
        .flatMap(
            max ->
                Arbitraries.of(
                        TruncationStrategy.KEEP_START,
                        TruncationStrategy.KEEP_END,
                        TruncationStrategy.TRIM_INSTRUCTION,
                        TruncationStrategy.DROP)
                    .map(t -> CollatorConfig.builder(max).truncation(t).build()))
        .flatMap(Fixtures::layouts);
  }

  private static float logit(int exampleId, int position, int v) {
    return (float) (3 * new Random(exampleId * 1_000_003L + position * 131L + v).nextGaussian());
  }

  /** Loss and per-(example, position) gradient of a step, whatever its layout. */
  record Outcome(double loss, Map<Long, float[]> gradient) {}

  private static Outcome run(List<Batch> batches, Reduction reduction) {
    StepCoefficients c = StepCoefficients.of(reduction, batches);
    double loss = 0;
    Map<Long, float[]> gradient = new HashMap<>();
    for (int b = 0; b < batches.size(); b++) {
      Batch batch = batches.get(b);
      float[] logits = new float[batch.cells() * VOCAB]; // [rows, seqLen, vocab]
      for (int i = 0; i < batch.cells(); i++) {
        for (int v = 0; v < VOCAB; v++) {
          logits[i * VOCAB + v] =
              batch.segmentIdAt(i) == 0
                  ? Float.NaN
                  : logit(batch.exampleIdAt(i), batch.positionIdAt(i), v);
        }
      }
      ReferenceLoss.Result r = ReferenceLoss.compute(batch, c.forBatch(b), logits, VOCAB);
      loss += r.loss();
      for (int i = 0; i < batch.cells(); i++) {
        if (batch.segmentIdAt(i) == 0) {
          for (int v = 0; v < VOCAB; v++) {
            assertEquals(0f, r.gradientAt(i * VOCAB + v), "padding gets no gradient");
          }
          continue;
        }
        float[] g = new float[VOCAB];
        for (int v = 0; v < VOCAB; v++) {
          g[v] = r.gradientAt(i * VOCAB + v);
        }
        long key = ((long) batch.exampleIdAt(i) << 32) | batch.positionIdAt(i);
        assertEquals(null, gradient.put(key, g), "each (example, position) occurs once");
      }
    }
    assertTrue(Double.isFinite(loss));
    return new Outcome(loss, gradient);
  }

  /** Collates the step in chunks of {@code chunk} examples, each a separate collator call. */
  private static List<Batch> collateInChunks(
      List<TokenizedExample> step, CollatorConfig config, int chunk, int maxRows) {
    List<Batch> batches = new ArrayList<>();
    for (int from = 0; from < step.size(); from += chunk) {
      List<TokenizedExample> part = step.subList(from, Math.min(step.size(), from + chunk));
      batches.addAll(Collator.of(config).collate(part, from, maxRows).batches());
    }
    return batches;
  }

  /**
   * Invariants 12 and 15: padding side, padding multiple, packing, rows per batch and the split of
   * the step into micro-batches change neither the loss nor any gradient, for every reduction.
   */
  @Property(tries = 300)
  void lossAndGradientDoNotDependOnLayoutOrSplit(
      @ForAll("step") List<TokenizedExample> step,
      @ForAll("layout") CollatorConfig first,
      @ForAll("layout") CollatorConfig secondLayout,
      @ForAll @IntRange(min = 1, max = 10) int chunk,
      @ForAll @IntRange(min = 1, max = 4) int rowsFirst,
      @ForAll @IntRange(min = 1, max = 4) int rowsSecond) {
    // Same truncation, different layout.
    CollatorConfig second =
        secondLayout.toBuilder()
            .maxLength(first.maxLength())
            .truncation(first.truncation())
            .build();
    List<Batch> a = Collator.of(first).collate(step, rowsFirst).batches();
    List<Batch> b = collateInChunks(step, second, chunk, rowsSecond);
    for (Reduction reduction : Reduction.values()) {
      Outcome x = run(a, reduction);
      Outcome y = run(b, reduction);
      assertEquals(x.loss(), y.loss(), 1e-6 * Math.max(1, Math.abs(x.loss())), reduction.name());
      assertEquals(x.gradient().keySet(), y.gradient().keySet());
      for (Map.Entry<Long, float[]> e : x.gradient().entrySet()) {
        float[] gx = e.getValue();
        float[] gy = y.gradient().get(e.getKey());
        for (int v = 0; v < VOCAB; v++) {
          assertEquals(gx[v], gy[v], 1e-6 * Math.max(1e-3, Math.abs(gx[v])), reduction.name());
        }
      }
    }
  }

  /**
   * The loss computed through collation and coefficients equals its definition computed directly
   * from the examples (no truncation here); the normaliser counts predicted positions only
   * (invariant 17) and a step whose examples predict nothing is dropped entirely (invariant 16).
   */
  @Property(tries = 300)
  void lossMatchesItsDefinition(
      @ForAll("step") List<TokenizedExample> step, @ForAll("layout") CollatorConfig layout) {
    CollatorConfig config = layout.toBuilder().maxLength(50).build();
    CollateResult result = Collator.of(config).collate(step, 3);
    double weighted = 0;
    double total = 0;
    double sequenceSum = 0;
    int examples = 0;
    for (int e = 0; e < step.size(); e++) {
      TokenizedExample x = step.get(e);
      double num = 0;
      double den = 0;
      for (int t = 1; t < x.length(); t++) {
        double nll = nll(e, t - 1, x.idAt(t));
        num += x.weightAt(t) * nll;
        den += x.weightAt(t);
      }
      assertEquals(x.predictedWeight(), den, 1e-9);
      weighted += num;
      total += den;
      if (den > 0) {
        sequenceSum += num / den;
        examples++;
      }
    }
    assertEquals(examples, result.report().examplesOut());
    Map<Reduction, Double> expected =
        Map.of(
            Reduction.SUM, weighted,
            Reduction.TOKEN_MEAN, total > 0 ? weighted / total : 0.0,
            Reduction.SEQUENCE_MEAN, examples > 0 ? sequenceSum / examples : 0.0);
    for (Reduction reduction : Reduction.values()) {
      StepCoefficients c = StepCoefficients.of(reduction, result.batches());
      assertEquals(total, c.totalWeight(), 1e-9);
      assertEquals(examples, c.countedExamples());
      double want = expected.get(reduction);
      double got = run(result.batches(), reduction).loss();
      assertEquals(want, got, 1e-5 * Math.max(1, Math.abs(want)), reduction.name());
    }
  }

  private static double nll(int exampleId, int position, int target) {
    double max = Double.NEGATIVE_INFINITY;
    for (int v = 0; v < VOCAB; v++) {
      max = Math.max(max, logit(exampleId, position, v));
    }
    double sum = 0;
    for (int v = 0; v < VOCAB; v++) {
      sum += Math.exp(logit(exampleId, position, v) - max);
    }
    return max + Math.log(sum) - logit(exampleId, position, target);
  }

  /** dloss/dlogits of the reference loss agrees with central finite differences in double. */
  @Property(tries = 200)
  void referenceGradientMatchesFiniteDifferences(
      @ForAll @IntRange(min = 1, max = 4) int cells,
      @ForAll @IntRange(min = 2, max = 8) int vocab,
      @ForAll long seed) {
    Random random = new Random(seed);
    float[] logits = new float[cells * vocab]; // [cells, vocab]
    for (int j = 0; j < logits.length; j++) {
      logits[j] = (float) (3 * random.nextGaussian());
    }
    int[] targets = new int[cells];
    float[] c = new float[cells];
    for (int i = 0; i < cells; i++) {
      boolean predicted = random.nextInt(4) != 0;
      targets[i] = predicted ? random.nextInt(vocab) : Batch.IGNORE;
      c[i] = predicted ? 2 * random.nextFloat() : 0f;
    }
    ReferenceLoss.Result r = ReferenceLoss.compute(logits, vocab, targets, c);
    for (int j = 0; j < logits.length; j++) {
      float x = logits[j];
      float up = x + 1e-3f;
      float down = x - 1e-3f;
      logits[j] = up;
      double lossUp = ReferenceLoss.compute(logits, vocab, targets, c).loss();
      logits[j] = down;
      double lossDown = ReferenceLoss.compute(logits, vocab, targets, c).loss();
      logits[j] = x;
      double fd = (lossUp - lossDown) / ((double) up - down);
      assertEquals(fd, r.gradientAt(j), 1e-5 + 1e-4 * Math.abs(fd), "logit " + j);
    }
  }
}
