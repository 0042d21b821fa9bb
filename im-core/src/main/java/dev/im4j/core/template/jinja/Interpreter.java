package dev.im4j.core.template.jinja;

import dev.im4j.core.template.RenderLimitException;
import dev.im4j.core.template.TemplateException;
import dev.im4j.core.template.jinja.Node.Args;
import dev.im4j.core.template.jinja.Node.Expr;
import dev.im4j.core.template.jinja.Node.Stmt;
import dev.im4j.core.template.jinja.Values.Callable;
import dev.im4j.core.template.jinja.Values.Namespace;
import dev.im4j.core.template.jinja.Values.Undefined;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Executes a parsed template against variables, producing a {@link PString} whose characters carry
 * provenance. One instance renders once; it is not thread-safe (each rendering makes its own).
 *
 * <p>Semantics follow Jinja2 as configured by Hugging Face: Python values and operators, the
 * default {@code Undefined} (prints as empty, is falsy and iterable as empty, but attribute access,
 * calls, arithmetic and ordering on it fail), loop scoping with {@code namespace} for writes that
 * escape a loop, and the {@link Limits}.
 */
final class Interpreter {
  private static final Set<String> STRING_METHODS =
      Set.of(
          "strip",
          "lstrip",
          "rstrip",
          "split",
          "rsplit",
          "startswith",
          "endswith",
          "upper",
          "lower",
          "replace",
          "find",
          "rfind",
          "count",
          "title",
          "capitalize",
          "format",
          "join",
          "splitlines",
          "isdigit",
          "isalpha",
          "isalnum",
          "isspace",
          "isupper",
          "islower");
  private static final Set<String> DICT_METHODS = Set.of("get", "items", "keys", "values");
  private static final Set<String> LIST_METHODS = Set.of("index", "count");

  private enum Flow {
    NORMAL,
    BREAK,
    CONTINUE
  }

  /** Variables of one block level; reads fall through to the parent. */
  static final class Scope {
    final Scope parent;
    private Map<String, Object> vars;

    Scope(Scope parent) {
      this.parent = parent;
    }

    Object lookup(String name) {
      for (Scope s = this; s != null; s = s.parent) {
        if (s.vars != null) {
          Object v = s.vars.get(name);
          if (v != null) {
            return v;
          }
        }
      }
      return null;
    }

    void set(String name, Object value) {
      if (vars == null) {
        vars = new HashMap<>();
      }
      vars.put(name, value);
    }
  }

  /** The {@code loop} variable of a for loop. */
  static final class Loop {
    final List<Object> items;
    int index0;

    Loop(List<Object> items) {
      this.items = items;
    }

    Object attribute(String name) {
      int n = items.size();
      return switch (name) {
        case "index" -> (long) index0 + 1;
        case "index0" -> (long) index0;
        case "revindex" -> (long) (n - index0);
        case "revindex0" -> (long) (n - index0 - 1);
        case "first" -> index0 == 0;
        case "last" -> index0 == n - 1;
        case "length" -> (long) n;
        case "depth" -> 1L;
        case "depth0" -> 0L;
        case "previtem" -> index0 > 0 ? items.get(index0 - 1) : new Undefined("loop.previtem");
        case "nextitem" -> index0 + 1 < n ? items.get(index0 + 1) : new Undefined("loop.nextitem");
        case "cycle" -> (Callable) (args, kw) -> cycle(args);
        default -> new Undefined("loop." + name);
      };
    }

    Object cycle(List<Object> args) {
      if (args.isEmpty()) {
        throw new TemplateException("loop.cycle() needs at least one argument");
      }
      return args.get(index0 % args.size());
    }
  }

  /** A {@code {% macro %}} bound to the scope it was defined in. */
  private final class Macro implements Callable {
    final Node.Macro def;
    final Scope closure;

    Macro(Node.Macro def, Scope closure) {
      this.def = def;
      this.closure = closure;
    }

    @Override
    public Object call(List<Object> args, Map<String, Object> kwargs) {
      if (callDepth >= Limits.MAX_DEPTH) {
        throw new TemplateException(
            "macro calls nested deeper than " + Limits.MAX_DEPTH + " (runaway recursion?)");
      }
      List<String> params = def.params();
      if (args.size() > params.size()) {
        throw new TemplateException(
            "macro '"
                + def.name()
                + "' takes "
                + params.size()
                + " arguments but was given "
                + args.size());
      }
      Scope scope = new Scope(closure);
      for (String k : kwargs.keySet()) {
        if (!params.contains(k)) {
          throw new TemplateException(
              "macro '" + def.name() + "' has no parameter '" + k + "'; parameters: " + params);
        }
      }
      for (int i = 0; i < params.size(); i++) {
        String p = params.get(i);
        Object v;
        if (i < args.size()) {
          v = args.get(i);
        } else if (kwargs.containsKey(p)) {
          v = kwargs.get(p);
        } else if (def.defaults().get(i) != null) {
          v = eval(def.defaults().get(i), scope);
        } else {
          v = new Undefined(p);
        }
        scope.set(p, v);
      }
      PString.Builder out = new PString.Builder();
      callDepth++;
      try {
        Flow f = exec(def.body(), scope, out);
        if (f != Flow.NORMAL) {
          throw new TemplateException("break or continue outside a loop in macro " + def.name());
        }
      } finally {
        callDepth--;
      }
      return out.build();
    }
  }

  /** Thrown by {@code raise_exception}; its message is the template's own. */
  static final class RaisedException extends TemplateException {
    private static final long serialVersionUID = 1L;

    RaisedException(String message) {
      super(message);
    }
  }

  /** A runtime error already annotated with its template position. */
  private static final class PositionedException extends TemplateException {
    private static final long serialVersionUID = 1L;

    PositionedException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private final String source;
  private final Scope root;
  final Clock clock;
  private int loopIterations;
  private int callDepth;

  Interpreter(String source, Map<String, Object> variables, Clock clock) {
    this.source = source;
    this.clock = clock;
    Scope globals = new Scope(null);
    Builtins.installGlobals(this, globals);
    this.root = new Scope(globals);
    for (Map.Entry<String, Object> e : variables.entrySet()) {
      root.set(e.getKey(), e.getValue());
    }
  }

  /**
   * Renders {@code body}; the result carries provenance and anchors.
   *
   * @param maxOutputChars the output stops with {@link RenderLimitException} once a write would
   *     take it past this many characters ({@code Integer.MAX_VALUE}: only {@link
   *     Limits#MAX_STRING_CHARS})
   */
  PString render(List<Stmt> body, int maxOutputChars) {
    PString.Builder out = PString.Builder.output(4096, maxOutputChars);
    try {
      Flow f = exec(body, root, out);
      if (f != Flow.NORMAL) {
        throw new TemplateException("break or continue outside a loop");
      }
    } catch (StackOverflowError e) {
      throw new TemplateException("template nests too deeply to render", e);
    }
    return out.build();
  }

  void countIteration() {
    if (++loopIterations > Limits.MAX_LOOP_ITERATIONS) {
      throw new TemplateException(
          "more than " + Limits.MAX_LOOP_ITERATIONS + " loop iterations; the template runs away");
    }
  }

  private TemplateException at(TemplateException e, int offset) {
    if (e instanceof RaisedException
        || e instanceof PositionedException
        || e instanceof RenderLimitException) {
      // A render limit is the caller's, about the whole output: it keeps its type and message.
      return e;
    }
    return new PositionedException(
        e.getMessage() + " (at " + Lexer.position(source, offset) + ")", e);
  }

  // ---------------------------------------------------------------- statements

  private Flow exec(List<Stmt> body, Scope scope, PString.Builder out) {
    for (Stmt s : body) {
      Flow f = exec(s, scope, out);
      if (f != Flow.NORMAL) {
        return f;
      }
    }
    return Flow.NORMAL;
  }

  private Flow exec(Stmt stmt, Scope scope, PString.Builder out) {
    if (stmt instanceof Node.Text t) {
      out.append(t.text());
    } else if (stmt instanceof Node.Output o) {
      Object v;
      try {
        v = eval(o.expr(), scope);
      } catch (TemplateException e) {
        throw at(e, o.offset());
      }
      if (v instanceof PString s) {
        out.append(s);
      } else if (!(v instanceof Undefined)) {
        out.append(Values.str(v));
      }
    } else if (stmt instanceof Node.If i) {
      for (int k = 0; k < i.conditions().size(); k++) {
        boolean holds;
        try {
          holds = Values.truthy(eval(i.conditions().get(k), scope));
        } catch (TemplateException e) {
          throw at(e, i.offsets().get(k));
        }
        if (holds) {
          return exec(i.bodies().get(k), scope, out);
        }
      }
      return exec(i.otherwise(), scope, out);
    } else if (stmt instanceof Node.For f) {
      return execFor(f, scope, out);
    } else if (stmt instanceof Node.Set s) {
      Object v;
      try {
        v = eval(s.value(), scope);
      } catch (TemplateException e) {
        throw at(e, s.offset());
      }
      assign(s.targets(), v, scope);
    } else if (stmt instanceof Node.SetAttr s) {
      Object ns = scope.lookup(s.namespace());
      if (!(ns instanceof Namespace namespace)) {
        throw at(
            new TemplateException(
                "cannot assign attribute '"
                    + s.attribute()
                    + "' on "
                    + (ns == null ? "undefined '" + s.namespace() + "'" : Values.typeName(ns))
                    + "; only namespace() objects allow attribute assignment"),
            s.offset());
      }
      Object v;
      try {
        v = eval(s.value(), scope);
      } catch (TemplateException e) {
        throw at(e, s.offset());
      }
      namespace.attributes.put(s.attribute(), v);
    } else if (stmt instanceof Node.BlockSet b) {
      PString.Builder inner = new PString.Builder();
      Flow f = exec(b.body(), scope, inner);
      scope.set(b.name(), inner.build());
      return f;
    } else if (stmt instanceof Node.Macro m) {
      scope.set(m.name(), new Macro(m, scope));
    } else if (stmt instanceof Node.Break) {
      return Flow.BREAK;
    } else if (stmt instanceof Node.Continue) {
      return Flow.CONTINUE;
    } else if (stmt instanceof Node.Block c) {
      return exec(c.body(), scope, out);
    } else if (stmt instanceof Node.FilterBlock f) {
      PString.Builder inner = new PString.Builder();
      Flow flow = exec(f.body(), scope, inner);
      try {
        Object v =
            Builtins.filter(
                this, f.name(), inner.build(), args(f.args(), scope), kwargs(f.args(), scope));
        out.append(Values.str(v));
      } catch (TemplateException e) {
        throw at(e, f.offset());
      }
      return flow;
    }
    return Flow.NORMAL;
  }

  private void assign(List<String> targets, Object value, Scope scope) {
    if (targets.size() == 1) {
      scope.set(targets.get(0), value);
      return;
    }
    List<Object> items = Values.iterate(value);
    if (items.size() != targets.size()) {
      throw new TemplateException(
          "cannot unpack "
              + items.size()
              + " values into "
              + targets.size()
              + " variables "
              + targets);
    }
    for (int i = 0; i < targets.size(); i++) {
      scope.set(targets.get(i), items.get(i));
    }
  }

  private Flow execFor(Node.For f, Scope scope, PString.Builder out) {
    List<Object> items;
    Scope loopScope = new Scope(scope);
    try {
      items = Values.iterate(eval(f.iterable(), scope));
      if (f.filter() != null) {
        List<Object> kept = new ArrayList<>();
        for (Object item : items) {
          countIteration();
          assign(f.targets(), item, loopScope);
          if (Values.truthy(eval(f.filter(), loopScope))) {
            kept.add(item);
          }
        }
        items = kept;
      }
    } catch (TemplateException e) {
      throw at(e, f.offset());
    }
    if (items.isEmpty()) {
      return exec(f.otherwise(), scope, out);
    }
    Loop loop = new Loop(items);
    loopScope.set("loop", loop);
    for (int i = 0; i < items.size(); i++) {
      countIteration();
      loop.index0 = i;
      try {
        assign(f.targets(), items.get(i), loopScope);
      } catch (TemplateException e) {
        throw at(e, f.offset());
      }
      Flow flow = exec(f.body(), loopScope, out);
      if (flow == Flow.BREAK) {
        break;
      }
    }
    return Flow.NORMAL;
  }

  // ---------------------------------------------------------------- expressions

  Object eval(Expr e, Scope scope) {
    if (e instanceof Node.Literal l) {
      return l.value();
    }
    if (e instanceof Node.Name n) {
      Object v = scope.lookup(n.name());
      return v == null ? new Undefined(n.name()) : v;
    }
    if (e instanceof Node.Attr a) {
      return getAttr(eval(a.object(), scope), a.name(), a.key());
    }
    if (e instanceof Node.Binary b) {
      return binary(b, scope);
    }
    if (e instanceof Node.Item i) {
      return getItem(eval(i.object(), scope), eval(i.index(), scope));
    }
    if (e instanceof Node.Filter f) {
      Object value = eval(f.value(), scope);
      return Builtins.filter(this, f.name(), value, args(f.args(), scope), kwargs(f.args(), scope));
    }
    if (e instanceof Node.Test t) {
      Object value = eval(t.value(), scope);
      boolean r = Builtins.test(this, t.name(), value, args(t.args(), scope));
      return r != t.negated();
    }
    if (e instanceof Node.Call c) {
      return call(c, scope);
    }
    if (e instanceof Node.Unary u) {
      return unary(u.op(), eval(u.operand(), scope));
    }
    if (e instanceof Node.Cond c) {
      if (Values.truthy(eval(c.condition(), scope))) {
        return eval(c.then(), scope);
      }
      return c.otherwise() == null ? new Undefined("conditional") : eval(c.otherwise(), scope);
    }
    if (e instanceof Node.Slice s) {
      return slice(
          eval(s.object(), scope),
          sliceBound(s.start(), scope),
          sliceBound(s.stop(), scope),
          sliceBound(s.step(), scope));
    }
    if (e instanceof Node.ListExpr l) {
      List<Object> items = new ArrayList<>(l.items().size());
      for (Expr item : l.items()) {
        items.add(eval(item, scope));
      }
      return l.tuple() ? new Values.Tuple(items) : Values.list(items);
    }
    if (e instanceof Node.DictExpr d) {
      Map<Object, Object> map = new LinkedHashMap<>();
      for (int i = 0; i < d.keys().size(); i++) {
        map.put(Values.hashable(eval(d.keys().get(i), scope)), eval(d.values().get(i), scope));
      }
      return Values.dict(map);
    }
    throw new IllegalStateException("unknown expression node " + e);
  }

  private Long sliceBound(Expr e, Scope scope) {
    if (e == null) {
      return null;
    }
    Object v = eval(e, scope);
    if (v == Values.NONE) {
      return null;
    }
    if (v instanceof Long || v instanceof Boolean) {
      return Values.toLong(v);
    }
    throw new TemplateException(
        "slice indices must be integers or None, not " + Values.typeName(v));
  }

  private List<Object> args(Args a, Scope scope) {
    if (a.positional().isEmpty()) {
      return List.of();
    }
    List<Object> out = new ArrayList<>(a.positional().size());
    for (Expr e : a.positional()) {
      out.add(eval(e, scope));
    }
    return out;
  }

  private Map<String, Object> kwargs(Args a, Scope scope) {
    if (a.names().isEmpty()) {
      return Map.of();
    }
    Map<String, Object> out = new LinkedHashMap<>();
    for (int i = 0; i < a.names().size(); i++) {
      out.put(a.names().get(i), eval(a.values().get(i), scope));
    }
    return out;
  }

  private Object call(Node.Call c, Scope scope) {
    if (c.callee() instanceof Node.Attr a) {
      Object obj = eval(a.object(), scope);
      if (hasMethod(obj, a.name())) {
        return Builtins.method(this, obj, a.name(), args(c.args(), scope), kwargs(c.args(), scope));
      }
      return invoke(getAttr(obj, a.name(), a.key()), c, scope);
    }
    return invoke(eval(c.callee(), scope), c, scope);
  }

  private Object invoke(Object f, Node.Call c, Scope scope) {
    if (f instanceof Callable callable) {
      return callable.call(args(c.args(), scope), kwargs(c.args(), scope));
    }
    if (f instanceof Undefined u) {
      throw u.error("called as a function");
    }
    throw new TemplateException("'" + Values.typeName(f) + "' object is not callable");
  }

  static boolean hasMethod(Object obj, String name) {
    if (obj instanceof PString) {
      return STRING_METHODS.contains(name);
    }
    if (obj instanceof Map<?, ?>) {
      return DICT_METHODS.contains(name);
    }
    if (obj instanceof List<?>) {
      return LIST_METHODS.contains(name);
    }
    return false;
  }

  /**
   * Jinja's {@code obj.name}: a method of the value, else the item {@code name}, else undefined.
   */
  Object getAttr(Object obj, String name, PString key) {
    if (obj instanceof Map<?, ?> m) {
      if (DICT_METHODS.contains(name)) {
        return bound(obj, name);
      }
      Object v = m.get(key);
      return v == null ? new Undefined(name) : v;
    }
    if (obj instanceof Undefined u) {
      throw u.error("has no attribute '" + name + "'");
    }
    if (obj instanceof Namespace ns) {
      Object v = ns.attributes.get(name);
      return v == null ? new Undefined(name) : v;
    }
    if (obj instanceof Loop loop) {
      return loop.attribute(name);
    }
    if (hasMethod(obj, name)) {
      return bound(obj, name);
    }
    return new Undefined(name);
  }

  private Callable bound(Object obj, String name) {
    return (args, kwargs) -> Builtins.method(this, obj, name, args, kwargs);
  }

  /** Jinja's {@code obj[key]}: out-of-range indices and missing keys give undefined. */
  Object getItem(Object obj, Object key) {
    if (obj instanceof Map<?, ?> m) {
      Object v = m.get(key);
      if (v == null && key instanceof Boolean b) {
        v = m.get(b ? 1L : 0L);
      }
      return v == null ? new Undefined(String.valueOf(key)) : v;
    }
    if (obj instanceof List<?> l) {
      if (key instanceof Long || key instanceof Boolean) {
        long i = Values.toLong(key);
        if (i < 0) {
          i += l.size();
        }
        if (i >= 0 && i < l.size()) {
          return l.get((int) i);
        }
      }
      return new Undefined("[" + key + "]");
    }
    if (obj instanceof PString s) {
      if (key instanceof Long || key instanceof Boolean) {
        PString c = Strings.charAt(s, Values.toLong(key));
        if (c != null) {
          return c;
        }
      }
      return new Undefined("[" + key + "]");
    }
    if (obj instanceof Undefined u) {
      throw u.error("subscripted with [" + key + "]");
    }
    if (key instanceof PString name) {
      return getAttr(obj, name.text(), name);
    }
    return new Undefined("[" + key + "]");
  }

  private static Object slice(Object obj, Long start, Long stop, Long step) {
    if (obj instanceof PString s) {
      return Strings.slice(s, start, stop, step);
    }
    if (obj instanceof List<?> l) {
      long[] r = Strings.sliceIndices(l.size(), start, stop, step);
      List<Object> out = new ArrayList<>();
      for (long i = r[0]; r[2] > 0 ? i < r[1] : i > r[1]; i += r[2]) {
        out.add(l.get((int) i));
      }
      return Values.list(out);
    }
    if (obj instanceof Undefined u) {
      throw u.error("sliced");
    }
    throw new TemplateException("'" + Values.typeName(obj) + "' object is not subscriptable");
  }

  private static Object unary(String op, Object v) {
    switch (op) {
      case "not":
        return !Values.truthy(v);
      case "-":
        if (v instanceof Double d) {
          return -d;
        }
        if (v instanceof Long || v instanceof Boolean) {
          return Math.negateExact(Values.toLong(v));
        }
        break;
      case "+":
        if (v instanceof Double || v instanceof Long) {
          return v;
        }
        if (v instanceof Boolean) {
          return Values.toLong(v);
        }
        break;
      default:
        throw new IllegalStateException("unknown unary operator " + op);
    }
    if (v instanceof Undefined u) {
      throw u.error("used with unary " + op);
    }
    throw new TemplateException(
        "bad operand type for unary " + op + ": '" + Values.typeName(v) + "'");
  }

  private Object binary(Node.Binary b, Scope scope) {
    String op = b.op();
    switch (op) {
      case "and":
        {
          Object left = eval(b.left(), scope);
          return Values.truthy(left) ? eval(b.right(), scope) : left;
        }
      case "or":
        {
          Object left = eval(b.left(), scope);
          return Values.truthy(left) ? left : eval(b.right(), scope);
        }
      default:
        break;
    }
    Object l = eval(b.left(), scope);
    Object r = eval(b.right(), scope);
    return switch (op) {
      case "==" -> Values.equal(l, r);
      case "!=" -> !Values.equal(l, r);
      case "<" -> Values.compare(l, r, op) < 0;
      case ">" -> Values.compare(l, r, op) > 0;
      case "<=" -> Values.compare(l, r, op) <= 0;
      case ">=" -> Values.compare(l, r, op) >= 0;
      case "in" -> Values.contains(r, l);
      case "not in" -> !Values.contains(r, l);
      case "~" -> Values.str(l).concat(Values.str(r));
      default -> Arithmetic.apply(op, l, r);
    };
  }
}
