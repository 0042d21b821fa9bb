package dev.im4j.core.template;

/**
 * Python's notion of whitespace, which chat templates rely on through {@code str.strip()}; it
 * differs from Java's {@link Character#isWhitespace} (Python strips U+00A0 and U+0085, for one).
 */
public final class PythonText {
  private PythonText() {}

  /** True if Python's {@code str.isspace()} holds for the character {@code c}. */
  public static boolean isSpace(char c) {
    return switch (c) {
      case '\t', '\n', '\u000B', '\u000C', '\r', '\u001C', '\u001D', '\u001E', '\u001F', ' ' ->
          true;
      case '\u0085', '\u00A0', '\u1680', '\u2028', '\u2029', '\u202F', '\u205F', '\u3000' -> true;
      default -> c >= '\u2000' && c <= '\u200A';
    };
  }

  /** Index of the first non-space character of {@code s} at or after {@code from}. */
  public static int skipSpace(CharSequence s, int from) {
    int i = from;
    while (i < s.length() && isSpace(s.charAt(i))) {
      i++;
    }
    return i;
  }

  /** One past the last non-space character of {@code s} before {@code to}. */
  public static int skipSpaceBackwards(CharSequence s, int to) {
    int i = to;
    while (i > 0 && isSpace(s.charAt(i - 1))) {
      i--;
    }
    return i;
  }

  /** Python's {@code s.strip()}. */
  public static String strip(String s) {
    int start = skipSpace(s, 0);
    int end = skipSpaceBackwards(s, s.length());
    return start >= end ? "" : s.substring(start, end);
  }
}
