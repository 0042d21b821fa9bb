package dev.im4j.core.data;

import static com.google.common.base.Preconditions.checkArgument;

/**
 * Bounds a {@link DatasetReader} enforces on every line before any example reaches a template or a
 * tokenizer. A line beyond a bound is an invalid line: thrown in {@link OnError#FAIL_FAST} mode,
 * skipped and listed in {@link OnError#SKIP_AND_REPORT} mode.
 *
 * <p>{@link #DEFAULT} holds the defaults; {@code new ReadLimits(n)} changes them.
 *
 * @param maxExampleChars the most characters (UTF-16 code units, as {@link String#length()} counts
 *     them; a character outside the Basic Multilingual Plane counts 2) an example may hold, summed
 *     over its content fields: {@code instruction}, {@code input}, {@code output} and {@code
 *     system} of an Alpaca row, the {@code content} or {@code value} of every turn otherwise (role
 *     names and ignored fields do not count); {@code >= 1}. Default {@link
 *     #DEFAULT_MAX_EXAMPLE_CHARS}; on the command line {@code --max-example-chars}
 */
public record ReadLimits(int maxExampleChars) {
  /**
   * Default bound on the content characters of one example: 1,000,000.
   *
   * <p>Why this value: it is far above any legitimate example for the models this library trains
   * (about 250,000 tokens of English at about 4 characters per token, beyond the context window of
   * the models the paper uses and of most others), so no real data is rejected, while it keeps one
   * malformed or hostile row from reaching the native Hugging Face tokenizer, which aborts the
   * whole JVM (a Rust panic, not an exception) when the Java heap runs out while it returns an
   * encoding: a 10 MB row does so with a 256 MB heap. Tokenizing costs about 150 bytes of Java heap
   * per token while the encoding is returned (measured with DJL 0.38 and the Llama-2 tokenizer: 1.6
   * million tokens fit in a 256 MB heap, 2 million do not), and ordinary text has at most about one
   * token per character, so an example at this bound needs at most about 150 MB and a second or
   * two. Text that the vocabulary lacks can fall back to up to 3 byte tokens per character; on a
   * small heap, lower the bound.
   */
  public static final int DEFAULT_MAX_EXAMPLE_CHARS = 1_000_000;

  /** The default limits: {@link #DEFAULT_MAX_EXAMPLE_CHARS}. */
  public static final ReadLimits DEFAULT = new ReadLimits(DEFAULT_MAX_EXAMPLE_CHARS);

  /**
   * @throws IllegalArgumentException if {@code maxExampleChars < 1}
   */
  public ReadLimits {
    checkArgument(
        maxExampleChars >= 1,
        "maxExampleChars must be >= 1 but was %s; the default is %s characters per example",
        maxExampleChars,
        DEFAULT_MAX_EXAMPLE_CHARS);
  }
}
