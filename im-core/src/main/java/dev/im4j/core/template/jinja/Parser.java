package dev.im4j.core.template.jinja;

import dev.im4j.core.template.TemplateException;
import dev.im4j.core.template.jinja.Node.Args;
import dev.im4j.core.template.jinja.Node.Expr;
import dev.im4j.core.template.jinja.Node.Stmt;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Recursive-descent parser for the Jinja subset used by chat templates. Operator precedence follows
 * Jinja: conditional, {@code or}, {@code and}, {@code not}, comparisons and {@code in}, {@code +
 * -}, {@code ~}, {@code * / // %}, {@code **}, unary minus, then filters/tests and postfix access.
 */
final class Parser {
  private static final Set<String> TEST_ARG_STOP = Set.of("else", "or", "and", "if", "is", "in");

  private final String source;
  private final List<Token> tokens;
  private int pos;
  private int depth;

  private Parser(String source) {
    this.source = source;
    this.tokens = Lexer.tokenize(source);
  }

  /** Parses a whole template into its top-level statements. */
  static List<Stmt> parse(String source) {
    Parser p = new Parser(source);
    List<Stmt> body = p.parseBody(Set.of());
    Token t = p.peek();
    if (t.type() != Token.Type.EOF) {
      throw p.error("unexpected '" + p.peek(1).value() + "'", p.peek(1));
    }
    return body;
  }

  private TemplateException error(String message, Token at) {
    return new TemplateException(
        "template syntax error at " + Lexer.position(source, at.offset()) + ": " + message);
  }

  private Token peek() {
    return tokens.get(pos);
  }

  private Token peek(int ahead) {
    return tokens.get(Math.min(pos + ahead, tokens.size() - 1));
  }

  private Token next() {
    Token t = tokens.get(pos);
    if (t.type() != Token.Type.EOF) {
      pos++;
    }
    return t;
  }

  private Token expect(Token.Type type, String what) {
    Token t = peek();
    if (t.type() != type) {
      throw error("expected " + what + " but found " + describe(t), t);
    }
    return next();
  }

  private void expectOp(String op) {
    Token t = peek();
    if (!t.isOp(op)) {
      throw error("expected '" + op + "' but found " + describe(t), t);
    }
    next();
  }

  private void expectName(String name) {
    Token t = peek();
    if (!t.isName(name)) {
      throw error("expected '" + name + "' but found " + describe(t), t);
    }
    next();
  }

  private static String describe(Token t) {
    return switch (t.type()) {
      case EOF -> "end of template";
      case BLOCK_END -> "end of tag";
      case VAR_END -> "'}}'";
      case TEXT -> "template text";
      case STRING -> "string literal";
      default -> "'" + t.value() + "'";
    };
  }

  private void enter(Token at) {
    if (++depth > Limits.MAX_PARSE_DEPTH) {
      throw error("nesting deeper than " + Limits.MAX_PARSE_DEPTH + " levels", at);
    }
  }

  // ---------------------------------------------------------------- statements

  /** Parses statements until a block tag whose name is in {@code ends} (not consumed) or EOF. */
  private List<Stmt> parseBody(Set<String> ends) {
    List<Stmt> body = new ArrayList<>();
    while (true) {
      Token t = peek();
      switch (t.type()) {
        case EOF -> {
          if (!ends.isEmpty()) {
            throw error("missing " + String.join(" or ", ends.stream().sorted().toList()), t);
          }
          return body;
        }
        case TEXT -> {
          next();
          body.add(new Node.Text(PString.of(t.value())));
        }
        case VAR_BEGIN -> {
          next();
          Expr e = parseExpression();
          expect(Token.Type.VAR_END, "'}}'");
          body.add(new Node.Output(e, t.offset()));
        }
        case BLOCK_BEGIN -> {
          Token name = peek(1);
          if (name.type() == Token.Type.BLOCK_END) {
            throw error("empty block tag", name);
          }
          if (name.type() == Token.Type.NAME && ends.contains(name.value())) {
            return body;
          }
          next();
          Stmt s = parseStatement(t);
          if (s != null) {
            body.add(s);
          }
        }
        default -> throw error("unexpected " + describe(t), t);
      }
    }
  }

  /** Consumes "{% name" ... and the body; the opening BLOCK_BEGIN is already consumed. */
  private Stmt parseStatement(Token begin) {
    Token keyword = expect(Token.Type.NAME, "a statement name");
    enter(keyword);
    try {
      return switch (keyword.value()) {
        case "if" -> parseIf();
        case "for" -> parseFor(keyword);
        case "set" -> parseSet(keyword);
        case "macro" -> parseMacro();
        case "break" -> {
          expect(Token.Type.BLOCK_END, "end of tag");
          yield new Node.Break(keyword.offset());
        }
        case "continue" -> {
          expect(Token.Type.BLOCK_END, "end of tag");
          yield new Node.Continue(keyword.offset());
        }
        case "raw" -> {
          // The lexer turned the raw body into text between this tag and endraw.
          expect(Token.Type.BLOCK_END, "end of tag");
          yield null;
        }
        case "filter" -> {
          Token name = expect(Token.Type.NAME, "a filter name");
          Args args = Args.NONE;
          if (peek().isOp("(")) {
            next();
            args = parseArgs();
          }
          expect(Token.Type.BLOCK_END, "end of tag");
          List<Stmt> body = parseBody(Set.of("endfilter"));
          endTag("endfilter");
          yield new Node.FilterBlock(name.value(), args, body, name.offset());
        }
        case "generation" -> {
          expect(Token.Type.BLOCK_END, "end of tag");
          List<Stmt> body = parseBody(Set.of("endgeneration"));
          endTag("endgeneration");
          yield new Node.Block(body);
        }
        default -> throw error("unknown or unsupported tag '" + keyword.value() + "'", keyword);
      };
    } finally {
      depth--;
    }
  }

  private void endTag(String name) {
    expect(Token.Type.BLOCK_BEGIN, "'{%'");
    expectName(name);
    expect(Token.Type.BLOCK_END, "end of tag");
  }

  private Stmt parseIf() {
    List<Expr> conditions = new ArrayList<>();
    List<List<Stmt>> bodies = new ArrayList<>();
    List<Integer> offsets = new ArrayList<>();
    List<Stmt> otherwise = List.of();
    offsets.add(peek().offset());
    conditions.add(parseExpression());
    expect(Token.Type.BLOCK_END, "end of tag");
    Set<String> ends = Set.of("elif", "else", "endif");
    bodies.add(parseBody(ends));
    while (true) {
      expect(Token.Type.BLOCK_BEGIN, "'{%'");
      Token t = next();
      if (t.isName("elif")) {
        offsets.add(peek().offset());
        conditions.add(parseExpression());
        expect(Token.Type.BLOCK_END, "end of tag");
        bodies.add(parseBody(ends));
      } else if (t.isName("else")) {
        expect(Token.Type.BLOCK_END, "end of tag");
        otherwise = parseBody(Set.of("endif"));
        endTag("endif");
        break;
      } else {
        expect(Token.Type.BLOCK_END, "end of tag");
        break;
      }
    }
    return new Node.If(
        List.copyOf(conditions), List.copyOf(offsets), List.copyOf(bodies), otherwise);
  }

  private Stmt parseFor(Token keyword) {
    List<String> targets = new ArrayList<>();
    targets.add(expect(Token.Type.NAME, "a loop variable").value());
    while (peek().isOp(",")) {
      next();
      targets.add(expect(Token.Type.NAME, "a loop variable").value());
    }
    expectName("in");
    Expr iterable = parseOr();
    Expr filter = null;
    if (peek().isName("if")) {
      next();
      filter = parseOr();
    }
    if (peek().isName("recursive")) {
      throw error("recursive loops are not supported", peek());
    }
    expect(Token.Type.BLOCK_END, "end of tag");
    List<Stmt> body = parseBody(Set.of("else", "endfor"));
    List<Stmt> otherwise = List.of();
    expect(Token.Type.BLOCK_BEGIN, "'{%'");
    if (peek().isName("else")) {
      next();
      expect(Token.Type.BLOCK_END, "end of tag");
      otherwise = parseBody(Set.of("endfor"));
      endTag("endfor");
    } else {
      expectName("endfor");
      expect(Token.Type.BLOCK_END, "end of tag");
    }
    return new Node.For(List.copyOf(targets), iterable, filter, body, otherwise, keyword.offset());
  }

  private Stmt parseSet(Token keyword) {
    Token first = expect(Token.Type.NAME, "a variable name");
    if (peek().isOp(".")) {
      next();
      String attr = expect(Token.Type.NAME, "an attribute name").value();
      expectOp("=");
      Expr value = parseExpression();
      expect(Token.Type.BLOCK_END, "end of tag");
      return new Node.SetAttr(first.value(), attr, value, keyword.offset());
    }
    List<String> targets = new ArrayList<>();
    targets.add(first.value());
    while (peek().isOp(",")) {
      next();
      targets.add(expect(Token.Type.NAME, "a variable name").value());
    }
    if (peek().type() == Token.Type.BLOCK_END && targets.size() == 1) {
      next();
      List<Stmt> body = parseBody(Set.of("endset"));
      endTag("endset");
      return new Node.BlockSet(first.value(), body);
    }
    expectOp("=");
    Expr value = parseTupleOrExpression();
    expect(Token.Type.BLOCK_END, "end of tag");
    return new Node.Set(List.copyOf(targets), value, keyword.offset());
  }

  private Stmt parseMacro() {
    String name = expect(Token.Type.NAME, "a macro name").value();
    expectOp("(");
    List<String> params = new ArrayList<>();
    List<Expr> defaults = new ArrayList<>();
    while (!peek().isOp(")")) {
      if (!params.isEmpty()) {
        expectOp(",");
        if (peek().isOp(")")) {
          break;
        }
      }
      params.add(expect(Token.Type.NAME, "a parameter name").value());
      if (peek().isOp("=")) {
        next();
        defaults.add(parseExpression());
      } else {
        defaults.add(null);
      }
    }
    expectOp(")");
    expect(Token.Type.BLOCK_END, "end of tag");
    List<Stmt> body = parseBody(Set.of("endmacro"));
    endTag("endmacro");
    return new Node.Macro(
        name, List.copyOf(params), java.util.Collections.unmodifiableList(defaults), body);
  }

  // ---------------------------------------------------------------- expressions

  /** An expression, or an unparenthesized tuple {@code a, b} (for set targets). */
  private Expr parseTupleOrExpression() {
    Expr first = parseExpression();
    if (!peek().isOp(",")) {
      return first;
    }
    List<Expr> items = new ArrayList<>();
    items.add(first);
    while (peek().isOp(",")) {
      next();
      items.add(parseExpression());
    }
    return new Node.ListExpr(List.copyOf(items), true);
  }

  Expr parseExpression() {
    Token start = peek();
    enter(start);
    try {
      Expr e = parseOr();
      while (peek().isName("if")) {
        next();
        Expr condition = parseOr();
        Expr otherwise = null;
        if (peek().isName("else")) {
          next();
          otherwise = parseExpression();
        }
        e = new Node.Cond(condition, e, otherwise);
      }
      return e;
    } finally {
      depth--;
    }
  }

  private Expr parseOr() {
    Expr left = parseAnd();
    while (peek().isName("or")) {
      Token t = next();
      left = new Node.Binary("or", left, parseAnd(), t.offset());
    }
    return left;
  }

  private Expr parseAnd() {
    Expr left = parseNot();
    while (peek().isName("and")) {
      Token t = next();
      left = new Node.Binary("and", left, parseNot(), t.offset());
    }
    return left;
  }

  private Expr parseNot() {
    if (peek().isName("not")) {
      Token t = next();
      enter(t);
      try {
        return new Node.Unary("not", parseNot(), t.offset());
      } finally {
        depth--;
      }
    }
    return parseCompare();
  }

  /** Comparisons chain as in Python: {@code a < b < c} means {@code a < b and b < c}. */
  private Expr parseCompare() {
    Expr left = parseMath1();
    Expr chain = null;
    while (true) {
      Token t = peek();
      String op;
      if (t.type() == Token.Type.OP
          && (t.value().equals("==")
              || t.value().equals("!=")
              || t.value().equals("<")
              || t.value().equals(">")
              || t.value().equals("<=")
              || t.value().equals(">="))) {
        op = t.value();
        next();
      } else if (t.isName("in")) {
        op = "in";
        next();
      } else if (t.isName("not") && peek(1).isName("in")) {
        op = "not in";
        next();
        next();
      } else {
        return chain == null ? left : chain;
      }
      Expr right = parseMath1();
      Expr comparison = new Node.Binary(op, left, right, t.offset());
      chain = chain == null ? comparison : new Node.Binary("and", chain, comparison, t.offset());
      left = right;
    }
  }

  private Expr parseMath1() {
    Expr left = parseConcat();
    while (peek().isOp("+") || peek().isOp("-")) {
      Token t = next();
      left = new Node.Binary(t.value(), left, parseConcat(), t.offset());
    }
    return left;
  }

  private Expr parseConcat() {
    Expr left = parseMath2();
    while (peek().isOp("~")) {
      Token t = next();
      left = new Node.Binary("~", left, parseMath2(), t.offset());
    }
    return left;
  }

  private Expr parseMath2() {
    Expr left = parsePow();
    while (peek().isOp("*") || peek().isOp("/") || peek().isOp("//") || peek().isOp("%")) {
      Token t = next();
      left = new Node.Binary(t.value(), left, parsePow(), t.offset());
    }
    return left;
  }

  private Expr parsePow() {
    Expr left = parseUnary();
    while (peek().isOp("**")) {
      Token t = next();
      left = new Node.Binary("**", left, parseUnary(), t.offset());
    }
    return left;
  }

  private Expr parseUnary() {
    Token t = peek();
    if (t.isOp("-") || t.isOp("+")) {
      next();
      enter(t);
      try {
        return parseFilterAndTests(new Node.Unary(t.value(), parseUnary(), t.offset()));
      } finally {
        depth--;
      }
    }
    return parseFilterAndTests(parsePostfix(parsePrimary()));
  }

  private Expr parseFilterAndTests(Expr e) {
    while (true) {
      Token t = peek();
      if (t.isOp("|")) {
        next();
        Token name = expect(Token.Type.NAME, "a filter name");
        String filterName = name.value();
        while (peek().isOp(".")) {
          next();
          filterName += "." + expect(Token.Type.NAME, "a filter name").value();
        }
        Args args = Args.NONE;
        if (peek().isOp("(")) {
          next();
          args = parseArgs();
        }
        e = new Node.Filter(e, filterName, args, name.offset());
      } else if (t.isName("is")) {
        next();
        boolean negated = false;
        if (peek().isName("not")) {
          next();
          negated = true;
        }
        Token name = expect(Token.Type.NAME, "a test name");
        Args args = Args.NONE;
        Token a = peek();
        if (a.isOp("(")) {
          next();
          args = parseArgs();
        } else if ((a.type() == Token.Type.STRING
                || a.type() == Token.Type.INT
                || a.type() == Token.Type.FLOAT
                || a.isOp("[")
                || a.isOp("{")
                || (a.type() == Token.Type.NAME && !TEST_ARG_STOP.contains(a.value())))
            && !name.value().equals("defined")
            && !name.value().equals("undefined")) {
          args = new Args(List.of(parsePostfix(parsePrimary())), List.of(), List.of());
        }
        e = new Node.Test(e, name.value(), args, negated, name.offset());
      } else {
        return e;
      }
    }
  }

  /** Arguments after "(" up to and including ")". */
  private Args parseArgs() {
    List<Expr> positional = new ArrayList<>();
    List<String> names = new ArrayList<>();
    List<Expr> values = new ArrayList<>();
    boolean first = true;
    while (!peek().isOp(")")) {
      if (!first) {
        expectOp(",");
        if (peek().isOp(")")) {
          break;
        }
      }
      first = false;
      Token t = peek();
      if (t.type() == Token.Type.NAME && peek(1).isOp("=")) {
        next();
        next();
        names.add(t.value());
        values.add(parseExpression());
      } else {
        if (!names.isEmpty()) {
          throw error("positional argument after keyword argument", t);
        }
        positional.add(parseExpression());
      }
    }
    expectOp(")");
    return new Args(positional, names, values);
  }

  private Expr parsePostfix(Expr e) {
    while (true) {
      Token t = peek();
      if (t.isOp(".")) {
        next();
        Token name = next();
        if (name.type() == Token.Type.NAME) {
          e = new Node.Attr(e, name.value(), PString.of(name.value()), name.offset());
        } else if (name.type() == Token.Type.INT) {
          e = new Node.Item(e, new Node.Literal(Long.parseLong(name.value())), name.offset());
        } else {
          throw error("expected an attribute name after '.' but found " + describe(name), name);
        }
      } else if (t.isOp("[")) {
        next();
        e = parseSubscript(e, t);
      } else if (t.isOp("(")) {
        next();
        e = new Node.Call(e, parseArgs(), t.offset());
      } else {
        return e;
      }
    }
  }

  private Expr parseSubscript(Expr object, Token open) {
    Expr start = null;
    if (!peek().isOp(":")) {
      start = parseExpression();
      if (peek().isOp("]")) {
        next();
        return new Node.Item(object, start, open.offset());
      }
    }
    expectOp(":");
    Expr stop = null;
    Expr step = null;
    if (!peek().isOp("]") && !peek().isOp(":")) {
      stop = parseExpression();
    }
    if (peek().isOp(":")) {
      next();
      if (!peek().isOp("]")) {
        step = parseExpression();
      }
    }
    expectOp("]");
    return new Node.Slice(object, start, stop, step, open.offset());
  }

  private Expr parsePrimary() {
    Token t = next();
    enter(t);
    try {
      switch (t.type()) {
        case NAME:
          return switch (t.value()) {
            case "true", "True" -> new Node.Literal(Boolean.TRUE);
            case "false", "False" -> new Node.Literal(Boolean.FALSE);
            case "none", "None" -> new Node.Literal(Values.NONE);
            default -> new Node.Name(t.value(), t.offset());
          };
        case STRING:
          {
            StringBuilder sb = new StringBuilder(t.value());
            while (peek().type() == Token.Type.STRING) {
              sb.append(next().value());
            }
            return new Node.Literal(PString.of(sb.toString()));
          }
        case INT:
          try {
            return new Node.Literal(Long.parseLong(t.value()));
          } catch (NumberFormatException e) {
            throw new TemplateException(
                "template syntax error at "
                    + Lexer.position(source, t.offset())
                    + ": integer literal out of range: "
                    + t.value(),
                e);
          }
        case FLOAT:
          return new Node.Literal(Double.parseDouble(t.value()));
        case OP:
          switch (t.value()) {
            case "(":
              {
                if (peek().isOp(")")) {
                  next();
                  return new Node.ListExpr(List.of(), true);
                }
                Expr first = parseExpression();
                if (peek().isOp(")")) {
                  next();
                  return first;
                }
                List<Expr> items = new ArrayList<>();
                items.add(first);
                while (peek().isOp(",")) {
                  next();
                  if (peek().isOp(")")) {
                    break;
                  }
                  items.add(parseExpression());
                }
                expectOp(")");
                return new Node.ListExpr(List.copyOf(items), true);
              }
            case "[":
              {
                List<Expr> items = new ArrayList<>();
                while (!peek().isOp("]")) {
                  if (!items.isEmpty()) {
                    expectOp(",");
                    if (peek().isOp("]")) {
                      break;
                    }
                  }
                  items.add(parseExpression());
                }
                expectOp("]");
                return new Node.ListExpr(List.copyOf(items), false);
              }
            case "{":
              {
                List<Expr> keys = new ArrayList<>();
                List<Expr> values = new ArrayList<>();
                while (!peek().isOp("}")) {
                  if (!keys.isEmpty()) {
                    expectOp(",");
                    if (peek().isOp("}")) {
                      break;
                    }
                  }
                  keys.add(parseExpression());
                  expectOp(":");
                  values.add(parseExpression());
                }
                expectOp("}");
                return new Node.DictExpr(List.copyOf(keys), List.copyOf(values));
              }
            default:
              break;
          }
          throw error("unexpected '" + t.value() + "'", t);
        default:
          throw error("expected an expression but found " + describe(t), t);
      }
    } finally {
      depth--;
    }
  }
}
