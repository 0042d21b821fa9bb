package dev.im4j.core.template.jinja;

import dev.im4j.core.template.TemplateException;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Run-time values and their Python semantics.
 *
 * <p>The interpreter only ever sees these types: {@link Undefined}, {@link #NONE}, {@link Boolean},
 * {@link Long}, {@link Double}, {@link PString}, unmodifiable {@link List} (lists and tuples),
 * unmodifiable {@link Map} with insertion order (dicts), {@link Namespace} and {@link Callable}. No
 * other Java object is reachable from a template.
 */
final class Values {
  /** Python's None. */
  static final Object NONE = NoneValue.INSTANCE;

  private Values() {}

  enum NoneValue {
    INSTANCE;

    @Override
    public String toString() {
      return "None";
    }
  }

  /** An undefined variable or missing attribute; remembers what was looked up for messages. */
  record Undefined(String hint) {
    TemplateException error(String operation) {
      return new TemplateException("'" + hint + "' is undefined (" + operation + ")");
    }
  }

  /** A mutable attribute bag made by {@code namespace(...)}; the only mutable value. */
  static final class Namespace {
    final Map<String, Object> attributes = new LinkedHashMap<>();
  }

  /** An immutable tuple; behaves as a list but prints as {@code (a, b)}. */
  static final class Tuple extends java.util.AbstractList<Object>
      implements java.util.RandomAccess {
    private final List<Object> items;

    Tuple(List<Object> items) {
      this.items = List.copyOf(items);
    }

    static Tuple of(Object a, Object b) {
      return new Tuple(List.of(a, b));
    }

    @Override
    public Object get(int index) {
      return items.get(index);
    }

    @Override
    public int size() {
      return items.size();
    }
  }

  /** Something a template can call: a macro, global function or bound method. */
  interface Callable {
    Object call(List<Object> args, Map<String, Object> kwargs);
  }

  static boolean isUndefined(Object v) {
    return v instanceof Undefined;
  }

  static boolean isNumber(Object v) {
    return v instanceof Long || v instanceof Double || v instanceof Boolean;
  }

  /** Python truthiness. */
  static boolean truthy(Object v) {
    if (v instanceof Boolean b) {
      return b;
    }
    if (v instanceof PString s) {
      return !s.isEmpty();
    }
    if (v instanceof Long l) {
      return l != 0;
    }
    if (v instanceof Double d) {
      return d != 0.0;
    }
    if (v instanceof List<?> l) {
      return !l.isEmpty();
    }
    if (v instanceof Map<?, ?> m) {
      return !m.isEmpty();
    }
    return !(v == NONE || v instanceof Undefined);
  }

  /** Python type name for messages. */
  static String typeName(Object v) {
    if (v instanceof Undefined) {
      return "undefined";
    }
    if (v == NONE) {
      return "NoneType";
    }
    if (v instanceof Boolean) {
      return "bool";
    }
    if (v instanceof Long) {
      return "int";
    }
    if (v instanceof Double) {
      return "float";
    }
    if (v instanceof PString) {
      return "str";
    }
    if (v instanceof Tuple) {
      return "tuple";
    }
    if (v instanceof List<?>) {
      return "list";
    }
    if (v instanceof Map<?, ?>) {
      return "dict";
    }
    if (v instanceof Namespace) {
      return "Namespace";
    }
    return "function";
  }

  /** Python {@code str(v)} with provenance: strings are returned as they are. */
  static PString str(Object v) {
    if (v instanceof PString s) {
      return s;
    }
    if (v instanceof Undefined) {
      return PString.EMPTY;
    }
    StringBuilder sb = new StringBuilder();
    repr(v, sb, false, 0);
    return PString.of(sb.toString());
  }

  /** Python {@code repr(v)} (or {@code str(v)} at the top level when {@code topStr}). */
  static void repr(Object v, StringBuilder sb, boolean quoteStrings, int depth) {
    if (sb.length() > Limits.MAX_STRING_CHARS) {
      throw new TemplateException(
          "string form of a value is longer than " + Limits.MAX_STRING_CHARS + " characters");
    }
    if (depth > Limits.MAX_DEPTH) {
      throw new TemplateException(
          "value nested deeper than " + Limits.MAX_DEPTH + " levels (circular namespace?)");
    }
    if (v instanceof PString s) {
      if (quoteStrings) {
        pyQuote(s.text(), sb);
      } else {
        sb.append(s.text());
      }
    } else if (v instanceof Boolean b) {
      sb.append(b ? "True" : "False");
    } else if (v instanceof Long l) {
      sb.append(l.longValue());
    } else if (v instanceof Double d) {
      sb.append(formatFloat(d));
    } else if (v == NONE) {
      sb.append("None");
    } else if (v instanceof Undefined) {
      sb.append(quoteStrings ? "Undefined" : "");
    } else if (v instanceof Tuple tuple) {
      sb.append('(');
      for (int i = 0; i < tuple.size(); i++) {
        if (i > 0) {
          sb.append(", ");
        }
        repr(tuple.get(i), sb, true, depth + 1);
      }
      sb.append(tuple.size() == 1 ? ",)" : ")");
    } else if (v instanceof List<?> list) {
      sb.append('[');
      for (int i = 0; i < list.size(); i++) {
        if (i > 0) {
          sb.append(", ");
        }
        repr(list.get(i), sb, true, depth + 1);
      }
      sb.append(']');
    } else if (v instanceof Map<?, ?> map) {
      sb.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : map.entrySet()) {
        if (!first) {
          sb.append(", ");
        }
        first = false;
        repr(e.getKey(), sb, true, depth + 1);
        sb.append(": ");
        repr(e.getValue(), sb, true, depth + 1);
      }
      sb.append('}');
    } else if (v instanceof Namespace) {
      sb.append("<Namespace>");
    } else {
      sb.append("<function>");
    }
  }

  private static void pyQuote(String s, StringBuilder sb) {
    char q = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
    sb.append(q);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c == q) {
            sb.append('\\').append(c);
          } else if (c < 0x20 || c == 0x7f) {
            sb.append(String.format("\\x%02x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    sb.append(q);
  }

  /** Python's {@code repr(float)}: shortest round-trip digits, Python's exponent format. */
  static String formatFloat(double d) {
    if (Double.isNaN(d)) {
      return "nan";
    }
    if (Double.isInfinite(d)) {
      return d > 0 ? "inf" : "-inf";
    }
    if (d == 0) {
      return (1 / d < 0) ? "-0.0" : "0.0";
    }
    BigDecimal bd = new BigDecimal(Double.toString(d)).stripTrailingZeros();
    int exponent = bd.precision() - bd.scale() - 1; // decimal exponent of the leading digit
    if (exponent >= -5 && exponent < 16) {
      String plain = bd.toPlainString();
      return plain.contains(".") ? plain : plain + ".0";
    }
    String digits = bd.unscaledValue().abs().toString();
    StringBuilder sb = new StringBuilder();
    if (d < 0) {
      sb.append('-');
    }
    sb.append(digits.charAt(0));
    if (digits.length() > 1) {
      sb.append('.').append(digits, 1, digits.length());
    }
    sb.append('e').append(exponent < 0 ? '-' : '+');
    int abs = Math.abs(exponent);
    if (abs < 10) {
      sb.append('0');
    }
    sb.append(abs);
    return sb.toString();
  }

  /** Most element comparisons one {@code ==} may make (shared sub-lists can be exponential). */
  private static final long MAX_COMPARISON_STEPS = 10_000_000;

  /** Python {@code ==}. */
  static boolean equal(Object a, Object b) {
    return equal(a, b, new long[1]);
  }

  private static boolean equal(Object a, Object b, long[] steps) {
    if (++steps[0] > MAX_COMPARISON_STEPS) {
      throw new TemplateException(
          "comparison visits more than " + MAX_COMPARISON_STEPS + " elements; values too large");
    }
    if (a == b) {
      return true;
    }
    if (isNumber(a) && isNumber(b)) {
      if (a instanceof Double || b instanceof Double) {
        return toDouble(a) == toDouble(b);
      }
      return toLong(a) == toLong(b);
    }
    if (a instanceof PString x && b instanceof PString y) {
      return x.text().equals(y.text());
    }
    if (a instanceof List<?> x && b instanceof List<?> y) {
      if (x.size() != y.size()) {
        return false;
      }
      for (int i = 0; i < x.size(); i++) {
        if (!equal(x.get(i), y.get(i), steps)) {
          return false;
        }
      }
      return true;
    }
    if (a instanceof Map<?, ?> x && b instanceof Map<?, ?> y) {
      if (x.size() != y.size()) {
        return false;
      }
      for (Map.Entry<?, ?> e : x.entrySet()) {
        if (!y.containsKey(e.getKey()) || !equal(e.getValue(), y.get(e.getKey()), steps)) {
          return false;
        }
      }
      return true;
    }
    if (a instanceof Undefined && b instanceof Undefined) {
      return true;
    }
    return false;
  }

  /** Python ordering comparison; throws for types Python cannot order. */
  static int compare(Object a, Object b, String op) {
    if (isNumber(a) && isNumber(b)) {
      if (a instanceof Double || b instanceof Double) {
        return Double.compare(toDouble(a), toDouble(b));
      }
      return Long.compare(toLong(a), toLong(b));
    }
    if (a instanceof PString x && b instanceof PString y) {
      return x.text().compareTo(y.text());
    }
    if (a instanceof List<?> x && b instanceof List<?> y) {
      for (int i = 0; i < Math.min(x.size(), y.size()); i++) {
        if (!equal(x.get(i), y.get(i))) {
          return compare(x.get(i), y.get(i), op);
        }
      }
      return Integer.compare(x.size(), y.size());
    }
    if (a instanceof Undefined u) {
      throw u.error("compared with " + op);
    }
    if (b instanceof Undefined u) {
      throw u.error("compared with " + op);
    }
    throw new TemplateException(
        "'" + op + "' not supported between " + typeName(a) + " and " + typeName(b));
  }

  static long toLong(Object v) {
    if (v instanceof Long l) {
      return l;
    }
    if (v instanceof Boolean b) {
      return b ? 1 : 0;
    }
    if (v instanceof Double d) {
      return (long) d.doubleValue();
    }
    throw new TemplateException("expected an integer but got " + typeName(v));
  }

  static double toDouble(Object v) {
    if (v instanceof Double d) {
      return d;
    }
    return toLong(v);
  }

  /** The items Python iteration would produce: list items, dict keys, string characters. */
  static List<Object> iterate(Object v) {
    if (v instanceof List<?> l) {
      @SuppressWarnings("unchecked")
      List<Object> list = (List<Object>) l;
      return list;
    }
    if (v instanceof Map<?, ?> m) {
      return List.copyOf(m.keySet());
    }
    if (v instanceof PString s) {
      List<Object> chars = new ArrayList<>(s.length());
      int i = 0;
      while (i < s.length()) {
        int n = Character.isHighSurrogate(s.charAt(i)) && i + 1 < s.length() ? 2 : 1;
        chars.add(s.substring(i, i + n));
        i += n;
      }
      return chars;
    }
    if (v instanceof Undefined) {
      return List.of();
    }
    throw new TemplateException("'" + typeName(v) + "' object is not iterable");
  }

  /** Python {@code len}; strings count code points. */
  static long length(Object v) {
    if (v instanceof PString s) {
      return s.text().codePointCount(0, s.length());
    }
    if (v instanceof List<?> l) {
      return l.size();
    }
    if (v instanceof Map<?, ?> m) {
      return m.size();
    }
    if (v instanceof Undefined) {
      return 0;
    }
    throw new TemplateException("object of type '" + typeName(v) + "' has no len()");
  }

  /** Returns {@code key} if Python could hash it (dict keys, sets), else throws. */
  static Object hashable(Object key) {
    if (key instanceof PString
        || key instanceof Long
        || key instanceof Double
        || key instanceof Boolean
        || key == NONE) {
      return key;
    }
    throw new TemplateException("unhashable type: '" + typeName(key) + "'");
  }

  static List<Object> list(List<Object> items) {
    return Collections.unmodifiableList(items);
  }

  static Map<Object, Object> dict(Map<Object, Object> map) {
    return Collections.unmodifiableMap(map);
  }

  /** Python {@code in}. */
  static boolean contains(Object container, Object item) {
    if (container instanceof PString s) {
      if (!(item instanceof PString p)) {
        throw new TemplateException(
            "'in <string>' requires string as left operand, not " + typeName(item));
      }
      return s.text().contains(p.text());
    }
    if (container instanceof Map<?, ?> m) {
      return m.containsKey(item);
    }
    if (container instanceof List<?> l) {
      for (Object o : l) {
        if (equal(o, item)) {
          return true;
        }
      }
      return false;
    }
    if (container instanceof Undefined) {
      return false;
    }
    throw new TemplateException("argument of type '" + typeName(container) + "' is not iterable");
  }
}
