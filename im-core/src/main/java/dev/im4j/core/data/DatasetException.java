package dev.im4j.core.data;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import java.util.Optional;

/**
 * A dataset could not be read: a bad line (in {@link OnError#FAIL_FAST} mode) or an I/O failure.
 *
 * <p>The message has the form {@code data.jsonl:17: field "messages[2].role": unknown role "bot";
 * allowed: system, user, assistant}; the parts are also available separately. Unchecked, because it
 * is thrown from {@link java.util.Iterator} and {@link java.util.stream.Stream} methods.
 */
public final class DatasetException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String source;
  private final long line;
  private final String field;
  private final String reason;

  DatasetException(String source, long line, String field, String reason, Throwable cause) {
    super(format(source, line, field, reason), cause);
    checkArgument(line >= 0, "line must be >= 0 but was %s", line);
    this.source = checkNotNull(source, "source");
    this.field = checkNotNull(field, "field");
    this.reason = checkNotNull(reason, "reason");
    this.line = line;
  }

  /** Display name of the file or stream being read. */
  public String source() {
    return source;
  }

  /** 1-based number of the offending line, or 0 if the failure concerns no line (open failed). */
  public long line() {
    return line;
  }

  /**
   * Path of the offending field inside the line's JSON object, such as {@code messages[2].role};
   * empty when the problem is the whole line (malformed JSON, invalid UTF-8, I/O).
   */
  public Optional<String> field() {
    return field.isEmpty() ? Optional.empty() : Optional.of(field);
  }

  /** What is wrong, without the location prefix. */
  public String reason() {
    return reason;
  }

  /** Formats a location and reason the way every dataset error is shown. */
  static String format(String source, long line, String field, String reason) {
    StringBuilder out = new StringBuilder(source);
    if (line > 0) {
      out.append(':').append(line);
    }
    out.append(": ");
    if (!field.isEmpty()) {
      out.append("field \"").append(field).append("\": ");
    }
    return out.append(reason).toString();
  }
}
