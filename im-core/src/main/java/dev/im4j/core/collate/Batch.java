package dev.im4j.core.collate;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkElementIndex;
import static dev.im4j.core.internal.Fill.fill;

import dev.im4j.core.internal.Fill;
import dev.im4j.core.mask.TokenizedExample;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.Arrays;

/**
 * One micro-batch ready for a native runtime: {@code rows} rows of {@code seqLen} cells, every
 * array flat and row-major ({@code [rows, seqLen]}).
 *
 * <p>Cell {@code (r, t)} at flat index {@code r * seqLen + t} holds:
 *
 * <ul>
 *   <li>{@code inputIds}: the token fed to the model ({@link CollatorConfig#padId()} in padding);
 *   <li>{@code positionIds}: the token's position within its own example, restarting at 0 for every
 *       segment (0 in padding);
 *   <li>{@code segmentIds}: 1..k for the k examples of the row in order, 0 for padding; attention
 *       must only connect cells of one row with equal, non-zero segment ids (and causally);
 *   <li>{@code targets}: the id of the next token of the same segment, or {@link #IGNORE} for the
 *       last token of each segment and for padding. This is the one place the label shift happens;
 *   <li>{@code weights}: the loss weight of that target ({@code TokenizedExample.weightAt(t + 1)}),
 *       0 wherever the target is {@link #IGNORE};
 *   <li>{@code exampleIds}: the index of the source example within the collated step, -1 for
 *       padding.
 * </ul>
 *
 * <p>A batch is a layout: a table of segments (one per example: its first cell, length, example id
 * and the kept tokens, in cell order). Cells are written from it when asked for: into fresh arrays
 * ({@link #inputIds()}, ...), fresh direct buffers ({@link #inputIdsBuffer()}, ...) or, for a
 * training loop that reuses its buffers across steps, into the caller's arrays: all five columns a
 * runtime is fed in one pass ({@link #writeTo(BatchBuffers)}) or one column at a time ({@link
 * #writeInputIds(int[])}, ...); neither allocates once the arrays are large enough. Code that works
 * per example should walk the segments ({@link #segmentCount()}, {@link #segmentStart(int)}, ...)
 * rather than the cells.
 *
 * <p>Immutable and thread-safe. {@code ...At} accessors read one cell, finding its segment in O(log
 * k) for k segments in the row.
 */
public final class Batch {
  /** The target written where nothing is predicted: the last token of a segment and padding. */
  public static final int IGNORE = Fill.IGNORE;

  private static volatile int[] iota = new int[0]; // see positions(int)

  private final int rows;
  private final int seqLen;
  private final int padId;
  private final int[] rowFirstSegment; // [rows + 1]: segments of row r are [rfs[r], rfs[r + 1])
  private final int[] segmentStart; // [segments]: flat index of the segment's first cell
  private final int[] segmentExample; // [segments]: example id
  private final TokenizedExample[] segmentTokens; // [segments]: the example as kept
  private final int[] segmentLength; // [segments]: its length, so cell loops need not reach it

  /**
   * Takes ownership of the arrays (the collator hands over arrays it no longer touches) and checks
   * the table: every row's segments are non-empty, in cell order, without overlap, inside the row.
   */
  Batch(
      int rows,
      int seqLen,
      int padId,
      int[] rowFirstSegment,
      int[] segmentStart,
      int[] segmentExample,
      TokenizedExample[] segmentTokens) {
    checkArgument(
        rows > 0 && seqLen > 0, "rows and seqLen must be > 0 but were %s, %s", rows, seqLen);
    checkArgument(
        (long) rows * seqLen <= Integer.MAX_VALUE, "rows * seqLen must fit in an int array");
    int segments = segmentStart.length;
    checkArgument(
        rowFirstSegment.length == rows + 1
            && rowFirstSegment[0] == 0
            && rowFirstSegment[rows] == segments
            && segmentExample.length == segments
            && segmentTokens.length == segments,
        "the segment table must have rows + 1 row offsets from 0 to %s and %s entries per column",
        segments,
        segments);
    int[] segmentLength = new int[segments];
    for (int r = 0; r < rows; r++) {
      int free = r * seqLen; // first cell of the row not yet covered by a segment
      checkArgument(
          rowFirstSegment[r] <= rowFirstSegment[r + 1], "row offsets must not decrease at %s", r);
      for (int s = rowFirstSegment[r]; s < rowFirstSegment[r + 1]; s++) {
        int length = segmentTokens[s].length();
        segmentLength[s] = length;
        if (length <= 0
            || segmentStart[s] < free
            || segmentStart[s] + length > (r + 1) * seqLen
            || segmentExample[s] < 0) {
          // An explicit branch rather than checkArgument: no boxing in this per-segment loop.
          throw new IllegalArgumentException(
              String.format(
                  "segment %d (start %d, length %d, example %d) must be non-empty, in cell order"
                      + " and inside row %d",
                  s, segmentStart[s], length, segmentExample[s], r));
        }
        free = segmentStart[s] + length;
      }
    }
    this.rows = rows;
    this.seqLen = seqLen;
    this.padId = padId;
    this.rowFirstSegment = rowFirstSegment;
    this.segmentStart = segmentStart;
    this.segmentExample = segmentExample;
    this.segmentTokens = segmentTokens;
    this.segmentLength = segmentLength;
  }

  /** Number of rows. */
  public int rows() {
    return rows;
  }

  /** Cells per row. */
  public int seqLen() {
    return seqLen;
  }

  /** {@code rows * seqLen}. */
  public int cells() {
    return rows * seqLen;
  }

  /** Number of segments (examples) in the batch. */
  public int segmentCount() {
    return segmentStart.length;
  }

  /** Flat index of the first cell of segment {@code s}; segments are numbered in cell order. */
  public int segmentStart(int s) {
    return segmentStart[s];
  }

  /** Number of cells (tokens) of segment {@code s}. */
  public int segmentLength(int s) {
    return segmentLength[s];
  }

  /** The id of the example segment {@code s} holds. */
  public int segmentExampleId(int s) {
    return segmentExample[s];
  }

  /** The segment id (1..k within its row) of segment {@code s}. */
  public int segmentId(int s) {
    return s - rowFirstSegment[segmentStart[s] / seqLen] + 1;
  }

  /**
   * Writes the input ids, position ids, segment ids, targets and weights into {@code buffers},
   * grown if this batch has more cells than they hold: one pass over the segments, each segment's
   * tokens read once for all five columns, where the five {@code write...} calls read them once
   * each.
   */
  public void writeTo(BatchBuffers buffers) {
    buffers.resize(cells());
    int[] inputIds = buffers.inputIds();
    int[] positionIds = buffers.positionIds();
    int[] segmentIds = buffers.segmentIds();
    int[] targets = buffers.targets();
    float[] weights = buffers.weights();
    int[] iota = positions(seqLen);
    int cell = 0;
    for (int s = 0; s < segmentStart.length; s++) {
      padAll(buffers, cell, segmentStart[s]);
      copyIds(s, inputIds);
      System.arraycopy(iota, 0, positionIds, segmentStart[s], segmentLength[s]);
      fillSegmentId(s, segmentIds);
      copyTargets(s, targets);
      copyWeights(s, weights);
      cell = segmentStart[s] + segmentLength[s];
    }
    padAll(buffers, cell, cells());
  }

  /**
   * {@code sum} plus the target weights of segment {@code s}, added cell by cell in order (see
   * {@link TokenizedExample#addPredictedWeights}); no column is written.
   */
  public double addSegmentTargetWeights(int s, double sum) {
    return segmentTokens[s].addPredictedWeights(sum);
  }

  /** Writes the input ids into {@code dest[0..cells)}. */
  public void writeInputIds(int[] dest) {
    checkSize(dest.length);
    fillPadding(dest, padId);
    for (int s = 0; s < segmentStart.length; s++) {
      copyIds(s, dest);
    }
  }

  /** Writes the position ids into {@code dest[0..cells)}. */
  public void writePositionIds(int[] dest) {
    checkSize(dest.length);
    fillPadding(dest, 0);
    int[] iota = positions(seqLen);
    for (int s = 0; s < segmentStart.length; s++) {
      System.arraycopy(iota, 0, dest, segmentStart[s], segmentLength[s]);
    }
  }

  /** Writes the segment ids into {@code dest[0..cells)}. */
  public void writeSegmentIds(int[] dest) {
    checkSize(dest.length);
    fillPadding(dest, 0);
    for (int s = 0; s < segmentStart.length; s++) {
      fillSegmentId(s, dest);
    }
  }

  /** Writes the shifted targets into {@code dest[0..cells)}. */
  public void writeTargets(int[] dest) {
    checkSize(dest.length);
    fillPadding(dest, IGNORE);
    for (int s = 0; s < segmentStart.length; s++) {
      copyTargets(s, dest);
    }
  }

  /** Writes the target weights into {@code dest[0..cells)}. */
  public void writeWeights(float[] dest) {
    checkSize(dest.length);
    int cell = 0;
    for (int s = 0; s < segmentStart.length; s++) {
      fill(dest, cell, segmentStart[s], 0f);
      copyWeights(s, dest);
      cell = segmentStart[s] + segmentLength[s];
    }
    fill(dest, cell, cells(), 0f);
  }

  private void copyIds(int s, int[] dest) {
    segmentTokens[s].copyIds(0, dest, segmentStart[s], segmentLength[s]);
  }

  private void fillSegmentId(int s, int[] dest) {
    fill(dest, segmentStart[s], segmentStart[s] + segmentLength[s], segmentId(s));
  }

  /** The label shift: the target of cell t is token t + 1 of the same segment. */
  private void copyTargets(int s, int[] dest) {
    int n = segmentLength[s];
    segmentTokens[s].copyIds(1, dest, segmentStart[s], n - 1);
    dest[segmentStart[s] + n - 1] = IGNORE; // a segment's last token predicts nothing
  }

  /** The weights of the targets of {@link #copyTargets}. */
  private void copyWeights(int s, float[] dest) {
    int n = segmentLength[s];
    segmentTokens[s].copyWeights(1, dest, segmentStart[s], n - 1);
    dest[segmentStart[s] + n - 1] = 0f;
  }

  /** Writes padding into {@code [from, to)} of all five columns of {@code buffers}. */
  private void padAll(BatchBuffers buffers, int from, int to) {
    if (from < to) {
      fill(buffers.inputIds(), from, to, padId);
      fill(buffers.positionIds(), from, to, 0);
      fill(buffers.segmentIds(), from, to, 0);
      fill(buffers.targets(), from, to, IGNORE);
      fill(buffers.weights(), from, to, 0f);
    }
  }

  /** Writes the source example indices (-1 for padding) into {@code dest[0..cells)}. */
  public void writeExampleIds(int[] dest) {
    checkSize(dest.length);
    fillPadding(dest, -1);
    for (int s = 0; s < segmentStart.length; s++) {
      Arrays.fill(dest, segmentStart[s], segmentStart[s] + segmentLength[s], segmentExample[s]);
    }
  }

  /** The input ids, {@code [rows, seqLen]}. */
  public int[] inputIds() {
    int[] out = new int[cells()];
    writeInputIds(out);
    return out;
  }

  /** The position ids, {@code [rows, seqLen]}. */
  public int[] positionIds() {
    int[] out = new int[cells()];
    writePositionIds(out);
    return out;
  }

  /** The segment ids (0 = padding), {@code [rows, seqLen]}. */
  public int[] segmentIds() {
    int[] out = new int[cells()];
    writeSegmentIds(out);
    return out;
  }

  /** The shifted targets ({@link #IGNORE} where none), {@code [rows, seqLen]}. */
  public int[] targets() {
    int[] out = new int[cells()];
    writeTargets(out);
    return out;
  }

  /** The target weights, {@code [rows, seqLen]}. */
  public float[] weights() {
    float[] out = new float[cells()];
    writeWeights(out);
    return out;
  }

  /** The source example indices (-1 = padding), {@code [rows, seqLen]}. */
  public int[] exampleIds() {
    int[] out = new int[cells()];
    writeExampleIds(out);
    return out;
  }

  /** Input id at flat index {@code i = row * seqLen + t}. */
  public int inputIdAt(int i) {
    int s = segmentAt(i);
    return s < 0 ? padId : segmentTokens[s].idAt(i - segmentStart[s]);
  }

  /** Position id at flat index {@code i}. */
  public int positionIdAt(int i) {
    int s = segmentAt(i);
    return s < 0 ? 0 : i - segmentStart[s];
  }

  /** Segment id at flat index {@code i}. */
  public int segmentIdAt(int i) {
    int s = segmentAt(i);
    return s < 0 ? 0 : segmentId(s);
  }

  /** Target at flat index {@code i}. */
  public int targetAt(int i) {
    int s = segmentAt(i);
    int next = s < 0 ? 0 : i - segmentStart[s] + 1;
    return s < 0 || next == segmentLength[s] ? IGNORE : segmentTokens[s].idAt(next);
  }

  /** Target weight at flat index {@code i}. */
  public float weightAt(int i) {
    int s = segmentAt(i);
    int next = s < 0 ? 0 : i - segmentStart[s] + 1;
    return s < 0 || next == segmentLength[s] ? 0f : segmentTokens[s].weightAt(next);
  }

  /** Source example index at flat index {@code i}. */
  public int exampleIdAt(int i) {
    int s = segmentAt(i);
    return s < 0 ? -1 : segmentExample[s];
  }

  /**
   * {@code 0, 1, ..., n-1} or longer, shared: copying positions in bulk is faster than counting.
   * Arrays are never written after publication, so the benign race on growth is safe.
   */
  private static int[] positions(int n) {
    int[] shared = iota;
    if (shared.length < n) {
      shared = new int[Math.max(n, 2 * shared.length)];
      for (int t = 0; t < shared.length; t++) {
        shared[t] = t;
      }
      iota = shared;
    }
    return shared;
  }

  /** The segment holding cell {@code i}, or -1 for padding. */
  private int segmentAt(int i) {
    checkElementIndex(i, cells());
    int row = i / seqLen;
    int lo = rowFirstSegment[row];
    int hi = rowFirstSegment[row + 1] - 1;
    while (lo <= hi) { // the last segment that starts at or before i
      int mid = (lo + hi) >>> 1;
      if (segmentStart[mid] <= i) {
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return hi >= rowFirstSegment[row] && i < segmentStart[hi] + segmentLength[hi] ? hi : -1;
  }

  private void checkSize(int length) {
    checkArgument(
        length >= cells(), "the destination holds %s cells but the batch has %s", length, cells());
  }

  /** Writes {@code value} into every cell of {@code dest[0..cells)} that no segment covers. */
  private void fillPadding(int[] dest, int value) {
    int cell = 0;
    for (int s = 0; s < segmentStart.length; s++) {
      fill(dest, cell, segmentStart[s], value);
      cell = segmentStart[s] + segmentLength[s];
    }
    fill(dest, cell, cells(), value);
  }

  /** Input ids as a new direct buffer in native order, {@code [rows, seqLen]}. */
  public IntBuffer inputIdsBuffer() {
    return directInts(inputIds());
  }

  /** Weights as a new direct buffer in native order, {@code [rows, seqLen]}. */
  public FloatBuffer weightsBuffer() {
    return directFloats(weights());
  }

  /** A new direct {@link IntBuffer} in native byte order holding {@code values}, at position 0. */
  static IntBuffer directInts(int[] values) {
    IntBuffer buffer =
        ByteBuffer.allocateDirect(Math.multiplyExact(values.length, Integer.BYTES))
            .order(ByteOrder.nativeOrder())
            .asIntBuffer();
    buffer.put(values).flip();
    return buffer;
  }

  /**
   * A new direct {@link FloatBuffer} in native byte order holding {@code values}, at position 0.
   */
  static FloatBuffer directFloats(float[] values) {
    FloatBuffer buffer =
        ByteBuffer.allocateDirect(Math.multiplyExact(values.length, Float.BYTES))
            .order(ByteOrder.nativeOrder())
            .asFloatBuffer();
    buffer.put(values).flip();
    return buffer;
  }

  @Override
  public String toString() {
    return "Batch[rows=" + rows + ", seqLen=" + seqLen + "]";
  }
}
