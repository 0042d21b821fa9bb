package dev.im4j.core.template.jinja;

import dev.im4j.core.template.TemplateException;
import java.util.ArrayList;
import java.util.List;

/** Python's arithmetic operators {@code + - * / // % **} on interpreter values. */
final class Arithmetic {
  private Arithmetic() {}

  static Object apply(String op, Object l, Object r) {
    if (l instanceof Values.Undefined u) {
      throw u.error("used with operator " + op);
    }
    if (r instanceof Values.Undefined u) {
      throw u.error("used with operator " + op);
    }
    if (Values.isNumber(l) && Values.isNumber(r)) {
      return numeric(op, l, r);
    }
    if (op.equals("+")) {
      if (l instanceof PString a && r instanceof PString b) {
        return a.concat(b);
      }
      if (l instanceof List<?> a && r instanceof List<?> b) {
        checkSize((long) a.size() + b.size());
        List<Object> out = new ArrayList<>(a);
        out.addAll(b);
        return Values.list(out);
      }
    }
    if (op.equals("%") && l instanceof PString format) {
      return percentFormat(format, r);
    }
    if (op.equals("*")) {
      if (l instanceof PString s && (r instanceof Long || r instanceof Boolean)) {
        return repeat(s, Values.toLong(r));
      }
      if (r instanceof PString s && (l instanceof Long || l instanceof Boolean)) {
        return repeat(s, Values.toLong(l));
      }
      if (l instanceof List<?> list && r instanceof Long n) {
        return repeat(list, n);
      }
      if (r instanceof List<?> list && l instanceof Long n) {
        return repeat(list, n);
      }
    }
    throw new TemplateException(
        "unsupported operand type(s) for "
            + op
            + ": '"
            + Values.typeName(l)
            + "' and '"
            + Values.typeName(r)
            + "'");
  }

  private static void checkSize(long n) {
    if (n > Limits.MAX_STRING_CHARS) {
      throw new TemplateException(
          "result of " + n + " items exceeds the limit of " + Limits.MAX_STRING_CHARS);
    }
  }

  private static PString repeat(PString s, long n) {
    if (n <= 0) {
      return PString.EMPTY;
    }
    checkSize(n * s.length());
    PString.Builder b = new PString.Builder((int) (n * s.length()));
    for (long i = 0; i < n; i++) {
      b.append(s);
    }
    return b.build();
  }

  private static List<Object> repeat(List<?> list, long n) {
    List<Object> out = new ArrayList<>();
    if (n > 0) {
      checkSize(n * list.size());
      for (long i = 0; i < n; i++) {
        out.addAll(list);
      }
    }
    return Values.list(out);
  }

  private static Object numeric(String op, Object l, Object r) {
    boolean isFloat = l instanceof Double || r instanceof Double;
    if (op.equals("/")) {
      double d = Values.toDouble(r);
      if (d == 0) {
        throw new TemplateException("division by zero");
      }
      return Values.toDouble(l) / d;
    }
    if (isFloat) {
      double a = Values.toDouble(l);
      double b = Values.toDouble(r);
      return switch (op) {
        case "+" -> a + b;
        case "-" -> a - b;
        case "*" -> a * b;
        case "//" -> {
          nonZero(b);
          yield Math.floor(a / b);
        }
        case "%" -> {
          nonZero(b);
          yield a - b * Math.floor(a / b);
        }
        case "**" -> Math.pow(a, b);
        default -> throw new IllegalStateException("unknown operator " + op);
      };
    }
    long a = Values.toLong(l);
    long b = Values.toLong(r);
    try {
      return switch (op) {
        case "+" -> Math.addExact(a, b);
        case "-" -> Math.subtractExact(a, b);
        case "*" -> Math.multiplyExact(a, b);
        case "//" -> {
          nonZero(b);
          yield Math.floorDiv(a, b);
        }
        case "%" -> {
          nonZero(b);
          yield Math.floorMod(a, b);
        }
        case "**" -> b < 0 ? (Object) Math.pow(a, b) : (Object) power(a, b);
        default -> throw new IllegalStateException("unknown operator " + op);
      };
    } catch (ArithmeticException e) {
      throw new TemplateException("integer overflow in " + a + " " + op + " " + b, e);
    }
  }

  private static long power(long base, long exp) {
    if (base == 0 || base == 1) {
      return exp == 0 ? 1 : base;
    }
    if (base == -1) {
      return exp % 2 == 0 ? 1 : -1;
    }
    long result = 1; // |base| >= 2 overflows within 63 steps
    for (long i = 0; i < exp; i++) {
      result = Math.multiplyExact(result, base);
    }
    return result;
  }

  private static void nonZero(double b) {
    if (b == 0) {
      throw new TemplateException("integer division or modulo by zero");
    }
  }

  /**
   * Python's {@code format % args} for the {@code %s}, {@code %d}/{@code %i} and {@code %%}
   * conversions; a tuple supplies one argument per conversion. Arguments keep their provenance.
   */
  private static PString percentFormat(PString format, Object args) {
    List<?> values = args instanceof Values.Tuple t ? t : List.of(args);
    PString.Builder b = new PString.Builder(format.length());
    String f = format.text();
    int next = 0;
    int run = 0;
    for (int i = 0; i < f.length(); i++) {
      if (f.charAt(i) != '%') {
        continue;
      }
      b.append(format, run, i);
      if (i + 1 >= f.length()) {
        throw new TemplateException("incomplete format: " + f);
      }
      char c = f.charAt(++i);
      run = i + 1;
      if (c == '%') {
        b.appendTemplate('%');
        continue;
      }
      if (next >= values.size()) {
        throw new TemplateException("not enough arguments for format string: " + f);
      }
      Object v = values.get(next++);
      switch (c) {
        case 's' -> b.append(Values.str(v));
        case 'd', 'i' -> {
          if (!Values.isNumber(v)) {
            throw new TemplateException(
                "%" + c + " format: a real number is required, not " + Values.typeName(v));
          }
          b.appendTemplate(Long.toString(Values.toLong(v)));
        }
        default ->
            throw new TemplateException(
                "unsupported format conversion %" + c + " (only %s, %d, %i and %% are)");
      }
    }
    b.append(format, run, f.length());
    if (next < values.size()) {
      throw new TemplateException("not all arguments converted during string formatting");
    }
    return b.build();
  }
}
