package dev.im4j.core.data;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

/**
 * One example read from a dataset, with where it came from.
 *
 * @param source display name of the file or stream (for a file, its path as given)
 * @param line 1-based line number of the example in {@code source}
 * @param example the example: a {@link Conversation} or a {@link PlainText}
 */
public record DatasetRecord(String source, long line, Example example) {
  public DatasetRecord {
    checkNotNull(source, "source");
    checkArgument(line >= 1, "line numbers are 1-based but line was %s", line);
    checkNotNull(example, "example");
  }

  /**
   * An error about this example found after reading (a template or mask failure), located at its
   * source and line like every dataset error.
   */
  public DatasetException error(String reason, Throwable cause) {
    return new DatasetException(source, line, "", reason, cause);
  }
}
