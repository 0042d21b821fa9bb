package dev.im4j.core.collate;

import dev.im4j.core.mask.TokenClass;
import dev.im4j.core.mask.TokenizedExample;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/** Test fixtures shared by the collate and loss tests: examples, configs and raw batches. */
public final class Fixtures {
  /** The prompt weight used by generated examples, distinct from 0 and 1 so mix-ups show. */
  public static final float LAMBDA = 0.25f;

  private Fixtures() {}

  /** An example with the given ids, weights and classes; turns are all 0. */
  public static TokenizedExample example(int[] ids, float[] weights, TokenClass... classes) {
    byte[] ordinals = new byte[classes.length];
    for (int i = 0; i < classes.length; i++) {
      ordinals[i] = (byte) classes[i].ordinal();
    }
    return new TokenizedExample(ids, weights, ordinals, new int[ids.length]);
  }

  /** Random examples: length 1..maxLength, ids in [0, vocab), random classes, weights 0/λ/1. */
  public static Arbitrary<TokenizedExample> examples(int vocab, int maxLength) {
    return Arbitraries.integers()
        .between(1, maxLength)
        .flatMap(
            n ->
                Combinators.combine(
                        Arbitraries.integers().between(0, vocab - 1).array(int[].class).ofSize(n),
                        Arbitraries.of(0f, LAMBDA, 1f).list().ofSize(n),
                        Arbitraries.integers()
                            .between(0, TokenClass.values().length - 1)
                            .list()
                            .ofSize(n))
                    .as(Fixtures::build));
  }

  private static TokenizedExample build(int[] ids, List<Float> weights, List<Integer> classes) {
    float[] w = new float[ids.length];
    byte[] c = new byte[ids.length];
    for (int i = 0; i < ids.length; i++) {
      w[i] = weights.get(i);
      c[i] = classes.get(i).byteValue();
    }
    return new TokenizedExample(ids, w, c, new int[ids.length]);
  }

  /** Random layout settings on top of {@code base}: side, multiple, pad id, packing, seed. */
  public static Arbitrary<CollatorConfig> layouts(CollatorConfig base) {
    return Combinators.combine(
            Arbitraries.of(PaddingSide.class),
            Arbitraries.integers().between(1, 8),
            Arbitraries.integers().between(0, 9999),
            Arbitraries.of("padded", "grouped", "packed"),
            Arbitraries.longs())
        .as(
            (side, multiple, padId, layout, seed) ->
                base.toBuilder()
                    .paddingSide(side)
                    .padToMultipleOf(multiple)
                    .padId(padId)
                    .packing(layout.equals("packed"))
                    .groupByLength(!layout.equals("padded"))
                    .seed(seed)
                    .build());
  }

  /**
   * A batch built directly from cell arrays (bypassing the collator), for loss tests that need
   * layouts the collator never produces, such as rows whose every weight is 0. Segments are read
   * off {@code segmentIds} and {@code exampleIds}; each becomes an example whose token {@code t +
   * 1} has the weight of cell {@code t}. The given positions, targets, padding ids and weights must
   * be what such a batch holds.
   */
  public static Batch batch(
      int rows,
      int seqLen,
      int[] inputIds,
      int[] positionIds,
      int[] segmentIds,
      int[] targets,
      float[] weights,
      int[] exampleIds) {
    List<int[]> table = new ArrayList<>(); // {start, length, example}
    int[] rowFirstSegment = new int[rows + 1];
    for (int r = 0; r < rows; r++) {
      for (int t = 0; t < seqLen; t++) {
        int i = r * seqLen + t;
        if (segmentIds[i] == 0) {
          continue;
        }
        if (t == 0 || segmentIds[i - 1] != segmentIds[i]) {
          table.add(new int[] {i, 0, exampleIds[i]});
        }
        table.get(table.size() - 1)[1]++;
      }
      rowFirstSegment[r + 1] = table.size();
    }
    TokenizedExample[] tokens = new TokenizedExample[table.size()];
    for (int s = 0; s < tokens.length; s++) {
      int start = table.get(s)[0];
      int n = table.get(s)[1];
      float[] w = new float[n];
      System.arraycopy(weights, start, w, 1, n - 1);
      tokens[s] =
          new TokenizedExample(
              Arrays.copyOfRange(inputIds, start, start + n), w, new byte[n], new int[n]);
    }
    Batch batch =
        new Batch(
            rows,
            seqLen,
            padIdOf(inputIds, segmentIds),
            rowFirstSegment,
            table.stream().mapToInt(e -> e[0]).toArray(),
            table.stream().mapToInt(e -> e[2]).toArray(),
            tokens);
    if (!Arrays.equals(batch.inputIds(), inputIds)
        || !Arrays.equals(batch.positionIds(), positionIds)
        || !Arrays.equals(batch.segmentIds(), segmentIds)
        || !Arrays.equals(batch.targets(), targets)
        || !Arrays.equals(batch.weights(), weights)
        || !Arrays.equals(batch.exampleIds(), exampleIds)) {
      throw new IllegalArgumentException("the cell arrays do not describe a collated batch");
    }
    return batch;
  }

  private static int padIdOf(int[] inputIds, int[] segmentIds) {
    for (int i = 0; i < inputIds.length; i++) {
      if (segmentIds[i] == 0) {
        return inputIds[i];
      }
    }
    return 0;
  }
}
