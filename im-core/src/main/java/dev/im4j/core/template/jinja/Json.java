package dev.im4j.core.template.jinja;

import dev.im4j.core.template.TemplateException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The {@code tojson} filter with Hugging Face's semantics: Python's {@code json.dumps(x,
 * ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)}, not Jinja's
 * HTML-escaping filter.
 *
 * <p>Provenance: characters copied from a string keep their origin; quotes, escapes, punctuation,
 * numbers and keywords are template text. An escaped content character (such as a newline written
 * as {@code \n}) becomes template text, because its characters are not the content's characters.
 */
final class Json {
  private final PString.Builder out = new PString.Builder();
  private final String indent; // null: single line
  private final String itemSeparator;
  private final String keySeparator;
  private final boolean ensureAscii;
  private final boolean sortKeys;

  private Json(
      String indent, String itemSeparator, String keySeparator, boolean ensureAscii, boolean sort) {
    this.indent = indent;
    this.itemSeparator = itemSeparator;
    this.keySeparator = keySeparator;
    this.ensureAscii = ensureAscii;
    this.sortKeys = sort;
  }

  /**
   * Serializes {@code value}.
   *
   * @param indentArg None, an int (spaces per level) or a string (used per level)
   * @param separators None or a 2-item list of strings (item separator, key separator)
   */
  static PString dumps(
      Object value, Object indentArg, Object separators, boolean ensureAscii, boolean sortKeys) {
    String indent;
    if (indentArg == Values.NONE || indentArg instanceof Values.Undefined) {
      indent = null;
    } else if (indentArg instanceof Long n) {
      indent = " ".repeat((int) Math.max(0, Math.min(n, 100)));
    } else if (indentArg instanceof PString s) {
      indent = s.text();
    } else {
      throw new TemplateException(
          "tojson: indent must be an int or a string but was " + Values.typeName(indentArg));
    }
    String item = indent == null ? ", " : ",";
    String key = ": ";
    if (separators instanceof List<?> l
        && l.size() == 2
        && l.get(0) instanceof PString a
        && l.get(1) instanceof PString b) {
      item = a.text();
      key = b.text();
    } else if (separators != Values.NONE && !(separators instanceof Values.Undefined)) {
      throw new TemplateException("tojson: separators must be a pair of strings");
    }
    Json json = new Json(indent, item, key, ensureAscii, sortKeys);
    json.write(value, 0);
    return json.out.build();
  }

  private void newline(int level) {
    if (indent != null) {
      out.appendTemplate('\n');
      for (int i = 0; i < level; i++) {
        out.appendTemplate(indent);
      }
    }
  }

  private void write(Object v, int level) {
    if (level > Limits.MAX_DEPTH) {
      throw new TemplateException(
          "tojson: value nested deeper than " + Limits.MAX_DEPTH + " levels (circular?)");
    }
    if (v instanceof PString s) {
      writeString(s);
    } else if (v == Values.NONE) {
      out.appendTemplate("null");
    } else if (v instanceof Boolean b) {
      out.appendTemplate(b ? "true" : "false");
    } else if (v instanceof Long l) {
      out.appendTemplate(Long.toString(l));
    } else if (v instanceof Double d) {
      out.appendTemplate(jsonFloat(d));
    } else if (v instanceof List<?> list) {
      if (list.isEmpty()) {
        out.appendTemplate("[]");
        return;
      }
      out.appendTemplate('[');
      for (int i = 0; i < list.size(); i++) {
        if (i > 0) {
          out.appendTemplate(itemSeparator);
        }
        newline(level + 1);
        write(list.get(i), level + 1);
      }
      newline(level);
      out.appendTemplate(']');
    } else if (v instanceof Map<?, ?> map) {
      if (map.isEmpty()) {
        out.appendTemplate("{}");
        return;
      }
      List<Map.Entry<?, ?>> entries = new ArrayList<>(map.entrySet());
      if (sortKeys) {
        entries.sort((x, y) -> Values.compare(x.getKey(), y.getKey(), "<"));
      }
      out.appendTemplate('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : entries) {
        if (!first) {
          out.appendTemplate(itemSeparator);
        }
        first = false;
        newline(level + 1);
        writeKey(e.getKey());
        out.appendTemplate(keySeparator);
        write(e.getValue(), level + 1);
      }
      newline(level);
      out.appendTemplate('}');
    } else {
      throw new TemplateException(
          "tojson: Object of type " + Values.typeName(v) + " is not JSON serializable");
    }
  }

  private void writeKey(Object key) {
    if (key instanceof PString s) {
      writeString(s);
    } else if (key == Values.NONE) {
      out.appendTemplate("\"null\"");
    } else if (key instanceof Boolean b) {
      out.appendTemplate(b ? "\"true\"" : "\"false\"");
    } else if (key instanceof Long l) {
      out.appendTemplate("\"" + l + "\"");
    } else if (key instanceof Double d) {
      out.appendTemplate("\"" + jsonFloat(d) + "\"");
    } else {
      throw new TemplateException(
          "tojson: keys must be str, int, float, bool or None, not " + Values.typeName(key));
    }
  }

  private static String jsonFloat(double d) {
    if (Double.isNaN(d)) {
      return "NaN";
    }
    if (Double.isInfinite(d)) {
      return d > 0 ? "Infinity" : "-Infinity";
    }
    return Values.formatFloat(d);
  }

  private void writeString(PString s) {
    out.appendTemplate('"');
    if (s.isEmpty()) {
      out.append(s); // keeps an empty content's anchor
    }
    int runStart = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      String escape =
          switch (c) {
            case '"' -> "\\\"";
            case '\\' -> "\\\\";
            case '\n' -> "\\n";
            case '\r' -> "\\r";
            case '\t' -> "\\t";
            case '\b' -> "\\b";
            case '\f' -> "\\f";
            default ->
                c < 0x20 || (ensureAscii && c > 0x7f) ? String.format("\\u%04x", (int) c) : null;
          };
      if (escape != null) {
        out.appendChars(s, runStart, i);
        out.appendTemplate(escape);
        runStart = i + 1;
      }
    }
    out.appendChars(s, runStart, s.length());
    out.appendTemplate('"');
  }
}
