package dev.im4j.core.internal;

import static com.google.common.base.Preconditions.checkState;

import dev.im4j.core.tokenizer.Encoding;

/**
 * Not API: no compatibility is promised, and a module descriptor will not export this package.
 *
 * <p>Lets im-core's packages share the arrays of immutable objects instead of copying them. A class
 * that lends an array registers its accessor from its own static initializer, which runs before any
 * instance exists; whoever reads through an accessor must never write the array.
 *
 * <p>Today one array is lent: an {@link Encoding}'s token ids, which a {@code TokenizedExample}
 * keeps as its own (both are immutable), so masking does not copy every token (mask + collate about
 * 1.1 times as fast, docs/benchmarks.md).
 */
public final class Shared {
  /** Reads an encoding's token ids without copying. */
  public interface EncodingIds {
    int[] of(Encoding encoding);
  }

  private static volatile EncodingIds encodingIds;

  private Shared() {}

  /**
   * Registers the accessor of encodings' ids; called once, by {@link Encoding}.
   *
   * @throws IllegalStateException if one is registered already
   */
  public static synchronized void lendEncodingIds(EncodingIds access) {
    checkState(encodingIds == null, "the accessor of encoding ids is registered already");
    encodingIds = access;
  }

  /** The token ids array of {@code encoding} itself, not a copy: never write it. */
  public static int[] encodingIds(Encoding encoding) {
    return encodingIds.of(encoding); // registered: Encoding is initialized, as it has an instance
  }
}
