package dev.im4j.core.data;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import java.util.List;

/**
 * What a {@link DatasetReader} did with a source: every line is either an example, a blank line or
 * a skipped line, and each skipped line is listed with its reason.
 *
 * <p>A report taken before the reader is exhausted covers the lines read so far.
 *
 * @param source display name of the file or stream
 * @param format the format the lines were read as; for {@link DatasetFormat#AUTO} the detected
 *     format, or {@code AUTO} if no valid line was found to detect it from
 * @param linesRead lines consumed: {@code examples + blankLines + skipped.size()}
 * @param examples lines that became a {@link DatasetRecord}
 * @param blankLines lines that are empty or hold only spaces and tabs; they are not data and are
 *     skipped in both modes, but counted here
 * @param emptyContents messages with empty content among the examples, plus empty plain-text rows
 *     (valid, but worth knowing: an empty assistant message trains nothing but its end-of-turn
 *     tokens, an empty text only its end-of-sequence token)
 * @param skipped every line skipped in {@link OnError#SKIP_AND_REPORT} mode, in line order
 */
public record ReadReport(
    String source,
    DatasetFormat format,
    long linesRead,
    long examples,
    long blankLines,
    long emptyContents,
    List<SkippedLine> skipped) {

  public ReadReport {
    checkNotNull(source, "source");
    checkNotNull(format, "format");
    skipped = List.copyOf(skipped);
    checkArgument(
        examples >= 0 && blankLines >= 0 && emptyContents >= 0,
        "counts must be >= 0 but were examples=%s, blankLines=%s, emptyContents=%s",
        examples,
        blankLines,
        emptyContents);
    checkArgument(
        linesRead == examples + blankLines + skipped.size(),
        "linesRead (%s) must equal examples (%s) + blankLines (%s) + skipped (%s)",
        linesRead,
        examples,
        blankLines,
        skipped.size());
  }

  /** Number of skipped lines. */
  public int skippedCount() {
    return skipped.size();
  }

  /** One line a summary for logs: "data.jsonl: 10 lines, 8 examples, 1 blank, 1 skipped, ...". */
  public String summary() {
    return source
        + ": "
        + linesRead
        + " lines, "
        + examples
        + " examples, "
        + blankLines
        + " blank, "
        + skipped.size()
        + " skipped, "
        + emptyContents
        + " empty messages (format "
        + format.displayName()
        + ")";
  }

  /**
   * A line that was not a valid example.
   *
   * @param line its 1-based number
   * @param field path of the offending field such as {@code messages[2].role}, or {@code ""} when
   *     the problem is the whole line (malformed JSON, invalid UTF-8, ...)
   * @param reason what is wrong, with the actual value and what is allowed
   */
  public record SkippedLine(long line, String field, String reason) {
    public SkippedLine {
      checkArgument(line >= 1, "line numbers are 1-based but line was %s", line);
      checkNotNull(field, "field");
      checkNotNull(reason, "reason");
    }

    /** The full message, in the same form as {@link DatasetException#getMessage()}. */
    public String describe(String source) {
      return DatasetException.format(source, line, field, reason);
    }
  }
}
