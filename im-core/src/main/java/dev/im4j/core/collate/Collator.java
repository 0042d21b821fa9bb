package dev.im4j.core.collate;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import dev.im4j.core.collate.CollateReport.Event;
import dev.im4j.core.collate.CollateReport.Reason;
import dev.im4j.core.mask.TokenClass;
import dev.im4j.core.mask.TokenizedExample;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Optional;
import java.util.Random;

/**
 * Turns {@link TokenizedExample}s into {@link Batch}es: truncation, padding and optional packing.
 * Batches are layouts; their cells, the label shift included, are written when asked for.
 *
 * <p>Per example, in input order: an example longer than {@code maxLength} is handled by the
 * configured {@link TruncationStrategy}; an example that then has no predicted token with positive
 * weight (tokens {@code 1..n-1}) is dropped and reported. Kept examples become segments:
 *
 * <ul>
 *   <li>padded layout ({@code packing = false}): one example per row, by decreasing length (equal
 *       lengths in input order; {@code groupByLength}, the default) or in input order, each batch's
 *       rows padded to its longest row rounded up to {@code padToMultipleOf};
 *   <li>packed layout: best-fit decreasing into rows of capacity {@code maxLength}. Examples are
 *       first shuffled with {@code seed}, then stably sorted by decreasing length (so the seed only
 *       breaks ties between equal lengths); each goes into the open row with the least free space
 *       that still fits it (among equally full rows, the one most recently filled to that level),
 *       or a new row. Rows keep their creation order and their segments their insertion order.
 * </ul>
 *
 * <p>Rows are then cut into batches of at most {@code maxRowsPerBatch} rows: full batches from the
 * start and the rows left over in the last one; for padded rows grouped by length, the one short
 * batch is placed where the step has the fewest cells. For a given number of batches that is the
 * fewest cells possible (swapping rows between batches shows some optimal cut is contiguous in
 * length order, and every place of the short batch is tried), so never more than in input order.
 * Every kept example appears exactly once, whole, in one row; no example is split across rows or
 * batches.
 *
 * <p>Thread-safe: a collator holds only its immutable configuration.
 */
public final class Collator {
  /**
   * A step with fewer than maxLength / this many examples is small: {@link #bestFit} scans the open
   * rows instead of setting up buckets over all maxLength + 1 free-space values.
   */
  static final int SMALL_STEP_RATIO = 16;

  /** Bits of the length sorted per pass of {@link #byDecreasingLength}: 64 buckets. */
  static final int RADIX_BITS = 6;

  private final CollatorConfig config;

  private Collator(CollatorConfig config) {
    this.config = config;
  }

  /** A collator for the given configuration. */
  public static Collator of(CollatorConfig config) {
    return new Collator(checkNotNull(config, "config"));
  }

  /** This collator's configuration. */
  public CollatorConfig config() {
    return config;
  }

  /**
   * Collates the examples of one optimizer step; example ids are the list indices.
   *
   * @see #collate(List, int, int)
   */
  public CollateResult collate(List<TokenizedExample> examples, int maxRowsPerBatch) {
    return collate(examples, 0, maxRowsPerBatch);
  }

  /**
   * Collates examples; the example at list index {@code i} gets example id {@code firstExampleId +
   * i} (in {@link Batch#exampleIds()} and in the report), so that a step collated in several calls
   * can keep distinct ids.
   *
   * @param examples the examples, none null
   * @param firstExampleId id of the first example, {@code >= 0}
   * @param maxRowsPerBatch most rows per batch, {@code > 0}
   * @throws IllegalArgumentException on bad arguments, or under {@link TruncationStrategy#ERROR}
   *     for the first example longer than {@code maxLength}
   */
  public CollateResult collate(
      List<TokenizedExample> examples, int firstExampleId, int maxRowsPerBatch) {
    checkNotNull(examples, "examples");
    checkArgument(
        maxRowsPerBatch > 0,
        "maxRowsPerBatch must be > 0 but was %s; use 1 for one row per batch",
        maxRowsPerBatch);
    checkArgument(
        firstExampleId >= 0 && (long) firstExampleId + examples.size() <= Integer.MAX_VALUE,
        "firstExampleId must be >= 0 and leave room for %s ids but was %s",
        examples.size(),
        firstExampleId);

    List<Event> events = new ArrayList<>();
    Kept kept = new Kept(examples.size());
    int truncated = 0;
    int dropped = 0;
    int noTarget = 0;
    for (int i = 0; i < examples.size(); i++) {
      TokenizedExample example = examples.get(i);
      checkArgument(example != null, "examples[%s] is null; remove it", i);
      int exampleId = firstExampleId + i;
      TokenizedExample segment = truncate(example, exampleId, events);
      if (segment == null) {
        dropped++;
        continue;
      }
      if (segment.length() != example.length()) {
        truncated++;
      }
      if (!segment.hasTarget()) {
        events.add(
            new Event(exampleId, Reason.DROPPED_NO_TARGET, example.length(), segment.length()));
        noTarget++;
        continue;
      }
      kept.add(exampleId, segment);
    }

    Rows rows = config.packing() ? pack(kept) : onePerRow(kept);
    List<Batch> batches = new ArrayList<>();
    long tokens = 0;
    long cells = 0;
    int shortBatch =
        config.groupByLength() && !config.packing() ? shortBatch(rows, kept, maxRowsPerBatch) : -1;
    for (int from = 0, index = 0; from < rows.count(); index++) {
      int size = index == shortBatch ? rows.count() % maxRowsPerBatch : maxRowsPerBatch;
      int to = from + Math.min(rows.count() - from, size);
      Batch batch = layOut(rows, from, to, kept);
      from = to;
      batches.add(batch);
      cells += batch.cells();
    }
    for (int s = 0; s < kept.count; s++) {
      tokens += kept.length[s];
    }
    CollateReport report =
        new CollateReport(
            examples.size(),
            kept.count,
            truncated,
            dropped,
            noTarget,
            tokens,
            cells - tokens,
            events);
    return new CollateResult(batches, report);
  }

  /**
   * One example as this collator keeps it: shortened by the configured {@link TruncationStrategy}
   * (classes and turns follow the kept tokens), or empty if the strategy drops it for its length.
   * Unlike {@link #collate}, an example left without a target is returned, not dropped.
   *
   * @throws IllegalArgumentException under {@link TruncationStrategy#ERROR} if it is too long
   */
  public Optional<TokenizedExample> truncate(TokenizedExample example) {
    return Optional.ofNullable(truncate(example, 0, new ArrayList<>()));
  }

  /** The kept (possibly shortened) examples in input order, as columns: id, tokens, length. */
  private static final class Kept {
    final int[] exampleId;
    final TokenizedExample[] tokens;
    final int[] length;
    int count;

    Kept(int capacity) {
      exampleId = new int[capacity];
      tokens = new TokenizedExample[capacity];
      length = new int[capacity];
    }

    void add(int id, TokenizedExample example) {
      exampleId[count] = id;
      tokens[count] = example;
      length[count] = example.length();
      count++;
    }
  }

  /**
   * Rows as lists of kept-example indices: row r holds {@code members[offsets[r] .. offsets[r+1])},
   * in insertion order.
   */
  private record Rows(int[] members, int[] offsets) {
    int count() {
      return offsets.length - 1;
    }
  }

  /** The example as it fits {@code maxLength}, or null if dropped for its length. */
  private TokenizedExample truncate(TokenizedExample example, int exampleId, List<Event> events) {
    int n = example.length();
    int max = config.maxLength();
    if (n <= max) {
      return example;
    }
    switch (config.truncation()) {
      case ERROR:
        throw new IllegalArgumentException(
            String.format(
                "example %d has %d tokens but maxLength is %d; allowed: at most maxLength tokens;"
                    + " raise maxLength or choose a TruncationStrategy other than ERROR",
                exampleId, n, max));
      case DROP:
        events.add(new Event(exampleId, Reason.DROPPED_TOO_LONG, n, 0));
        return null;
      case KEEP_START:
        events.add(new Event(exampleId, Reason.TRUNCATED_KEEP_START, n, max));
        return example.slice(0, max);
      case KEEP_END:
        events.add(new Event(exampleId, Reason.TRUNCATED_KEEP_END, n, max));
        return example.slice(n - max, max);
      case TRIM_INSTRUCTION:
        return trimInstruction(example, exampleId, events);
    }
    throw new IllegalStateException("unhandled truncation strategy " + config.truncation());
  }

  /** See {@link TruncationStrategy#TRIM_INSTRUCTION}. */
  private TokenizedExample trimInstruction(
      TokenizedExample example, int exampleId, List<Event> events) {
    int n = example.length();
    int max = config.maxLength();
    int excess = n - max;
    int[] ids = example.ids();
    float[] weights = example.weights();
    byte[] classes = example.classes();
    int[] turns = example.turns();
    int instruction = 0;
    for (int i = 0; i < n; i++) {
      if (TokenClass.ofOrdinal(classes[i]).isInstruction()) {
        instruction++;
      }
    }
    if (instruction < excess) {
      events.add(new Event(exampleId, Reason.TRIM_FELL_BACK_TO_KEEP_START, n, max));
      return example.slice(0, max);
    }
    int toRemove = excess;
    boolean afterCut = false;
    int k = 0;
    for (int i = 0; i < n; i++) {
      if (toRemove > 0 && TokenClass.ofOrdinal(classes[i]).isInstruction()) {
        toRemove--;
        afterCut = true;
        continue;
      }
      // The token right after a removed run is predicted from a context that never occurred.
      ids[k] = ids[i];
      weights[k] = afterCut ? 0f : weights[i];
      classes[k] = classes[i];
      turns[k] = turns[i];
      afterCut = false;
      k++;
    }
    if (k != max) {
      throw new IllegalStateException("trimmed example " + exampleId + " to " + k + " not " + max);
    }
    events.add(new Event(exampleId, Reason.TRIMMED_INSTRUCTION, n, max));
    return new TokenizedExample(
        Arrays.copyOf(ids, max),
        Arrays.copyOf(weights, max),
        Arrays.copyOf(classes, max),
        Arrays.copyOf(turns, max));
  }

  /** The padded layout: one kept example per row, in input order or by decreasing length. */
  private Rows onePerRow(Kept kept) {
    int[] members;
    if (config.groupByLength()) {
      members = byDecreasingLength(Arrays.copyOf(kept.length, kept.count), config.maxLength());
    } else {
      members = new int[kept.count];
      for (int i = 0; i < kept.count; i++) {
        members[i] = i;
      }
    }
    int[] offsets = new int[kept.count + 1];
    for (int i = 0; i < kept.count; i++) {
      offsets[i + 1] = i + 1;
    }
    return new Rows(members, offsets);
  }

  /**
   * For rows ordered by decreasing length: which batch should take the rows left over after full
   * batches (-1 if none are), so that the cells written, the sum over batches of rows times the
   * rounded longest row, are fewest. Batches before it start at multiples of {@code perBatch}, the
   * ones after it {@code remainder} rows later; every placement is tried, in O(rows).
   */
  private int shortBatch(Rows rows, Kept kept, int perBatch) {
    int n = rows.count();
    int remainder = n % perBatch;
    if (remainder == 0) {
      return -1;
    }
    int batches = n / perBatch + 1;
    long[] after =
        new long[batches + 1]; // [i]: cells of full batches i.. if the short one precedes
    for (int p = batches - 1; p >= 1; p--) {
      after[p] =
          after[p + 1] + (long) perBatch * rowLength(rows, kept, remainder + (p - 1) * perBatch);
    }
    int best = 0;
    long bestCells = Long.MAX_VALUE;
    long before = 0; // cells of the full batches before batch p, aligned
    for (int p = 0; p < batches; p++) {
      long cells = before + (long) remainder * rowLength(rows, kept, p * perBatch) + after[p + 1];
      if (cells < bestCells) {
        bestCells = cells;
        best = p;
      }
      if (p < batches - 1) {
        before += (long) perBatch * rowLength(rows, kept, p * perBatch);
      }
    }
    return best;
  }

  /** Length of padded row {@code r} (one example) rounded up to {@code padToMultipleOf}. */
  private long rowLength(Rows rows, Kept kept, int r) {
    long multiple = config.padToMultipleOf();
    return (kept.length[rows.members()[r]] + multiple - 1) / multiple * multiple;
  }

  /**
   * The indices of {@code lengths} (each in {@code 1..maxLength}) ordered by decreasing length,
   * equal lengths in index order: a least-significant-digit radix sort on {@code maxLength -
   * length}, {@link #RADIX_BITS} bits per pass, each pass a stable counting sort. O(n) per pass and
   * two passes up to maxLength 4096, so cheap both for a trainer's step of 64 examples (where
   * counting over every possible length cost 6.5 µs at 2048) and for thousands.
   */
  static int[] byDecreasingLength(int[] lengths, int maxLength) {
    int n = lengths.length;
    int[] order = new int[n];
    for (int k = 0; k < n; k++) {
      order[k] = k;
    }
    int[] next = new int[n];
    int[] slot = new int[(1 << RADIX_BITS) + 1]; // by digit: the first slot of its elements
    int mask = (1 << RADIX_BITS) - 1;
    for (int shift = 0;
        shift < Integer.SIZE && (maxLength - 1) >>> shift > 0;
        shift += RADIX_BITS) {
      Arrays.fill(slot, 0);
      for (int length : lengths) {
        slot[((maxLength - length) >>> shift & mask) + 1]++;
      }
      for (int d = 1; d <= mask; d++) {
        slot[d] += slot[d - 1];
      }
      for (int k : order) {
        next[slot[(maxLength - lengths[k]) >>> shift & mask]++] = k;
      }
      int[] sorted = next;
      next = order;
      order = sorted;
    }
    return order;
  }

  /** Best-fit decreasing; returns each row's segment indices in insertion order. */
  private Rows pack(Kept kept) {
    int m = kept.count;
    int capacity = config.maxLength();
    int[] order = new int[m];
    for (int i = 0; i < m; i++) {
      order[i] = i;
    }
    Random random = new Random(config.seed());
    for (int i = m - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int tmp = order[i];
      order[i] = order[j];
      order[j] = tmp;
    }
    int[] lengthOf = new int[m]; // by shuffled position
    for (int k = 0; k < m; k++) {
      lengthOf[k] = kept.length[order[k]];
    }
    int[] sorted = byDecreasingLength(lengthOf, capacity); // shuffled positions
    int[] lengths = new int[m]; // in placement order
    for (int k = 0; k < m; k++) {
      lengths[k] = lengthOf[sorted[k]];
    }
    int[] rowOf = bestFit(lengths, capacity);
    int rowCount = 0;
    for (int row : rowOf) {
      rowCount = Math.max(rowCount, row + 1);
    }
    int[] offsets = new int[rowCount + 1];
    for (int row : rowOf) {
      offsets[row + 1]++;
    }
    for (int row = 0; row < rowCount; row++) {
      offsets[row + 1] += offsets[row];
    }
    int[] members = new int[m];
    int[] filled = Arrays.copyOf(offsets, rowCount); // next free slot per row
    for (int k = 0; k < m; k++) {
      members[filled[rowOf[k]]++] = order[sorted[k]]; // insertion order within each row
    }
    return new Rows(members, offsets);
  }

  /**
   * Best fit for items of {@code lengths} (each in {@code 1..capacity}), placed in array order:
   * each goes into the open row with the least free space that still fits it (among equally full
   * rows, the one most recently filled to that level), or a new row; returns each item's row, rows
   * numbered in creation order. Scans the open rows when there are fewer than capacity / {@link
   * #SMALL_STEP_RATIO} items (a trainer's step), else keeps rows in buckets by free space.
   */
  static int[] bestFit(int[] lengths, int capacity) {
    return (long) lengths.length * SMALL_STEP_RATIO < capacity
        ? bestFitByScan(lengths, capacity)
        : bestFitByBuckets(lengths, capacity);
  }

  /** {@link #bestFit} by scanning the open rows: O(n × rows). */
  static int[] bestFitByScan(int[] lengths, int capacity) {
    int n = lengths.length;
    int[] rowOf = new int[n];
    int[] rowFree = new int[n];
    int[] filledAt = new int[n]; // when the row last reached its free space
    int rowCount = 0;
    for (int k = 0; k < n; k++) {
      int length = lengths[k];
      int row = -1;
      for (int r = 0; r < rowCount; r++) {
        int free = rowFree[r];
        if (free >= length
            && (row < 0
                || free < rowFree[row]
                || (free == rowFree[row] && filledAt[r] > filledAt[row]))) {
          row = r;
        }
      }
      if (row < 0) {
        row = rowCount++;
        rowFree[row] = capacity;
      }
      rowFree[row] -= length;
      filledAt[row] = k;
      rowOf[k] = row;
    }
    return rowOf;
  }

  /**
   * {@link #bestFit} with open rows in buckets by free space (doubly linked lists, the most
   * recently filled first) and a BitSet of non-empty buckets, so the best fit is one nextSetBit
   * away: O(n + capacity).
   */
  static int[] bestFitByBuckets(int[] lengths, int capacity) {
    int n = lengths.length;
    int[] bucketHead = new int[capacity + 1];
    Arrays.fill(bucketHead, -1);
    BitSet nonEmpty = new BitSet(capacity + 1);
    int[] rowNext = new int[n];
    int[] rowPrev = new int[n];
    int[] rowFree = new int[n];
    int[] rowOf = new int[n];
    int rowCount = 0;
    for (int k = 0; k < n; k++) {
      int length = lengths[k];
      int free = nonEmpty.nextSetBit(length);
      int row;
      if (free < 0) {
        row = rowCount++;
        rowFree[row] = capacity;
      } else {
        row = bucketHead[free];
        unlink(row, free, bucketHead, rowNext, rowPrev, nonEmpty);
      }
      rowFree[row] -= length;
      link(row, rowFree[row], bucketHead, rowNext, rowPrev, nonEmpty);
      rowOf[k] = row;
    }
    return rowOf;
  }

  private static void link(
      int row, int free, int[] bucketHead, int[] next, int[] prev, BitSet nonEmpty) {
    int head = bucketHead[free];
    next[row] = head;
    prev[row] = -1;
    if (head >= 0) {
      prev[head] = row;
    }
    bucketHead[free] = row;
    nonEmpty.set(free);
  }

  private static void unlink(
      int row, int free, int[] bucketHead, int[] next, int[] prev, BitSet nonEmpty) {
    if (prev[row] >= 0) {
      next[prev[row]] = next[row];
    } else {
      bucketHead[free] = next[row];
    }
    if (next[row] >= 0) {
      prev[next[row]] = prev[row];
    }
    if (bucketHead[free] < 0) {
      nonEmpty.clear(free);
    }
  }

  /** Lays rows {@code from..to-1} out as one batch: where each segment starts. */
  private Batch layOut(Rows rows, int from, int to, Kept kept) {
    int[] members = rows.members();
    int[] offsets = rows.offsets();
    int[] used = new int[to - from];
    int[] rowFirstSegment = new int[to - from + 1];
    int longest = 0;
    for (int r = 0; r < used.length; r++) {
      for (int k = offsets[from + r]; k < offsets[from + r + 1]; k++) {
        used[r] += kept.length[members[k]];
      }
      longest = Math.max(longest, used[r]);
      rowFirstSegment[r + 1] = offsets[from + r + 1] - offsets[from];
    }
    int multiple = config.padToMultipleOf();
    int seqLen = Math.toIntExact(((long) longest + multiple - 1) / multiple * multiple);
    int segmentCount = rowFirstSegment[used.length];
    int[] segmentStart = new int[segmentCount];
    int[] segmentExample = new int[segmentCount];
    TokenizedExample[] segmentTokens = new TokenizedExample[segmentCount];
    int k = 0;
    for (int r = 0; r < used.length; r++) {
      int pad = seqLen - used[r];
      int cell = r * seqLen + (config.paddingSide() == PaddingSide.LEFT ? pad : 0);
      for (int j = offsets[from + r]; j < offsets[from + r + 1]; j++) {
        int s = members[j];
        segmentStart[k] = cell;
        segmentExample[k] = kept.exampleId[s];
        segmentTokens[k] = kept.tokens[s];
        k++;
        cell += kept.length[s];
      }
    }
    return new Batch(
        used.length,
        seqLen,
        config.padId(),
        rowFirstSegment,
        segmentStart,
        segmentExample,
        segmentTokens);
  }
}
