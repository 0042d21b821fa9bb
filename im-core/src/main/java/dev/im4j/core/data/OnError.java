package dev.im4j.core.data;

/** What a {@link DatasetReader} does with a line that is not a valid example. */
public enum OnError {
  /** Throw a {@link DatasetException} naming the file, line and field at the first bad line. */
  FAIL_FAST,

  /**
   * Skip each bad line and record it (line number, field, reason) in the {@link ReadReport}; every
   * skipped line is listed, none is dropped silently. I/O failures still throw.
   */
  SKIP_AND_REPORT
}
