package dev.im4j.core.template.jinja;

import dev.im4j.core.template.TemplateException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Python string operations on {@link PString}, each preserving provenance by construction: every
 * output character is copied from an input character (keeping its origin) or from an argument
 * string (keeping the argument's origin). Indices are Python indices (code points).
 */
final class Strings {
  private Strings() {}

  /** Python's {@code str.isspace} for one UTF-16 unit. */
  static boolean isSpace(char c) {
    return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u0085';
  }

  private static boolean inChars(char c, String chars) {
    return chars == null ? isSpace(c) : chars.indexOf(c) >= 0;
  }

  /** {@code strip}/{@code lstrip}/{@code rstrip}; {@code chars == null} strips whitespace. */
  static PString strip(PString s, String chars, boolean left, boolean right) {
    int start = 0;
    int end = s.length();
    if (left) {
      while (start < end && inChars(s.charAt(start), chars)) {
        start++;
      }
    }
    if (right) {
      while (end > start && inChars(s.charAt(end - 1), chars)) {
        end--;
      }
    }
    return start == end ? s.emptied() : s.substring(start, end);
  }

  /** {@code split(sep, maxsplit)}; {@code sep == null} splits on runs of whitespace. */
  static List<Object> split(PString s, String sep, long maxsplit) {
    List<Object> parts = new ArrayList<>();
    int n = s.length();
    if (sep == null) {
      int i = 0;
      long splits = 0;
      while (true) {
        while (i < n && isSpace(s.charAt(i))) {
          i++;
        }
        if (i >= n) {
          break;
        }
        if (maxsplit >= 0 && splits >= maxsplit) {
          int end = n;
          while (end > i && isSpace(s.charAt(end - 1))) {
            end--;
          }
          parts.add(s.substring(i, end));
          break;
        }
        int j = i;
        while (j < n && !isSpace(s.charAt(j))) {
          j++;
        }
        parts.add(s.substring(i, j));
        splits++;
        i = j;
      }
      return Values.list(parts);
    }
    checkSeparator(sep);
    int from = 0;
    long splits = 0;
    while (maxsplit < 0 || splits < maxsplit) {
      int at = s.text().indexOf(sep, from);
      if (at < 0) {
        break;
      }
      parts.add(s.substring(from, at));
      from = at + sep.length();
      splits++;
    }
    parts.add(s.substring(from, n));
    return Values.list(parts);
  }

  /** {@code rsplit(sep, maxsplit)}. */
  static List<Object> rsplit(PString s, String sep, long maxsplit) {
    if (maxsplit < 0) {
      return split(s, sep, maxsplit);
    }
    List<Object> parts = new ArrayList<>();
    int n = s.length();
    if (sep == null) {
      int j = n;
      long splits = 0;
      while (true) {
        while (j > 0 && isSpace(s.charAt(j - 1))) {
          j--;
        }
        if (j <= 0) {
          break;
        }
        if (splits >= maxsplit) {
          int start = 0;
          while (start < j && isSpace(s.charAt(start))) {
            start++;
          }
          parts.add(0, s.substring(start, j));
          break;
        }
        int i = j;
        while (i > 0 && !isSpace(s.charAt(i - 1))) {
          i--;
        }
        parts.add(0, s.substring(i, j));
        splits++;
        j = i;
      }
      return Values.list(parts);
    }
    checkSeparator(sep);
    int end = n;
    long splits = 0;
    while (splits < maxsplit) {
      int at = s.text().lastIndexOf(sep, end - sep.length());
      if (at < 0) {
        break;
      }
      parts.add(0, s.substring(at + sep.length(), end));
      end = at;
      splits++;
    }
    parts.add(0, s.substring(0, end));
    return Values.list(parts);
  }

  private static void checkSeparator(String sep) {
    if (sep.isEmpty()) {
      throw new TemplateException("split: empty separator");
    }
  }

  /**
   * {@code replace(old, new, count)}; replaced text takes the provenance of {@code replacement}.
   */
  static PString replace(PString s, PString old, PString replacement, long count) {
    String text = s.text();
    String o = old.text();
    if (count == 0 || (!o.isEmpty() && !text.contains(o))) {
      return s;
    }
    PString.Builder b = new PString.Builder(text.length());
    long done = 0;
    if (o.isEmpty()) {
      int i = 0;
      while (i <= text.length()) {
        if (count < 0 || done < count) {
          b.append(replacement);
          done++;
        } else {
          b.append(s, i, text.length());
          break;
        }
        if (i == text.length()) {
          break;
        }
        int next = i + (Character.isHighSurrogate(text.charAt(i)) ? 2 : 1);
        next = Math.min(next, text.length());
        b.append(s, i, next);
        i = next;
      }
      return b.build();
    }
    int from = 0;
    while (count < 0 || done < count) {
      int at = text.indexOf(o, from);
      if (at < 0) {
        break;
      }
      b.append(s, from, at);
      b.append(replacement);
      from = at + o.length();
      done++;
    }
    b.append(s, from, text.length());
    return b.build();
  }

  /** Maps each code point through {@code f}; output characters keep the source's provenance. */
  private static PString mapCodePoints(PString s, CaseMapper f) {
    PString.Builder b = new PString.Builder(s.length());
    boolean previousCased = false;
    int i = 0;
    int index = 0;
    while (i < s.length()) {
      int cp = s.text().codePointAt(i);
      int n = Character.charCount(cp);
      String mapped = f.map(cp, index, previousCased);
      b.append(mapped, s.provenance(i));
      previousCased = Character.isLetter(cp);
      i += n;
      index++;
    }
    if (s.isEmpty()) {
      return s;
    }
    return b.build();
  }

  private interface CaseMapper {
    String map(int codePoint, int index, boolean previousCased);
  }

  static PString upper(PString s) {
    return mapCodePoints(
        s, (cp, i, prev) -> new String(Character.toChars(cp)).toUpperCase(Locale.ROOT));
  }

  static PString lower(PString s) {
    return mapCodePoints(
        s, (cp, i, prev) -> new String(Character.toChars(cp)).toLowerCase(Locale.ROOT));
  }

  /** Python {@code str.capitalize}: first character upper case, the rest lower case. */
  static PString capitalize(PString s) {
    return mapCodePoints(
        s,
        (cp, i, prev) -> {
          String c = new String(Character.toChars(cp));
          return i == 0 ? c.toUpperCase(Locale.ROOT) : c.toLowerCase(Locale.ROOT);
        });
  }

  /** Python {@code str.title}: upper case after a non-letter, lower case after a letter. */
  static PString title(PString s) {
    return mapCodePoints(
        s,
        (cp, i, prev) -> {
          String c = new String(Character.toChars(cp));
          return prev ? c.toLowerCase(Locale.ROOT) : c.toUpperCase(Locale.ROOT);
        });
  }

  /** Offsets (UTF-16) of each code point, plus the length at the end. */
  private static int[] codePointOffsets(String text) {
    int n = text.codePointCount(0, text.length());
    int[] offsets = new int[n + 1];
    int i = 0;
    for (int k = 0; k < n; k++) {
      offsets[k] = i;
      i += Character.charCount(text.codePointAt(i));
    }
    offsets[n] = text.length();
    return offsets;
  }

  private static boolean hasSurrogates(String text) {
    for (int i = 0; i < text.length(); i++) {
      if (Character.isSurrogate(text.charAt(i))) {
        return true;
      }
    }
    return false;
  }

  /** {@code s[index]} as Python does it, or null when out of range. */
  static PString charAt(PString s, long index) {
    int[] off = hasSurrogates(s.text()) ? codePointOffsets(s.text()) : null;
    int n = off == null ? s.length() : off.length - 1;
    long i = index < 0 ? index + n : index;
    if (i < 0 || i >= n) {
      return null;
    }
    int a = off == null ? (int) i : off[(int) i];
    int b = off == null ? (int) i + 1 : off[(int) i + 1];
    return s.substring(a, b);
  }

  /** {@code s[start:stop:step]} with Python's rules; null bounds are omitted bounds. */
  static PString slice(PString s, Long start, Long stop, Long step) {
    int[] off = hasSurrogates(s.text()) ? codePointOffsets(s.text()) : null;
    int n = off == null ? s.length() : off.length - 1;
    long[] r = sliceIndices(n, start, stop, step);
    long a = r[0];
    long b = r[1];
    long st = r[2];
    if (st == 1) {
      int from = off == null ? (int) a : off[(int) a];
      int to = off == null ? (int) Math.max(a, b) : off[(int) Math.max(a, b)];
      return s.substring(from, to);
    }
    PString.Builder builder = new PString.Builder();
    int count = 0;
    for (long i = a; st > 0 ? i < b : i > b; i += st) {
      int from = off == null ? (int) i : off[(int) i];
      int to = off == null ? (int) i + 1 : off[(int) i + 1];
      builder.appendChars(s, from, to);
      count++;
    }
    if (count == 0) {
      int k = (int) Math.max(0, Math.min(a, n));
      int at = off == null ? k : off[k];
      return s.substring(at, at);
    }
    return builder.build();
  }

  /** Python's {@code slice.indices(n)}: normalized {start, stop, step}. */
  static long[] sliceIndices(int n, Long start, Long stop, Long step) {
    long st = step == null ? 1 : step;
    if (st == 0) {
      throw new TemplateException("slice step cannot be zero");
    }
    long a;
    long b;
    if (st > 0) {
      a = start == null ? 0 : clamp(start < 0 ? start + n : start, 0, n);
      b = stop == null ? n : clamp(stop < 0 ? stop + n : stop, 0, n);
    } else {
      a = start == null ? n - 1 : clamp(start < 0 ? start + n : start, -1, n - 1);
      b = stop == null ? -1 : clamp(stop < 0 ? stop + n : stop, -1, n - 1);
    }
    return new long[] {a, b, st};
  }

  private static long clamp(long v, long lo, long hi) {
    return Math.max(lo, Math.min(hi, v));
  }

  /** Python {@code sep.join(items)}; each item must already be a string. */
  static PString join(PString sep, List<Object> items) {
    PString.Builder b = new PString.Builder();
    for (int i = 0; i < items.size(); i++) {
      if (i > 0) {
        b.append(sep);
      }
      b.append(Values.str(items.get(i)));
    }
    return b.build();
  }

  /** Python {@code str.format} with {@code {}}, {@code {0}} and {@code {name}} fields only. */
  static PString format(PString s, List<Object> args, java.util.Map<String, Object> kwargs) {
    String t = s.text();
    PString.Builder b = new PString.Builder(t.length());
    int auto = 0;
    int i = 0;
    while (i < t.length()) {
      char c = t.charAt(i);
      if (c == '{' && i + 1 < t.length() && t.charAt(i + 1) == '{') {
        b.appendChars(s, i, i + 1);
        i += 2;
      } else if (c == '}' && i + 1 < t.length() && t.charAt(i + 1) == '}') {
        b.appendChars(s, i, i + 1);
        i += 2;
      } else if (c == '{') {
        int close = t.indexOf('}', i);
        if (close < 0) {
          throw new TemplateException("format: single '{' encountered in format string");
        }
        String field = t.substring(i + 1, close);
        if (field.contains(":") || field.contains("!")) {
          throw new TemplateException("format: format specs are not supported: {" + field + "}");
        }
        Object value;
        if (field.isEmpty()) {
          value = auto < args.size() ? args.get(auto++) : null;
        } else if (field.chars().allMatch(Character::isDigit)) {
          int k = Integer.parseInt(field);
          value = k < args.size() ? args.get(k) : null;
        } else {
          value = kwargs.get(field);
        }
        if (value == null) {
          throw new TemplateException("format: no argument for field {" + field + "}");
        }
        b.append(Values.str(value));
        i = close + 1;
      } else {
        b.appendChars(s, i, i + 1);
        i++;
      }
    }
    return b.build();
  }
}
