package dev.im4j.core.collate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.core.collate.CollateReport.Event;
import dev.im4j.core.collate.CollateReport.Reason;
import dev.im4j.core.loss.Reduction;
import dev.im4j.core.loss.StepCoefficients;
import dev.im4j.core.mask.TokenizedExample;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/** Properties of the collator: invariants 11, 13, 14 and 17 of docs/invariants.md. */
class CollatorProperties {

  @Provide
  Arbitrary<List<TokenizedExample>> examples() {
    return Fixtures.examples(1000, 50).list().ofMinSize(0).ofMaxSize(12);
  }

  @Provide
  Arbitrary<CollatorConfig> configs() {
    Arbitrary<CollatorConfig> base =
        Combinators.combine(
                Arbitraries.integers().between(1, 60),
                Arbitraries.of(
                    TruncationStrategy.KEEP_START,
                    TruncationStrategy.KEEP_END,
                    TruncationStrategy.TRIM_INSTRUCTION,
                    TruncationStrategy.DROP))
            .as((max, truncation) -> CollatorConfig.builder(max).truncation(truncation).build());
    return base.flatMap(Fixtures::layouts);
  }

  /** One segment of a batch row, read back from the batch arrays. */
  record Segment(int[] ids, int[] targets, float[] weights) {}

  /** Every segment in the batches, by example id; asserts each example occurs once, whole. */
  static Map<Integer, Segment> segments(List<Batch> batches) {
    Map<Integer, Segment> byExample = new HashMap<>();
    for (Batch b : batches) {
      for (int r = 0; r < b.rows(); r++) {
        int t = 0;
        while (t < b.seqLen()) {
          int i = r * b.seqLen() + t;
          if (b.segmentIdAt(i) == 0) {
            t++;
            continue;
          }
          int start = t;
          while (t < b.seqLen() && b.segmentIdAt(r * b.seqLen() + t) == b.segmentIdAt(i)) {
            t++;
          }
          int n = t - start;
          int[] ids = new int[n];
          int[] targets = new int[n];
          float[] weights = new float[n];
          for (int k = 0; k < n; k++) {
            ids[k] = b.inputIdAt(i + k);
            targets[k] = b.targetAt(i + k);
            weights[k] = b.weightAt(i + k);
            assertEquals(b.exampleIdAt(i), b.exampleIdAt(i + k), "one example per segment");
          }
          Segment previous = byExample.put(b.exampleIdAt(i), new Segment(ids, targets, weights));
          assertEquals(null, previous, "example " + b.exampleIdAt(i) + " occurs twice");
        }
      }
    }
    return byExample;
  }

  /** Invariant 11: truncated targets are a slice of the untruncated ones; nothing is invented. */
  @Property
  void truncatedTargetsAreASliceOfTheOriginal(
      @ForAll("examples") List<TokenizedExample> examples,
      @ForAll("configs") CollatorConfig config,
      @ForAll @IntRange(min = 1, max = 5) int maxRows) {
    CollateResult result = Collator.of(config).collate(examples, maxRows);
    Map<Integer, Reason> truncation = new HashMap<>();
    for (Event e : result.report().events()) {
      if (!e.reason().isDrop()) {
        truncation.put(e.exampleId(), e.reason());
      }
    }
    for (Map.Entry<Integer, Segment> entry : segments(result.batches()).entrySet()) {
      TokenizedExample original = examples.get(entry.getKey());
      Segment s = entry.getValue();
      int n = original.length();
      int m = s.ids().length;
      assertTrue(m <= config.maxLength());
      Reason reason = truncation.get(entry.getKey());
      if (reason == null) {
        assertEquals(n, m);
        assertSlice(original, s, 0);
      } else if (reason == Reason.TRUNCATED_KEEP_START
          || reason == Reason.TRIM_FELL_BACK_TO_KEEP_START) {
        assertEquals(config.maxLength(), m);
        assertSlice(original, s, 0);
      } else if (reason == Reason.TRUNCATED_KEEP_END) {
        assertEquals(config.maxLength(), m);
        assertSlice(original, s, n - m);
      } else {
        assertEquals(Reason.TRIMMED_INSTRUCTION, reason);
        assertEquals(config.maxLength(), m);
        assertTrimmed(original, s);
      }
    }
  }

  /** Segment token k is original token from + k, and its target pair is the original pair. */
  private static void assertSlice(TokenizedExample original, Segment s, int from) {
    int m = s.ids().length;
    for (int k = 0; k < m; k++) {
      assertEquals(original.idAt(from + k), s.ids()[k]);
      if (k + 1 < m) {
        assertEquals(original.idAt(from + k + 1), s.targets()[k]);
        assertEquals(original.weightAt(from + k + 1), s.weights()[k]);
      } else {
        // The last kept token predicts nothing: a cut answer gets no invented terminator.
        assertEquals(Batch.IGNORE, s.targets()[k]);
        assertEquals(0f, s.weights()[k]);
      }
    }
  }

  /**
   * Only instruction tokens are removed, and every trained (input, target, weight) triple is a
   * triple of adjacent original tokens, in the original order.
   */
  private static void assertTrimmed(TokenizedExample original, Segment s) {
    int n = original.length();
    List<Integer> kept = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      if (!original.classAt(i).isInstruction()) {
        kept.add(original.idAt(i));
      }
    }
    assertTrue(isSubsequence(kept, s.ids()), "template and outputs are all kept");
    int cursor = 0;
    for (int k = 0; k < s.ids().length; k++) {
      if (s.weights()[k] == 0f) {
        continue;
      }
      boolean found = false;
      while (cursor + 1 < n && !found) {
        found =
            original.idAt(cursor) == s.ids()[k]
                && original.idAt(cursor + 1) == s.targets()[k]
                && original.weightAt(cursor + 1) == s.weights()[k];
        cursor++;
      }
      assertTrue(found, "trained pair at " + k + " does not occur in the data in order");
    }
  }

  private static boolean isSubsequence(List<Integer> needle, int[] haystack) {
    int j = 0;
    for (int i = 0; i < haystack.length && j < needle.size(); i++) {
      if (haystack[i] == needle.get(j)) {
        j++;
      }
    }
    return j == needle.size();
  }

  /** Invariant 13: every example is kept or reported; rows within maxLength; deterministic. */
  @Property
  void packingConservesEveryExampleAndIsDeterministic(
      @ForAll("examples") List<TokenizedExample> examples,
      @ForAll("configs") CollatorConfig config,
      @ForAll @IntRange(min = 1, max = 5) int maxRows) {
    CollateResult result = Collator.of(config).collate(examples, maxRows);
    Map<Integer, Segment> segments = segments(result.batches());
    CollateReport report = result.report();
    long tokens = 0;
    for (int id = 0; id < examples.size(); id++) {
      boolean present = segments.containsKey(id);
      final int exampleId = id;
      boolean reportedDrop =
          report.events().stream().anyMatch(e -> e.exampleId() == exampleId && e.reason().isDrop());
      assertTrue(present ^ reportedDrop, "example " + id + " neither kept nor reported, or both");
      if (present) {
        tokens += segments.get(id).ids().length;
        assertEquals(
            Math.min(examples.get(id).length(), config.maxLength()), segments.get(id).ids().length);
      }
    }
    assertEquals(examples.size(), report.examplesIn());
    assertEquals(segments.size(), report.examplesOut());
    assertEquals(tokens, report.tokens());
    long cells = 0;
    for (Batch b : result.batches()) {
      assertTrue(b.rows() <= maxRows);
      assertEquals(0, b.seqLen() % config.padToMultipleOf());
      cells += b.cells();
      int longest = 0;
      for (int r = 0; r < b.rows(); r++) {
        int used = 0;
        for (int t = 0; t < b.seqLen(); t++) {
          used += b.segmentIdAt(r * b.seqLen() + t) == 0 ? 0 : 1;
        }
        assertTrue(used > 0 && used <= config.maxLength(), "row holds " + used);
        longest = Math.max(longest, used);
      }
      assertTrue(b.seqLen() - longest < config.padToMultipleOf(), "no padding beyond rounding");
    }
    assertEquals(cells, report.tokens() + report.paddingTokens());

    CollateResult again = Collator.of(config).collate(List.copyOf(examples), maxRows);
    assertEquals(result.report(), again.report());
    assertEquals(result.batches().size(), again.batches().size());
    for (int k = 0; k < result.batches().size(); k++) {
      Batch a = result.batches().get(k);
      Batch b = again.batches().get(k);
      assertArrayEquals(a.inputIds(), b.inputIds());
      assertArrayEquals(a.positionIds(), b.positionIds());
      assertArrayEquals(a.segmentIds(), b.segmentIds());
      assertArrayEquals(a.targets(), b.targets());
      assertArrayEquals(a.weights(), b.weights());
      assertArrayEquals(a.exampleIds(), b.exampleIds());
    }
  }

  /**
   * Grouping by length only reorders the rows of a padded step: every example keeps its cells and
   * its loss coefficients under every reduction, rows run from longest to shortest (ties in input
   * order), and no more padding is written.
   */
  @Property
  void groupingByLengthOnlyReordersRows(
      @ForAll("examples") List<TokenizedExample> examples,
      @ForAll("configs") CollatorConfig config,
      @ForAll @IntRange(min = 1, max = 5) int maxRows) {
    CollatorConfig inOrder = config.toBuilder().packing(false).groupByLength(false).build();
    CollatorConfig grouped = inOrder.toBuilder().groupByLength(true).build();
    CollateResult plain = Collator.of(inOrder).collate(examples, maxRows);
    CollateResult sorted = Collator.of(grouped).collate(examples, maxRows);
    Map<Integer, Segment> a = segments(plain.batches());
    Map<Integer, Segment> b = segments(sorted.batches());
    assertEquals(a.keySet(), b.keySet());
    for (int id : a.keySet()) {
      assertArrayEquals(a.get(id).ids(), b.get(id).ids());
      assertArrayEquals(a.get(id).targets(), b.get(id).targets());
      assertArrayEquals(a.get(id).weights(), b.get(id).weights());
    }
    assertEquals(plain.report().tokens(), sorted.report().tokens());
    assertEquals(plain.report().events(), sorted.report().events());
    assertTrue(sorted.report().paddingTokens() <= plain.report().paddingTokens());
    int previousLength = Integer.MAX_VALUE;
    int previousId = -1;
    for (Batch batch : sorted.batches()) {
      for (int s = 0; s < batch.segmentCount(); s++) {
        int length = batch.segmentLength(s);
        int id = batch.segmentExampleId(s);
        assertTrue(
            length < previousLength || (length == previousLength && id > previousId),
            "example " + id + " (" + length + " tokens) after " + previousId);
        previousLength = length;
        previousId = id;
      }
    }
    for (Reduction reduction : Reduction.values()) {
      Map<Integer, float[]> before = coefficientsByExample(reduction, plain.batches());
      Map<Integer, float[]> after = coefficientsByExample(reduction, sorted.batches());
      assertEquals(before.keySet(), after.keySet());
      for (int id : before.keySet()) {
        assertArrayEquals(before.get(id), after.get(id), reduction + ", example " + id);
      }
    }
  }

  /**
   * The radix sort behind both layouts gives the order they document: decreasing length, equal
   * lengths by index; for any maxLength, so for one, two or more passes.
   */
  @Property
  void orderingByLengthIsDecreasingWithTiesInIndexOrder(
      @ForAll @Size(max = 300) List<@IntRange(min = 1, max = 1 << 20) Integer> raw,
      @ForAll @IntRange(min = 1, max = 1 << 20) int maxLength) {
    int[] lengths = raw.stream().mapToInt(length -> Math.min(length, maxLength)).toArray();
    Integer[] expected = new Integer[lengths.length];
    Arrays.setAll(expected, k -> k);
    Arrays.sort(expected, (x, y) -> lengths[x] != lengths[y] ? lengths[y] - lengths[x] : x - y);
    int[] order = Arrays.stream(expected).mapToInt(Integer::intValue).toArray();
    assertArrayEquals(order, Collator.byDecreasingLength(lengths, maxLength));
  }

  /** The radix sort stops after the last digit of the largest possible maxLength. */
  @Example
  void orderingByLengthHandlesTheLargestMaxLength() {
    int max = Integer.MAX_VALUE;
    assertArrayEquals(
        new int[] {1, 4, 2, 3, 0},
        Collator.byDecreasingLength(new int[] {1, max, 5, 5, max - 1}, max));
  }

  /**
   * Both ways of finding the best fit (scanning the open rows for few items, buckets by free space
   * for many) place every item in the same row, and that row is the documented choice: the least
   * free space that fits, ties to the row filled most recently.
   */
  @Property
  void bestFitIsOneAssignmentWhicheverSearchRuns(
      @ForAll @Size(max = 200) List<@IntRange(min = 1, max = 300) Integer> raw,
      @ForAll @IntRange(min = 1, max = 300) int capacity) {
    int[] lengths = raw.stream().mapToInt(length -> Math.min(length, capacity)).toArray();
    int[] byScan = Collator.bestFitByScan(lengths, capacity);
    assertArrayEquals(byScan, Collator.bestFitByBuckets(lengths, capacity));
    assertArrayEquals(byScan, Collator.bestFit(lengths, capacity));
    List<int[]> rows = new ArrayList<>(); // per row: free space, when last filled
    for (int k = 0; k < lengths.length; k++) {
      int expected = rows.size();
      for (int r = 0; r < rows.size(); r++) {
        int free = rows.get(r)[0];
        if (free >= lengths[k]
            && (expected == rows.size()
                || free < rows.get(expected)[0]
                || (free == rows.get(expected)[0] && rows.get(r)[1] > rows.get(expected)[1]))) {
          expected = r;
        }
      }
      if (expected == rows.size()) {
        rows.add(new int[] {capacity, -1});
      }
      rows.get(expected)[0] -= lengths[k];
      rows.get(expected)[1] = k;
      assertEquals(expected, byScan[k], "item " + k);
    }
  }

  private static Map<Integer, float[]> coefficientsByExample(
      Reduction reduction, List<Batch> batches) {
    Map<Integer, float[]> out = new HashMap<>();
    if (batches.isEmpty()) {
      return out;
    }
    StepCoefficients c = StepCoefficients.of(reduction, batches);
    for (int k = 0; k < batches.size(); k++) {
      Batch batch = batches.get(k);
      for (int s = 0; s < batch.segmentCount(); s++) {
        float[] values = new float[batch.segmentLength(s)];
        for (int t = 0; t < values.length; t++) {
          values[t] = c.at(k, batch.segmentStart(s) + t);
        }
        out.put(batch.segmentExampleId(s), values);
      }
    }
    return out;
  }

  /** Packing never uses more rows than one per example, and fills rows at least half on average. */
  @Property
  void bestFitDecreasingPacksTightly(
      @ForAll @Size(max = 40) List<@IntRange(min = 2, max = 32) Integer> lengths,
      @ForAll long seed) {
    List<TokenizedExample> examples = new ArrayList<>();
    for (int n : lengths) {
      int[] ids = new int[n];
      float[] w = new float[n];
      Arrays.fill(w, 1f);
      examples.add(new TokenizedExample(ids, w, new byte[n], new int[n]));
    }
    CollatorConfig config = CollatorConfig.builder(32).packing(true).seed(seed).build();
    CollateResult result = Collator.of(config).collate(examples, Integer.MAX_VALUE);
    int rows = result.batches().stream().mapToInt(Batch::rows).sum();
    long total = lengths.stream().mapToLong(Integer::longValue).sum();
    // Any-fit packing leaves at most one row at most half full.
    assertTrue(rows <= Math.max(lengths.isEmpty() ? 0 : 1, (2 * total + 31) / 32 + 1));
  }

  /**
   * Invariants 14 and 17: positions restart per segment, segments are numbered 1..k, no target
   * crosses a segment boundary or points at a segment's first token, padding carries nothing.
   */
  @Property
  void segmentsAreIsolated(
      @ForAll("examples") List<TokenizedExample> examples,
      @ForAll("configs") CollatorConfig config,
      @ForAll @IntRange(min = 1, max = 5) int maxRows) {
    CollateResult result = Collator.of(config).collate(examples, maxRows);
    for (Batch b : result.batches()) {
      for (int r = 0; r < b.rows(); r++) {
        int expectedSegment = 0;
        int previousSegment = 0;
        for (int t = 0; t < b.seqLen(); t++) {
          int i = r * b.seqLen() + t;
          int segment = b.segmentIdAt(i);
          if (segment == 0) {
            assertEquals(config.padId(), b.inputIdAt(i));
            assertEquals(0, b.positionIdAt(i));
            assertEquals(Batch.IGNORE, b.targetAt(i));
            assertEquals(0f, b.weightAt(i));
            assertEquals(-1, b.exampleIdAt(i));
            previousSegment = 0;
            continue;
          }
          if (segment != previousSegment) {
            expectedSegment++;
            assertEquals(expectedSegment, segment, "segments are numbered 1..k in row order");
            assertEquals(0, b.positionIdAt(i), "positions restart per segment");
          } else {
            assertEquals(b.positionIdAt(i - 1) + 1, b.positionIdAt(i));
          }
          previousSegment = segment;
          boolean last = t + 1 == b.seqLen() || b.segmentIdAt(i + 1) != segment;
          if (last) {
            assertEquals(Batch.IGNORE, b.targetAt(i), "no target across a segment boundary");
            assertEquals(0f, b.weightAt(i));
          } else {
            assertEquals(b.inputIdAt(i + 1), b.targetAt(i));
            assertTrue(b.positionIdAt(i + 1) > 0, "position 0 is never a target");
          }
        }
      }
    }
    // Every kept example has something to predict (the paper drops all-masked rows).
    for (Segment s : segments(result.batches()).values()) {
      double w = 0;
      for (float x : s.weights()) {
        w += x;
      }
      assertTrue(w > 0);
    }
  }

  /**
   * The segment table and the per-cell view agree: each segment's cells carry its segment id,
   * example id and positions 0..n-1, segments come in cell order, every non-padding cell is in
   * exactly one segment, and the derived arrays equal the per-cell accessors.
   */
  @Property
  void segmentTableMatchesTheCells(
      @ForAll("examples") List<TokenizedExample> examples,
      @ForAll("configs") CollatorConfig config,
      @ForAll @IntRange(min = 1, max = 5) int maxRows) {
    for (Batch b : Collator.of(config).collate(examples, maxRows).batches()) {
      int covered = 0;
      int previousEnd = 0;
      for (int s = 0; s < b.segmentCount(); s++) {
        int start = b.segmentStart(s);
        assertTrue(start >= previousEnd, "segments in cell order");
        assertEquals(start / b.seqLen(), (start + b.segmentLength(s) - 1) / b.seqLen());
        for (int t = 0; t < b.segmentLength(s); t++) {
          assertEquals(b.segmentId(s), b.segmentIdAt(start + t));
          assertEquals(b.segmentExampleId(s), b.exampleIdAt(start + t));
          assertEquals(t, b.positionIdAt(start + t));
        }
        previousEnd = start + b.segmentLength(s);
        covered += b.segmentLength(s);
      }
      int[] positions = b.positionIds();
      int[] segmentIds = b.segmentIds();
      int[] exampleIds = b.exampleIds();
      int nonPadding = 0;
      for (int i = 0; i < b.cells(); i++) {
        assertEquals(b.positionIdAt(i), positions[i]);
        assertEquals(b.segmentIdAt(i), segmentIds[i]);
        assertEquals(b.exampleIdAt(i), exampleIds[i]);
        nonPadding += segmentIds[i] == 0 ? 0 : 1;
      }
      assertEquals(covered, nonPadding);
    }
  }

  /**
   * A training loop's reused buffers hold, after each write, exactly the batch's cells as the
   * per-cell accessors give them, whatever earlier (larger or smaller) batches left behind; so do
   * caller arrays written one column at a time.
   */
  @Property
  void writingIntoReusedBuffersGivesEveryCell(
      @ForAll("examples") List<TokenizedExample> examples,
      @ForAll("configs") CollatorConfig config,
      @ForAll @IntRange(min = 1, max = 5) int maxRows) {
    List<Batch> forward = Collator.of(config).collate(examples, maxRows).batches();
    List<Batch> batches = new ArrayList<>(forward);
    List<Batch> backward = new ArrayList<>(forward);
    Collections.reverse(backward);
    batches.addAll(backward); // larger and smaller batches before each one
    BatchBuffers buffers = new BatchBuffers();
    int[] column = new int[0];
    float[] weights = new float[0];
    for (Batch b : batches) {
      b.writeTo(buffers);
      assertEquals(b.cells(), buffers.cells());
      if (column.length < b.cells()) {
        column = new int[b.cells()];
        weights = new float[b.cells()];
        Arrays.fill(column, 12345); // what a stale buffer might hold
        Arrays.fill(weights, 0.75f);
      }
      for (int i = 0; i < b.cells(); i++) {
        assertEquals(b.inputIdAt(i), buffers.inputIds()[i], "input id " + i);
        assertEquals(b.positionIdAt(i), buffers.positionIds()[i], "position id " + i);
        assertEquals(b.segmentIdAt(i), buffers.segmentIds()[i], "segment id " + i);
        assertEquals(b.targetAt(i), buffers.targets()[i], "target " + i);
        assertEquals(b.weightAt(i), buffers.weights()[i], "weight " + i);
      }
      b.writeTargets(column);
      b.writeWeights(weights);
      for (int i = 0; i < b.cells(); i++) {
        assertEquals(b.targetAt(i), column[i], "target " + i);
        assertEquals(b.weightAt(i), weights[i], "weight " + i);
      }
      b.writeInputIds(column);
      for (int i = 0; i < b.cells(); i++) {
        assertEquals(b.inputIdAt(i), column[i], "input id " + i);
      }
    }
  }
}
