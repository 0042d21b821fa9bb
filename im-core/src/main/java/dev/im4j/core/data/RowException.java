package dev.im4j.core.data;

/**
 * A line is not a valid example: which field and why. Internal control flow between the line
 * decoders and {@link DatasetReader}, which adds the source and line number; carries no stack trace
 * because it is always converted, never propagated.
 */
final class RowException extends Exception {
  private static final long serialVersionUID = 1L;

  private final String field;
  private final String reason;

  /**
   * @param field path of the offending field, or {@code ""} when the whole line is at fault
   * @param reason what is wrong, with the actual value and what is allowed
   */
  RowException(String field, String reason) {
    super(reason, null, false, false);
    this.field = field;
    this.reason = reason;
  }

  String field() {
    return field;
  }

  String reason() {
    return reason;
  }
}
