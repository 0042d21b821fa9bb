package dev.im4j.core.internal;

import java.util.Arrays;

/**
 * Not API. {@code Arrays.fill}, but runs of the values a batch is mostly made of (0 and 1; for ints
 * also -100, {@code Batch.IGNORE}, the target of padding) are copied from shared constant arrays:
 * for the short and middling runs of weight columns, segment ids and padding the array-copy stub
 * costs less than the fill loop. Runs longer than {@link #CONSTANT_RUN} are filled.
 */
public final class Fill {
  /** The longest run copied from a constant array. */
  static final int CONSTANT_RUN = 4096;

  /**
   * The target written where nothing is predicted; defined here, below {@code collate}, so that
   * {@code Batch.IGNORE} (which is this constant) and the runs copied here cannot differ.
   */
  public static final int IGNORE = -100;

  private static final int[] ZEROS = new int[CONSTANT_RUN];
  private static final int[] ONES = new int[CONSTANT_RUN];
  private static final int[] IGNORES = new int[CONSTANT_RUN];
  private static final float[] FLOAT_ZEROS = new float[CONSTANT_RUN];
  private static final float[] FLOAT_ONES = new float[CONSTANT_RUN];

  static {
    Arrays.fill(ONES, 1);
    Arrays.fill(IGNORES, IGNORE);
    Arrays.fill(FLOAT_ONES, 1f);
  }

  private Fill() {}

  /** Writes {@code value} into {@code dest[from, to)}. */
  public static void fill(int[] dest, int from, int to, int value) {
    int[] source = value == 0 ? ZEROS : value == 1 ? ONES : value == IGNORE ? IGNORES : null;
    if (source != null && to - from <= CONSTANT_RUN) {
      System.arraycopy(source, 0, dest, from, to - from);
    } else {
      Arrays.fill(dest, from, to, value);
    }
  }

  /** Writes {@code value} into {@code dest[from, to)}. */
  public static void fill(float[] dest, int from, int to, float value) {
    float[] source = value == 0f ? FLOAT_ZEROS : value == 1f ? FLOAT_ONES : null;
    if (source != null && to - from <= CONSTANT_RUN) {
      System.arraycopy(source, 0, dest, from, to - from);
    } else {
      Arrays.fill(dest, from, to, value);
    }
  }
}
