package dev.im4j.core.tokenizer;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

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
 * <p>Arrays are copied in; use the indexed accessors in hot loops.
 *
 * @param ids token ids, {@code [n]}
 * @param starts first character of each token, {@code [n]}
 * @param ends one past the last character of each token, {@code [n]}
 */
public record Encoding(int[] ids, int[] starts, int[] ends) {
  public Encoding {
    checkNotNull(ids, "ids");
    checkNotNull(starts, "starts");
    checkNotNull(ends, "ends");
    checkArgument(
        ids.length == starts.length && ids.length == ends.length,
        "ids, starts and ends must have one length but had %s, %s, %s",
        ids.length,
        starts.length,
        ends.length);
    for (int i = 0; i < ids.length; i++) {
      if (starts[i] < 0 || ends[i] < starts[i]) {
        throw new IllegalArgumentException(
            "token " + i + " has an invalid range [" + starts[i] + ", " + ends[i] + ")");
      }
    }
    ids = ids.clone();
    starts = starts.clone();
    ends = ends.clone();
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

  @Override
  public int[] ids() {
    return ids.clone();
  }

  @Override
  public int[] starts() {
    return starts.clone();
  }

  @Override
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
