package dev.im4j.core.template.jinja;

/**
 * Bounds that keep a hostile template from hanging or exhausting memory. Exceeding one throws
 * {@link dev.im4j.core.template.TemplateException} naming the limit.
 */
final class Limits {
  /** Longest string value or rendered output, in UTF-16 characters. */
  static final int MAX_STRING_CHARS = 10_000_000;

  /** Most loop iterations (summed over all loops) in one rendering. */
  static final int MAX_LOOP_ITERATIONS = 1_000_000;

  /** Deepest nesting of macro calls, and of values walked by {@code tojson} or {@code string}. */
  static final int MAX_DEPTH = 100;

  /** Deepest nesting of expressions and blocks accepted by the parser. */
  static final int MAX_PARSE_DEPTH = 200;

  /** Longest list that {@code range(...)} or repetition may create. */
  static final int MAX_RANGE = 100_000;

  private Limits() {}
}
