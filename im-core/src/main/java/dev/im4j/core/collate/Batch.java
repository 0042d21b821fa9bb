package dev.im4j.core.collate;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkElementIndex;

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
 * <p>A batch stores the input ids, targets and weights cell by cell, and the layout as a table of
 * segments (one per example: its row, first cell, length and example id, in cell order). Position,
 * segment and example ids are functions of that table: their arrays and buffers are written when
 * asked for, and code that works per example should walk the segments ({@link #segmentCount()},
 * {@link #segmentStart(int)}, ...) rather than the cells.
 *
 * <p>Immutable and thread-safe. Array accessors return fresh arrays; the {@code ...Buffer} methods
 * return fresh direct buffers in native byte order, ready to wrap as native tensors; {@code ...At}
 * accessors read one cell without copying (those derived from the layout look its segment up in
 * O(log k) for k segments in the row).
 */
public final class Batch {
  /** The target written where nothing is predicted: the last token of a segment and padding. */
  public static final int IGNORE = -100;

  private final int rows;
  private final int seqLen;
  private final int[] inputIds; // [rows, seqLen]
  private final int[] targets; // [rows, seqLen]
  private final float[] weights; // [rows, seqLen]
  private final int[] rowFirstSegment; // [rows + 1]: segments of row r are [rfs[r], rfs[r + 1])
  private final int[] segmentStart; // [segments]: flat index of the segment's first cell
  private final int[] segmentLength; // [segments], each >= 1
  private final int[] segmentExample; // [segments]: example id

  /**
   * Takes ownership of the arrays (the collator hands over arrays it no longer touches). The cell
   * arrays must agree with the segment table: padding holds the pad id, {@link #IGNORE} and weight
   * 0, as does the last cell of each segment for its target and weight. Only the table is checked
   * here; the collator guarantees the cells.
   */
  Batch(
      int rows,
      int seqLen,
      int[] inputIds,
      int[] targets,
      float[] weights,
      int[] rowFirstSegment,
      int[] segmentStart,
      int[] segmentLength,
      int[] segmentExample) {
    checkArgument(
        rows > 0 && seqLen > 0, "rows and seqLen must be > 0 but were %s, %s", rows, seqLen);
    int cells = Math.multiplyExact(rows, seqLen);
    checkArgument(
        inputIds.length == cells && targets.length == cells && weights.length == cells,
        "every cell array must hold rows * seqLen = %s cells",
        cells);
    int segments = segmentStart.length;
    checkArgument(
        rowFirstSegment.length == rows + 1
            && rowFirstSegment[0] == 0
            && rowFirstSegment[rows] == segments
            && segmentLength.length == segments
            && segmentExample.length == segments,
        "the segment table must have rows + 1 row offsets from 0 to %s and %s entries per column",
        segments,
        segments);
    for (int r = 0; r < rows; r++) {
      int free = r * seqLen; // first cell of the row not yet covered by a segment
      checkArgument(
          rowFirstSegment[r] <= rowFirstSegment[r + 1], "row offsets must not decrease at %s", r);
      for (int s = rowFirstSegment[r]; s < rowFirstSegment[r + 1]; s++) {
        checkArgument(
            segmentLength[s] > 0
                && segmentStart[s] >= free
                && segmentStart[s] + segmentLength[s] <= (r + 1) * seqLen
                && segmentExample[s] >= 0,
            "segment %s (start %s, length %s, example %s) must be non-empty, in cell order and"
                + " inside row %s",
            s,
            segmentStart[s],
            segmentLength[s],
            segmentExample[s],
            r);
        free = segmentStart[s] + segmentLength[s];
      }
    }
    this.rows = rows;
    this.seqLen = seqLen;
    this.inputIds = inputIds;
    this.targets = targets;
    this.weights = weights;
    this.rowFirstSegment = rowFirstSegment;
    this.segmentStart = segmentStart;
    this.segmentLength = segmentLength;
    this.segmentExample = segmentExample;
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
    return inputIds.length;
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

  /** Copy of the input ids, {@code [rows, seqLen]}. */
  public int[] inputIds() {
    return inputIds.clone();
  }

  /** The position ids, {@code [rows, seqLen]}. */
  public int[] positionIds() {
    int[] out = new int[cells()];
    for (int s = 0; s < segmentStart.length; s++) {
      for (int t = 0, cell = segmentStart[s]; t < segmentLength[s]; t++) {
        out[cell + t] = t;
      }
    }
    return out;
  }

  /** The segment ids (0 = padding), {@code [rows, seqLen]}. */
  public int[] segmentIds() {
    int[] out = new int[cells()];
    for (int s = 0; s < segmentStart.length; s++) {
      Arrays.fill(out, segmentStart[s], segmentStart[s] + segmentLength[s], segmentId(s));
    }
    return out;
  }

  /** Copy of the shifted targets ({@link #IGNORE} where none), {@code [rows, seqLen]}. */
  public int[] targets() {
    return targets.clone();
  }

  /** Copy of the target weights, {@code [rows, seqLen]}. */
  public float[] weights() {
    return weights.clone();
  }

  /** The source example indices (-1 = padding), {@code [rows, seqLen]}. */
  public int[] exampleIds() {
    int[] out = new int[cells()];
    Arrays.fill(out, -1);
    for (int s = 0; s < segmentStart.length; s++) {
      Arrays.fill(out, segmentStart[s], segmentStart[s] + segmentLength[s], segmentExample[s]);
    }
    return out;
  }

  /** Input id at flat index {@code i = row * seqLen + t}. */
  public int inputIdAt(int i) {
    return inputIds[i];
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
    return targets[i];
  }

  /** Target weight at flat index {@code i}. */
  public float weightAt(int i) {
    return weights[i];
  }

  /** Source example index at flat index {@code i}. */
  public int exampleIdAt(int i) {
    int s = segmentAt(i);
    return s < 0 ? -1 : segmentExample[s];
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

  /** Input ids as a new direct buffer in native order, {@code [rows, seqLen]}. */
  public IntBuffer inputIdsBuffer() {
    return directInts(inputIds);
  }

  /** Position ids as a new direct buffer in native order, {@code [rows, seqLen]}. */
  public IntBuffer positionIdsBuffer() {
    return directInts(positionIds());
  }

  /** Segment ids as a new direct buffer in native order, {@code [rows, seqLen]}. */
  public IntBuffer segmentIdsBuffer() {
    return directInts(segmentIds());
  }

  /** Targets as a new direct buffer in native order, {@code [rows, seqLen]}. */
  public IntBuffer targetsBuffer() {
    return directInts(targets);
  }

  /** Weights as a new direct buffer in native order, {@code [rows, seqLen]}. */
  public FloatBuffer weightsBuffer() {
    return directFloats(weights);
  }

  /** Example ids as a new direct buffer in native order, {@code [rows, seqLen]}. */
  public IntBuffer exampleIdsBuffer() {
    return directInts(exampleIds());
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
