package dev.im4j.core.collate;

import static com.google.common.base.Preconditions.checkArgument;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

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
 * <p>Immutable and thread-safe. Array accessors return copies; the {@code ...Buffer} methods return
 * fresh direct buffers in native byte order, ready to wrap as native tensors; {@code ...At}
 * accessors read one cell without copying.
 */
public final class Batch {
  /** The target written where nothing is predicted: the last token of a segment and padding. */
  public static final int IGNORE = -100;

  private final int rows;
  private final int seqLen;
  private final int[] inputIds; // [rows, seqLen]
  private final int[] positionIds; // [rows, seqLen]
  private final int[] segmentIds; // [rows, seqLen]
  private final int[] targets; // [rows, seqLen]
  private final float[] weights; // [rows, seqLen]
  private final int[] exampleIds; // [rows, seqLen]

  /** Takes ownership of the arrays (the collator hands over arrays it no longer touches). */
  Batch(
      int rows,
      int seqLen,
      int[] inputIds,
      int[] positionIds,
      int[] segmentIds,
      int[] targets,
      float[] weights,
      int[] exampleIds) {
    checkArgument(
        rows > 0 && seqLen > 0, "rows and seqLen must be > 0 but were %s, %s", rows, seqLen);
    int cells = rows * seqLen;
    checkArgument(
        inputIds.length == cells
            && positionIds.length == cells
            && segmentIds.length == cells
            && targets.length == cells
            && weights.length == cells
            && exampleIds.length == cells,
        "every array must hold rows * seqLen = %s cells",
        cells);
    this.rows = rows;
    this.seqLen = seqLen;
    this.inputIds = inputIds;
    this.positionIds = positionIds;
    this.segmentIds = segmentIds;
    this.targets = targets;
    this.weights = weights;
    this.exampleIds = exampleIds;
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

  /** Copy of the input ids, {@code [rows, seqLen]}. */
  public int[] inputIds() {
    return inputIds.clone();
  }

  /** Copy of the position ids, {@code [rows, seqLen]}. */
  public int[] positionIds() {
    return positionIds.clone();
  }

  /** Copy of the segment ids (0 = padding), {@code [rows, seqLen]}. */
  public int[] segmentIds() {
    return segmentIds.clone();
  }

  /** Copy of the shifted targets ({@link #IGNORE} where none), {@code [rows, seqLen]}. */
  public int[] targets() {
    return targets.clone();
  }

  /** Copy of the target weights, {@code [rows, seqLen]}. */
  public float[] weights() {
    return weights.clone();
  }

  /** Copy of the source example indices (-1 = padding), {@code [rows, seqLen]}. */
  public int[] exampleIds() {
    return exampleIds.clone();
  }

  /** Input id at flat index {@code i = row * seqLen + t}. */
  public int inputIdAt(int i) {
    return inputIds[i];
  }

  /** Position id at flat index {@code i}. */
  public int positionIdAt(int i) {
    return positionIds[i];
  }

  /** Segment id at flat index {@code i}. */
  public int segmentIdAt(int i) {
    return segmentIds[i];
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
    return exampleIds[i];
  }

  /** Input ids as a new direct buffer in native order, {@code [rows, seqLen]}. */
  public IntBuffer inputIdsBuffer() {
    return directInts(inputIds);
  }

  /** Position ids as a new direct buffer in native order, {@code [rows, seqLen]}. */
  public IntBuffer positionIdsBuffer() {
    return directInts(positionIds);
  }

  /** Segment ids as a new direct buffer in native order, {@code [rows, seqLen]}. */
  public IntBuffer segmentIdsBuffer() {
    return directInts(segmentIds);
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
    return directInts(exampleIds);
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
