package dev.im4j.core.template.jinja;

import dev.im4j.core.template.TemplateException;
import dev.im4j.core.template.jinja.Values.Callable;
import dev.im4j.core.template.jinja.Values.Namespace;
import dev.im4j.core.template.jinja.Values.Undefined;
import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Global functions, filters, tests and methods available to templates. */
final class Builtins {
  private Builtins() {}

  // ---------------------------------------------------------------- globals

  static void installGlobals(Interpreter in, Interpreter.Scope globals) {
    globals.set("range", (Callable) (args, kw) -> range(args));
    globals.set(
        "namespace",
        (Callable)
            (args, kw) -> {
              Namespace ns = new Namespace();
              for (Object a : args) {
                if (!(a instanceof Map<?, ?> m)) {
                  throw new TemplateException(
                      "namespace() takes keyword arguments or a dict, not " + Values.typeName(a));
                }
                for (Map.Entry<?, ?> e : m.entrySet()) {
                  ns.attributes.put(Values.str(e.getKey()).text(), e.getValue());
                }
              }
              ns.attributes.putAll(kw);
              return ns;
            });
    globals.set(
        "dict",
        (Callable)
            (args, kw) -> {
              Map<Object, Object> m = new LinkedHashMap<>();
              for (Object a : args) {
                if (a instanceof Map<?, ?> src) {
                  m.putAll(src);
                } else {
                  throw new TemplateException("dict() takes keyword arguments or a dict");
                }
              }
              kw.forEach((k, v) -> m.put(PString.of(k), v));
              return Values.dict(m);
            });
    globals.set(
        "raise_exception",
        (Callable)
            (args, kw) -> {
              String msg = args.isEmpty() ? "raise_exception() called" : str(args.get(0)).text();
              throw new Interpreter.RaisedException(msg);
            });
    globals.set(
        "strftime_now",
        (Callable)
            (args, kw) -> {
              if (args.size() != 1 || !(args.get(0) instanceof PString fmt)) {
                throw new TemplateException("strftime_now takes one format string");
              }
              return PString.of(strftime(fmt.text(), ZonedDateTime.now(in.clock)));
            });
  }

  private static Object range(List<Object> args) {
    long start = 0;
    long stop;
    long step = 1;
    switch (args.size()) {
      case 1 -> stop = Values.toLong(args.get(0));
      case 2 -> {
        start = Values.toLong(args.get(0));
        stop = Values.toLong(args.get(1));
      }
      case 3 -> {
        start = Values.toLong(args.get(0));
        stop = Values.toLong(args.get(1));
        step = Values.toLong(args.get(2));
      }
      default -> throw new TemplateException("range expects 1 to 3 arguments, got " + args.size());
    }
    if (step == 0) {
      throw new TemplateException("range() arg 3 must not be zero");
    }
    List<Object> out = new ArrayList<>();
    for (long i = start; step > 0 ? i < stop : i > stop; i += step) {
      if (out.size() >= Limits.MAX_RANGE) {
        throw new TemplateException("range is longer than the limit of " + Limits.MAX_RANGE);
      }
      out.add(i);
    }
    return Values.list(out);
  }

  /** Python's {@code strftime} for the common directives. */
  static String strftime(String fmt, ZonedDateTime t) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < fmt.length(); i++) {
      char c = fmt.charAt(i);
      if (c != '%' || i + 1 >= fmt.length()) {
        sb.append(c);
        continue;
      }
      char d = fmt.charAt(++i);
      switch (d) {
        case 'Y' -> sb.append(t.getYear());
        case 'y' -> sb.append(String.format("%02d", t.getYear() % 100));
        case 'm' -> sb.append(String.format("%02d", t.getMonthValue()));
        case 'd' -> sb.append(String.format("%02d", t.getDayOfMonth()));
        case 'H' -> sb.append(String.format("%02d", t.getHour()));
        case 'I' -> sb.append(String.format("%02d", (t.getHour() + 11) % 12 + 1));
        case 'M' -> sb.append(String.format("%02d", t.getMinute()));
        case 'S' -> sb.append(String.format("%02d", t.getSecond()));
        case 'p' -> sb.append(t.getHour() < 12 ? "AM" : "PM");
        case 'j' -> sb.append(String.format("%03d", t.getDayOfYear()));
        case 'b' -> sb.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
        case 'B' -> sb.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
        case 'a' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
        case 'A' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
        case '%' -> sb.append('%');
        default -> throw new TemplateException("strftime_now: unsupported directive %" + d);
      }
    }
    return sb.toString();
  }

  // ---------------------------------------------------------------- helpers

  private static PString str(Object v) {
    return Values.str(v);
  }

  private static Object arg(List<Object> args, Map<String, Object> kw, int i, String name) {
    if (i < args.size()) {
      return args.get(i);
    }
    Object v = kw.get(name);
    return v;
  }

  private static PString stringArg(Object v, String what) {
    if (v instanceof PString s) {
      return s;
    }
    throw new TemplateException(what + " must be a string but was " + Values.typeName(v));
  }

  private static long intArg(Object v, String what) {
    if (v instanceof Long || v instanceof Boolean) {
      return Values.toLong(v);
    }
    throw new TemplateException(what + " must be an integer but was " + Values.typeName(v));
  }

  private static String charsArg(List<Object> args, String method) {
    if (args.isEmpty() || args.get(0) == Values.NONE) {
      return null;
    }
    return stringArg(args.get(0), method + " chars").text();
  }

  /** The string a string filter works on: undefined is empty, other values their str(). */
  private static PString asString(Object v) {
    if (v instanceof PString s) {
      return s;
    }
    if (v instanceof Undefined) {
      return PString.EMPTY;
    }
    return str(v);
  }

  // ---------------------------------------------------------------- methods

  static Object method(
      Interpreter in, Object obj, String name, List<Object> args, Map<String, Object> kw) {
    if (obj instanceof PString s) {
      return stringMethod(s, name, args, kw);
    }
    if (obj instanceof Map<?, ?> m) {
      return switch (name) {
        case "get" -> {
          Object v = args.isEmpty() ? null : m.get(args.get(0));
          yield v != null ? v : (args.size() > 1 ? args.get(1) : Values.NONE);
        }
        case "items" -> {
          List<Object> out = new ArrayList<>(m.size());
          for (Map.Entry<?, ?> e : m.entrySet()) {
            out.add(Values.Tuple.of(e.getKey(), e.getValue()));
          }
          yield Values.list(out);
        }
        case "keys" -> Values.list(new ArrayList<>(m.keySet()));
        case "values" -> Values.list(new ArrayList<>(m.values()));
        default -> throw new IllegalStateException("no dict method " + name);
      };
    }
    if (obj instanceof List<?> l) {
      Object x = args.isEmpty() ? Values.NONE : args.get(0);
      long count = 0;
      for (int i = 0; i < l.size(); i++) {
        if (Values.equal(l.get(i), x)) {
          if (name.equals("index")) {
            return (long) i;
          }
          count++;
        }
      }
      if (name.equals("index")) {
        throw new TemplateException("list.index(x): x not in list");
      }
      return count;
    }
    throw new IllegalStateException("no method " + name + " on " + Values.typeName(obj));
  }

  private static Object stringMethod(
      PString s, String name, List<Object> args, Map<String, Object> kw) {
    switch (name) {
      case "strip":
        return Strings.strip(s, charsArg(args, name), true, true);
      case "lstrip":
        return Strings.strip(s, charsArg(args, name), true, false);
      case "rstrip":
        return Strings.strip(s, charsArg(args, name), false, true);
      case "split":
      case "rsplit":
        {
          Object sepArg = arg(args, kw, 0, "sep");
          String sep =
              sepArg == null || sepArg == Values.NONE ? null : stringArg(sepArg, "sep").text();
          Object max = arg(args, kw, 1, "maxsplit");
          long maxsplit = max == null ? -1 : intArg(max, "maxsplit");
          return name.equals("split")
              ? Strings.split(s, sep, maxsplit)
              : Strings.rsplit(s, sep, maxsplit);
        }
      case "splitlines":
        {
          List<Object> out = new ArrayList<>();
          int start = 0;
          String t = s.text();
          for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            if (c == '\n' || c == '\r') {
              out.add(s.substring(start, i));
              if (c == '\r' && i + 1 < t.length() && t.charAt(i + 1) == '\n') {
                i++;
              }
              start = i + 1;
            }
          }
          if (start < t.length()) {
            out.add(s.substring(start));
          }
          return Values.list(out);
        }
      case "startswith":
      case "endswith":
        {
          if (args.isEmpty()) {
            throw new TemplateException(name + " takes at least 1 argument");
          }
          List<Object> options =
              args.get(0) instanceof List<?> l ? List.copyOf(l) : List.of(args.get(0));
          for (Object o : options) {
            String p = stringArg(o, name + " argument").text();
            if (name.equals("startswith") ? s.text().startsWith(p) : s.text().endsWith(p)) {
              return true;
            }
          }
          return false;
        }
      case "upper":
        return Strings.upper(s);
      case "lower":
        return Strings.lower(s);
      case "title":
        return Strings.title(s);
      case "capitalize":
        return Strings.capitalize(s);
      case "replace":
        {
          if (args.size() < 2) {
            throw new TemplateException("replace takes 2 or 3 arguments");
          }
          long count = args.size() > 2 ? intArg(args.get(2), "replace count") : -1;
          return Strings.replace(
              s,
              stringArg(args.get(0), "replace old"),
              stringArg(args.get(1), "replace new"),
              count);
        }
      case "find":
      case "rfind":
        {
          String sub =
              stringArg(args.isEmpty() ? Values.NONE : args.get(0), name + " argument").text();
          int at = name.equals("find") ? s.text().indexOf(sub) : s.text().lastIndexOf(sub);
          return at < 0 ? -1L : (long) s.text().codePointCount(0, at);
        }
      case "count":
        {
          String sub =
              stringArg(args.isEmpty() ? Values.NONE : args.get(0), "count argument").text();
          if (sub.isEmpty()) {
            return Values.length(s) + 1;
          }
          long n = 0;
          int from = 0;
          while ((from = s.text().indexOf(sub, from)) >= 0) {
            n++;
            from += sub.length();
          }
          return n;
        }
      case "format":
        return Strings.format(s, args, kw);
      case "join":
        return Strings.join(s, args.isEmpty() ? List.of() : joinItems(Values.iterate(args.get(0))));
      case "isdigit":
        return !s.isEmpty() && s.text().chars().allMatch(Character::isDigit);
      case "isalpha":
        return !s.isEmpty() && s.text().codePoints().allMatch(Character::isLetter);
      case "isalnum":
        return !s.isEmpty() && s.text().codePoints().allMatch(Character::isLetterOrDigit);
      case "isspace":
        return !s.isEmpty() && s.text().chars().allMatch(c -> Strings.isSpace((char) c));
      case "isupper":
        return s.text().codePoints().anyMatch(Character::isUpperCase)
            && s.text().codePoints().noneMatch(Character::isLowerCase);
      case "islower":
        return s.text().codePoints().anyMatch(Character::isLowerCase)
            && s.text().codePoints().noneMatch(Character::isUpperCase);
      default:
        throw new IllegalStateException("no string method " + name);
    }
  }

  private static List<Object> joinItems(List<Object> items) {
    for (Object o : items) {
      if (!(o instanceof PString)) {
        throw new TemplateException(
            "str.join: expected str instance, " + Values.typeName(o) + " found");
      }
    }
    return items;
  }

  // ---------------------------------------------------------------- filters

  static Object filter(
      Interpreter in, String name, Object v, List<Object> args, Map<String, Object> kw) {
    switch (name) {
      case "tojson":
        {
          Object indent = arg(args, kw, 0, "indent");
          Object ensureAscii = kw.get("ensure_ascii");
          Object separators = kw.get("separators");
          Object sortKeys = kw.get("sort_keys");
          return Json.dumps(
              v,
              indent == null ? Values.NONE : indent,
              separators == null ? Values.NONE : separators,
              ensureAscii != null && Values.truthy(ensureAscii),
              sortKeys != null && Values.truthy(sortKeys));
        }
      case "trim":
        return Strings.strip(asString(v), charsArg(args, name), true, true);
      case "length":
      case "count":
        return Values.length(v);
      case "lower":
        return Strings.lower(asString(v));
      case "upper":
        return Strings.upper(asString(v));
      case "capitalize":
        return Strings.capitalize(asString(v));
      case "title":
        return Strings.title(asString(v));
      case "string":
        return str(v);
      case "safe":
        return v;
      case "e":
      case "escape":
        return escapeHtml(str(v));
      case "default":
      case "d":
        {
          Object fallback = arg(args, kw, 0, "default_value");
          Object boolArg = arg(args, kw, 1, "boolean");
          boolean useFalsy = boolArg != null && Values.truthy(boolArg);
          if (v instanceof Undefined || (useFalsy && !Values.truthy(v))) {
            return fallback == null ? PString.EMPTY : fallback;
          }
          return v;
        }
      case "first":
        {
          List<Object> items = Values.iterate(v);
          return items.isEmpty() ? new Undefined("first") : items.get(0);
        }
      case "last":
        {
          List<Object> items = Values.iterate(v);
          return items.isEmpty() ? new Undefined("last") : items.get(items.size() - 1);
        }
      case "join":
        {
          Object sep = arg(args, kw, 0, "d");
          Object attribute = arg(args, kw, 1, "attribute");
          List<Object> items = Values.iterate(v);
          if (attribute != null) {
            items = mapAttribute(in, items, attribute);
          }
          return Strings.join(
              sep == null ? PString.EMPTY : stringArg(sep, "join separator"), items);
        }
      case "replace":
        {
          if (args.size() < 2) {
            throw new TemplateException("replace filter takes 2 or 3 arguments");
          }
          long count = args.size() > 2 ? intArg(args.get(2), "replace count") : -1;
          return Strings.replace(asString(v), str(args.get(0)), str(args.get(1)), count);
        }
      case "int":
        return toInt(v, args.isEmpty() ? 0L : args.get(0));
      case "float":
        return toFloat(v, args.isEmpty() ? 0.0 : args.get(0));
      case "abs":
        if (v instanceof Double d) {
          return Math.abs(d);
        }
        return Math.abs(Values.toLong(v));
      case "list":
        return Values.list(new ArrayList<>(Values.iterate(v)));
      case "reverse":
        {
          if (v instanceof PString s) {
            return Strings.slice(s, null, null, -1L);
          }
          List<Object> items = new ArrayList<>(Values.iterate(v));
          java.util.Collections.reverse(items);
          return Values.list(items);
        }
      case "unique":
        {
          LinkedHashSet<Object> seen = new LinkedHashSet<>();
          for (Object o : Values.iterate(v)) {
            seen.add(Values.hashable(o));
          }
          return Values.list(new ArrayList<>(seen));
        }
      case "sort":
        {
          List<Object> items = new ArrayList<>(Values.iterate(v));
          Object reverse = arg(args, kw, 0, "reverse");
          Object attribute = arg(args, kw, 2, "attribute");
          items.sort(
              (a, b) -> {
                Object x = attribute == null ? a : attributeOf(in, a, attribute);
                Object y = attribute == null ? b : attributeOf(in, b, attribute);
                return Values.compare(x, y, "<");
              });
          if (reverse != null && Values.truthy(reverse)) {
            java.util.Collections.reverse(items);
          }
          return Values.list(items);
        }
      case "sum":
        {
          Object total = 0L;
          for (Object o : Values.iterate(v)) {
            total = Arithmetic.apply("+", total, o);
          }
          return total;
        }
      case "min":
      case "max":
        {
          List<Object> items = Values.iterate(v);
          if (items.isEmpty()) {
            return new Undefined(name);
          }
          Object best = items.get(0);
          for (Object o : items) {
            int c = Values.compare(o, best, "<");
            if (name.equals("min") ? c < 0 : c > 0) {
              best = o;
            }
          }
          return best;
        }
      case "items":
        {
          if (v instanceof Undefined) {
            return List.of();
          }
          if (!(v instanceof Map<?, ?>)) {
            throw new TemplateException("items filter needs a dict but got " + Values.typeName(v));
          }
          return method(in, v, "items", List.of(), Map.of());
        }
      case "dictsort":
        {
          if (!(v instanceof Map<?, ?> m)) {
            throw new TemplateException("dictsort needs a dict but got " + Values.typeName(v));
          }
          List<Object> pairs = new ArrayList<>();
          for (Map.Entry<?, ?> e : m.entrySet()) {
            pairs.add(Values.Tuple.of(e.getKey(), e.getValue()));
          }
          pairs.sort((a, b) -> Values.compare(((List<?>) a).get(0), ((List<?>) b).get(0), "<"));
          return Values.list(pairs);
        }
      case "selectattr":
      case "rejectattr":
      case "select":
      case "reject":
        return select(in, name, v, args);
      case "map":
        {
          List<Object> items = Values.iterate(v);
          Object attribute = kw.get("attribute");
          if (attribute != null) {
            List<Object> out = new ArrayList<>(items.size());
            Object fallback = kw.get("default");
            for (Object o : items) {
              Object a = attributeOf(in, o, attribute);
              out.add(a instanceof Undefined && fallback != null ? fallback : a);
            }
            return Values.list(out);
          }
          if (args.isEmpty()) {
            throw new TemplateException("map needs a filter name or attribute=");
          }
          String filterName = stringArg(args.get(0), "map filter name").text();
          List<Object> rest = args.subList(1, args.size());
          List<Object> out = new ArrayList<>(items.size());
          for (Object o : items) {
            out.add(filter(in, filterName, o, rest, Map.of()));
          }
          return Values.list(out);
        }
      case "indent":
        {
          PString s = asString(v);
          Object width = arg(args, kw, 0, "width");
          Object first = arg(args, kw, 1, "first");
          Object blank = arg(args, kw, 2, "blank");
          PString pad =
              width instanceof PString w
                  ? w
                  : PString.of(
                      " "
                          .repeat(
                              (int)
                                  (width == null
                                      ? 4
                                      : Math.min(intArg(width, "indent width"), 1000))));
          return indent(
              s, pad, first != null && Values.truthy(first), blank != null && Values.truthy(blank));
        }
      case "wordcount":
        return (long) Strings.split(asString(v), null, -1).size();
      case "batch":
      case "attr":
        if (name.equals("attr")) {
          return attributeOf(in, v, args.isEmpty() ? Values.NONE : args.get(0));
        }
        throw new TemplateException("the batch filter is not supported");
      default:
        throw new TemplateException("unknown filter '" + name + "'");
    }
  }

  /** Jinja's HTML escaping; the entities are template text, other characters keep their origin. */
  private static PString escapeHtml(PString s) {
    PString.Builder b = new PString.Builder(s.length());
    int run = 0;
    for (int i = 0; i < s.length(); i++) {
      String entity =
          switch (s.charAt(i)) {
            case '&' -> "&amp;";
            case '<' -> "&lt;";
            case '>' -> "&gt;";
            case '"' -> "&#34;";
            case '\'' -> "&#39;";
            default -> null;
          };
      if (entity != null) {
        b.append(s, run, i);
        b.appendTemplate(entity);
        run = i + 1;
      }
    }
    b.append(s, run, s.length());
    return b.build();
  }

  private static PString indent(PString s, PString pad, boolean first, boolean blank) {
    PString.Builder b = new PString.Builder(s.length());
    String t = s.text();
    int lineStart = 0;
    boolean firstLine = true;
    while (lineStart <= t.length()) {
      int nl = t.indexOf('\n', lineStart);
      int end = nl < 0 ? t.length() : nl + 1;
      boolean isBlank = t.substring(lineStart, nl < 0 ? t.length() : nl).isBlank();
      boolean doPad = firstLine ? first : (blank || !isBlank);
      if (doPad && (lineStart < t.length() || firstLine)) {
        b.append(pad);
      }
      b.append(s, lineStart, end);
      firstLine = false;
      if (nl < 0) {
        break;
      }
      lineStart = end;
      if (lineStart == t.length()) {
        break;
      }
    }
    return b.build();
  }

  private static Object toInt(Object v, Object fallback) {
    if (v instanceof Long) {
      return v;
    }
    if (v instanceof Boolean b) {
      return b ? 1L : 0L;
    }
    if (v instanceof Double d) {
      return (long) d.doubleValue();
    }
    if (v instanceof PString s) {
      String t = s.text().strip().replace("_", "");
      try {
        return Long.parseLong(t);
      } catch (NumberFormatException e) {
        try {
          return (long) Double.parseDouble(t);
        } catch (NumberFormatException e2) {
          return fallback;
        }
      }
    }
    return fallback;
  }

  private static Object toFloat(Object v, Object fallback) {
    if (v instanceof Double) {
      return v;
    }
    if (v instanceof Long || v instanceof Boolean) {
      return (double) Values.toLong(v);
    }
    if (v instanceof PString s) {
      try {
        return Double.parseDouble(s.text().strip());
      } catch (NumberFormatException e) {
        return fallback;
      }
    }
    return fallback;
  }

  /** {@code obj.attr} for a dotted attribute path such as {@code "function.name"}. */
  private static Object attributeOf(Interpreter in, Object obj, Object attribute) {
    if (attribute instanceof Long l) {
      return in.getItem(obj, l);
    }
    Object cur = obj;
    for (String part : stringArg(attribute, "attribute").text().split("\\.", -1)) {
      if (cur instanceof Undefined) {
        return cur;
      }
      cur = in.getAttr(cur, part, PString.of(part));
    }
    return cur;
  }

  private static List<Object> mapAttribute(Interpreter in, List<Object> items, Object attribute) {
    List<Object> out = new ArrayList<>(items.size());
    for (Object o : items) {
      out.add(attributeOf(in, o, attribute));
    }
    return out;
  }

  private static Object select(Interpreter in, String name, Object v, List<Object> args) {
    boolean byAttr = name.endsWith("attr");
    boolean keep = name.startsWith("select");
    int k = 0;
    Object attribute = null;
    if (byAttr) {
      if (args.isEmpty()) {
        throw new TemplateException(name + " needs an attribute name");
      }
      attribute = args.get(k++);
    }
    String test = k < args.size() ? stringArg(args.get(k++), name + " test name").text() : null;
    List<Object> testArgs = args.subList(Math.min(k, args.size()), args.size());
    List<Object> out = new ArrayList<>();
    for (Object o : Values.iterate(v)) {
      in.countIteration();
      Object x = byAttr ? attributeOf(in, o, attribute) : o;
      boolean r = test == null ? Values.truthy(x) : test(in, test, x, testArgs);
      if (r == keep) {
        out.add(o);
      }
    }
    return Values.list(out);
  }

  // ---------------------------------------------------------------- tests

  static boolean test(Interpreter in, String name, Object v, List<Object> args) {
    Object a = args.isEmpty() ? null : args.get(0);
    return switch (name) {
      case "defined" -> !(v instanceof Undefined);
      case "undefined" -> v instanceof Undefined;
      case "none" -> v == Values.NONE;
      case "string" -> v instanceof PString;
      case "mapping" -> v instanceof Map<?, ?>;
      // Like jinja2, undefined counts as iterable and as a sequence (it iterates as empty).
      case "iterable", "sequence" ->
          v instanceof PString
              || v instanceof List<?>
              || v instanceof Map<?, ?>
              || v instanceof Undefined;
      case "number" -> v instanceof Long || v instanceof Double;
      case "integer" -> v instanceof Long;
      case "float" -> v instanceof Double;
      case "boolean" -> v instanceof Boolean;
      case "true" -> Boolean.TRUE.equals(v);
      case "false" -> Boolean.FALSE.equals(v);
      case "callable" -> v instanceof Callable;
      case "odd" -> Values.toLong(v) % 2 != 0;
      case "even" -> Values.toLong(v) % 2 == 0;
      case "divisibleby" -> Values.toLong(v) % Values.toLong(need(a, name)) == 0;
      case "in" -> Values.contains(need(a, name), v);
      case "eq", "equalto", "==" -> Values.equal(v, need(a, name));
      case "ne", "!=" -> !Values.equal(v, need(a, name));
      case "lt", "lessthan", "<" -> Values.compare(v, need(a, name), "<") < 0;
      case "le", "<=" -> Values.compare(v, need(a, name), "<=") <= 0;
      case "gt", "greaterthan", ">" -> Values.compare(v, need(a, name), ">") > 0;
      case "ge", ">=" -> Values.compare(v, need(a, name), ">=") >= 0;
      case "sameas" -> v == need(a, name) || (Values.isNumber(v) && Values.equal(v, a));
      case "lower" -> v instanceof PString s && s.text().equals(s.text().toLowerCase(Locale.ROOT));
      case "upper" -> v instanceof PString s && s.text().equals(s.text().toUpperCase(Locale.ROOT));
      default -> throw new TemplateException("unknown test '" + name + "'");
    };
  }

  private static Object need(Object a, String test) {
    if (a == null) {
      throw new TemplateException("test '" + test + "' needs an argument");
    }
    return a;
  }
}
