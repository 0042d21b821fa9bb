package dev.im4j.core.tokenizer;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import dev.im4j.core.internal.Shared;
import java.util.Arrays;

/**
 * Token ids of a text with the character range each token came from.
 *
 * <p>Offsets are UTF-16 indexes into the encoded {@link String} (Java's {@code char} positions), so
 * {@code text.substring(start(i), end(i))} is the text of token {@code i}. A token that was not
 * produced from the text (a BOS added by the tokenizer's post-processor) has {@code start == end}.
 * Ranges of consecutive tokens may overlap when one character is split across several byte-level
 * tokens.
 *
 * <p>The ranges are validated once, here, and whether they are {@linkplain #isOrdered() ordered} is
 * recorded, so that consumers can find runs of tokens by binary search instead of visiting each.
 *
 * <p>Arrays are copied in and out; use the indexed accessors in hot loops. Immutable. (Within
 * im-core, a masked example shares the ids array instead of copying it; neither ever writes it.)
 */
public final class Encoding {
  static {
    Shared.lend(Encoding.class, encoding -> encoding.ids);
  }

  private final int[] ids;
  private final int[] starts;
  private final int[] ends;
  private final boolean ordered;

  /**
   * Validates and copies the arrays.
   *
   * @param ids token ids, {@code [n]}
   * @param starts first character of each token, {@code [n]}
   * @param ends one past the last character of each token, {@code [n]}
   * @throws IllegalArgumentException if the lengths differ or a range is invalid
   */
  public Encoding(int[] ids, int[] starts, int[] ends) {
    this(
        new int[][] {
          checkNotNull(ids, "ids").clone(),
          checkNotNull(starts, "starts").clone(),
          checkNotNull(ends, "ends").clone()
        });
  }

  /** Validates and takes ownership of {@code columns}: ids, starts, ends. */
  private Encoding(int[][] columns) {
    int[] ids = checkNotNull(columns[0], "ids");
    int[] starts = checkNotNull(columns[1], "starts");
    int[] ends = checkNotNull(columns[2], "ends");
    checkArgument(
        ids.length == starts.length && ids.length == ends.length,
        "ids, starts and ends must have one length but had %s, %s, %s",
        ids.length,
        starts.length,
        ends.length);
    boolean ordered = true;
    for (int i = 0; i < ids.length; i++) {
      if (starts[i] < 0 || ends[i] < starts[i]) {
        throw new IllegalArgumentException(
            "token " + i + " has an invalid range [" + starts[i] + ", " + ends[i] + ")");
      }
      if (i > 0 && (starts[i] < starts[i - 1] || ends[i] < ends[i - 1] || starts[i] == ends[i])) {
        ordered = false;
      }
    }
    this.ids = ids;
    this.starts = starts;
    this.ends = ends;
    this.ordered = ordered;
  }

  /**
   * Validates and takes ownership of arrays that a tokenizer of this package has just filled and
   * will not touch again, without copying them.
   */
  static Encoding adopt(int[] ids, int[] starts, int[] ends) {
    return new Encoding(new int[][] {ids, starts, ends});
  }

  /** Number of tokens. */
  public int length() {
    return ids.length;
  }

  public int id(int i) {
    return ids[i];
  }

  public int start(int i) {
    return starts[i];
  }

  public int end(int i) {
    return ends[i];
  }

  /**
   * Whether starts and ends never decrease and every token after the first has at least one
   * character (only a leading added token, such as BOS, may be empty). This holds for ordinary
   * tokenizations; then the tokens lying inside a character range are one run whose ends can be
   * found by binary search.
   */
  public boolean isOrdered() {
    return ordered;
  }

  /** Token ids, a copy. */
  public int[] ids() {
    return ids.clone();
  }

  /** Token starts, a copy. */
  public int[] starts() {
    return starts.clone();
  }

  /** Token ends, a copy. */
  public int[] ends() {
    return ends.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Encoding e
        && Arrays.equals(ids, e.ids)
        && Arrays.equals(starts, e.starts)
        && Arrays.equals(ends, e.ends);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(ids);
  }

  @Override
  public String toString() {
    return "Encoding" + Arrays.toString(ids);
  }
}
