package dev.im4j.core.template.jinja;

import java.util.List;

/** The syntax tree of a template: expressions and statements, immutable records. */
final class Node {
  private Node() {}

  /** An expression; {@code offset} positions in the source are kept for error messages. */
  sealed interface Expr
      permits Literal,
          Name,
          ListExpr,
          DictExpr,
          Attr,
          Item,
          Slice,
          Call,
          Filter,
          Test,
          Unary,
          Binary,
          Cond {}

  /** Positional and keyword arguments of a call, filter or test. */
  record Args(List<Expr> positional, List<String> names, List<Expr> values) {
    static final Args NONE = new Args(List.of(), List.of(), List.of());

    Args {
      positional = List.copyOf(positional);
      names = List.copyOf(names);
      values = List.copyOf(values);
    }
  }

  record Literal(Object value) implements Expr {}

  record Name(String name, int offset) implements Expr {}

  /** A list literal, or a tuple when {@code tuple} (tuples are immutable lists at run time). */
  record ListExpr(List<Expr> items, boolean tuple) implements Expr {}

  record DictExpr(List<Expr> keys, List<Expr> values) implements Expr {}

  /** {@code object.name}; {@code key} is {@code name} as a dict key. */
  record Attr(Expr object, String name, PString key, int offset) implements Expr {}

  record Item(Expr object, Expr index, int offset) implements Expr {}

  /** {@code object[start:stop:step]}; absent parts are null. */
  record Slice(Expr object, Expr start, Expr stop, Expr step, int offset) implements Expr {}

  record Call(Expr callee, Args args, int offset) implements Expr {}

  record Filter(Expr value, String name, Args args, int offset) implements Expr {}

  record Test(Expr value, String name, Args args, boolean negated, int offset) implements Expr {}

  record Unary(String op, Expr operand, int offset) implements Expr {}

  /** Binary operator, including the short-circuit {@code and}/{@code or} and {@code in}. */
  record Binary(String op, Expr left, Expr right, int offset) implements Expr {}

  /** {@code then if condition else otherwise}; {@code otherwise} may be null (undefined). */
  record Cond(Expr condition, Expr then, Expr otherwise) implements Expr {}

  /** A statement of a template body. */
  sealed interface Stmt
      permits Text,
          Output,
          If,
          For,
          Set,
          SetAttr,
          BlockSet,
          Macro,
          Break,
          Continue,
          Block,
          FilterBlock {}

  record Text(PString text) implements Stmt {}

  record Output(Expr expr, int offset) implements Stmt {}

  /**
   * {@code if}/{@code elif} chains: {@code conditions.get(i)}, written at source offset {@code
   * offsets.get(i)}, guards {@code bodies.get(i)}.
   */
  record If(
      List<Expr> conditions, List<Integer> offsets, List<List<Stmt>> bodies, List<Stmt> otherwise)
      implements Stmt {}

  record For(
      List<String> targets,
      Expr iterable,
      Expr filter,
      List<Stmt> body,
      List<Stmt> otherwise,
      int offset)
      implements Stmt {}

  /** {@code set a = v} or {@code set a, b = v}. */
  record Set(List<String> targets, Expr value, int offset) implements Stmt {}

  /** {@code set ns.attr = v}. */
  record SetAttr(String namespace, String attribute, Expr value, int offset) implements Stmt {}

  /** {@code set name %}...{% endset}. */
  record BlockSet(String name, List<Stmt> body) implements Stmt {}

  record Macro(String name, List<String> params, List<Expr> defaults, List<Stmt> body)
      implements Stmt {}

  record Break(int offset) implements Stmt {}

  record Continue(int offset) implements Stmt {}

  /** A body that only groups statements, such as {@code {% generation %}}. */
  record Block(List<Stmt> body) implements Stmt {}

  /** {@code {% filter name(args) %}...{% endfilter %}}: the body's output through a filter. */
  record FilterBlock(String name, Args args, List<Stmt> body, int offset) implements Stmt {}
}
