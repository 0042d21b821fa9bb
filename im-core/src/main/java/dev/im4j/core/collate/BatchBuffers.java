package dev.im4j.core.collate;

/**
 * A training loop's input arrays, reused from batch to batch: {@link Batch#writeTo(BatchBuffers)}
 * writes a batch's input ids, position ids, segment ids, targets and weights into them in one pass
 * over its segments, growing them when a batch has more cells than any before.
 *
 * <p>Each array is at least {@link #cells()} long; cell {@code i < cells()} holds what {@link
 * Batch} documents for the last batch written, and cells beyond are left from earlier batches. The
 * accessors return the arrays themselves, not copies, so they are valid until the next write.
 *
 * <p>Not thread-safe: one per training loop.
 */
public final class BatchBuffers {
  private int[] inputIds = new int[0];
  private int[] positionIds = new int[0];
  private int[] segmentIds = new int[0];
  private int[] targets = new int[0];
  private float[] weights = new float[0];
  private int cells;

  /** Empty buffers; the first write sizes them. */
  public BatchBuffers() {}

  /** Number of cells ({@code rows * seqLen}) of the last batch written; 0 before any. */
  public int cells() {
    return cells;
  }

  /** The input ids of the last batch written, in {@code [0, cells())}. */
  public int[] inputIds() {
    return inputIds;
  }

  /** The position ids of the last batch written, in {@code [0, cells())}. */
  public int[] positionIds() {
    return positionIds;
  }

  /** The segment ids of the last batch written, in {@code [0, cells())}. */
  public int[] segmentIds() {
    return segmentIds;
  }

  /** The shifted targets of the last batch written, in {@code [0, cells())}. */
  public int[] targets() {
    return targets;
  }

  /** The target weights of the last batch written, in {@code [0, cells())}. */
  public float[] weights() {
    return weights;
  }

  /** Makes room for {@code n} cells (keeping no contents) and records it as the cell count. */
  void resize(int n) {
    if (n > inputIds.length) {
      inputIds = new int[n];
      positionIds = new int[n];
      segmentIds = new int[n];
      targets = new int[n];
      weights = new float[n];
    }
    cells = n;
  }
}
