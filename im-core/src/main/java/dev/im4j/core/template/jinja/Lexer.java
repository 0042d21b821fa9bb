package dev.im4j.core.template.jinja;

import dev.im4j.core.template.TemplateException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits a template into tokens with Hugging Face's whitespace settings: {@code trim_blocks} (the
 * first newline after a block or comment tag is removed), {@code lstrip_blocks} (spaces and tabs
 * before a block or comment tag at the start of a line are removed; {@code {%+} opts out), and the
 * {@code -} markers that strip all whitespace on that side of a tag.
 */
final class Lexer {
  private static final Pattern END_RAW = Pattern.compile("\\{%([-+]?)\\s*endraw\\s*(-?)%\\}");
  private static final String[] OPERATORS = {
    "//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", "(", ")", "[",
    "]", "{", "}", ",", ".", ":", "|"
  };

  private final String src;
  private int pos;

  /** A piece before whitespace processing: template text or a tag with its tokens. */
  private static final class Piece {
    final boolean isText;
    final boolean block; // block or comment tag (subject to trim/lstrip blocks)
    final boolean stripLeft; // "{%-"
    final boolean noLstrip; // "{%+"
    final boolean stripRight; // "-%}"
    final boolean noTrim; // "+%}": keeps the newline that trim_blocks would remove
    String text;
    final int offset;
    final List<Token> tokens;

    Piece(String text, int offset) {
      this.isText = true;
      this.text = text;
      this.offset = offset;
      this.block = false;
      this.stripLeft = false;
      this.noLstrip = false;
      this.stripRight = false;
      this.noTrim = false;
      this.tokens = List.of();
    }

    Piece(
        boolean block,
        boolean stripLeft,
        boolean noLstrip,
        boolean stripRight,
        boolean noTrim,
        int offset,
        List<Token> tokens) {
      this.isText = false;
      this.noTrim = noTrim;
      this.block = block;
      this.stripLeft = stripLeft;
      this.noLstrip = noLstrip;
      this.stripRight = stripRight;
      this.offset = offset;
      this.tokens = tokens;
    }
  }

  private Lexer(String src) {
    // Like jinja2 (newline_sequence="\n", keep_trailing_newline=False): all line breaks become
    // "\n" and one trailing line break is dropped.
    String normalized =
        src.indexOf('\r') >= 0 ? src.replace("\r\n", "\n").replace('\r', '\n') : src;
    if (normalized.endsWith("\n")) {
      normalized = normalized.substring(0, normalized.length() - 1);
    }
    this.src = normalized;
  }

  /** Tokenizes {@code source}; the last token is {@link Token.Type#EOF}. */
  static List<Token> tokenize(String source) {
    return new Lexer(source).run();
  }

  /** "line L, column C" (both 1-based) of {@code offset} in {@code source}. */
  static String position(String source, int offset) {
    int line = 1;
    int lineStart = 0;
    int end = Math.min(offset, source.length());
    for (int i = 0; i < end; i++) {
      if (source.charAt(i) == '\n') {
        line++;
        lineStart = i + 1;
      }
    }
    return "line " + line + ", column " + (end - lineStart + 1);
  }

  private TemplateException error(String message, int offset) {
    return new TemplateException(
        "template syntax error at " + position(src, offset) + ": " + message);
  }

  private List<Token> run() {
    List<Piece> pieces = new ArrayList<>();
    while (pos < src.length()) {
      int open = findOpen(pos);
      if (open < 0) {
        pieces.add(new Piece(src.substring(pos), pos));
        break;
      }
      if (open > pos) {
        pieces.add(new Piece(src.substring(pos, open), pos));
      }
      char kind = src.charAt(open + 1);
      int p = open + 2;
      boolean stripLeft = p < src.length() && src.charAt(p) == '-';
      boolean noLstrip = p < src.length() && src.charAt(p) == '+';
      if (stripLeft || noLstrip) {
        p++;
      }
      if (kind == '#') {
        int close = src.indexOf("#}", p);
        if (close < 0) {
          throw error("comment is not closed with #}", open);
        }
        boolean stripRight = close > p && src.charAt(close - 1) == '-';
        pieces.add(new Piece(true, stripLeft, noLstrip, stripRight, false, open, List.of()));
        pos = close + 2;
        continue;
      }
      List<Token> tokens = new ArrayList<>();
      boolean isBlock = kind == '%';
      tokens.add(new Token(isBlock ? Token.Type.BLOCK_BEGIN : Token.Type.VAR_BEGIN, "", open));
      pos = p;
      int end = lexTag(tokens, isBlock, open);
      pieces.add(
          new Piece(
              isBlock, stripLeft, noLstrip, end == STRIP_RIGHT, end == NO_TRIM, open, tokens));
      if (isBlock && tokens.size() == 3 && tokens.get(1).isName("raw")) {
        lexRaw(pieces, open);
      }
    }
    applyWhitespaceControl(pieces);
    List<Token> out = new ArrayList<>();
    for (Piece piece : pieces) {
      if (piece.isText) {
        if (!piece.text.isEmpty()) {
          out.add(new Token(Token.Type.TEXT, piece.text, piece.offset));
        }
      } else {
        out.addAll(piece.tokens);
      }
    }
    out.add(new Token(Token.Type.EOF, "", src.length()));
    return out;
  }

  private int findOpen(int from) {
    for (int i = from; i + 1 < src.length(); i++) {
      if (src.charAt(i) == '{') {
        char c = src.charAt(i + 1);
        if (c == '{' || c == '%' || c == '#') {
          return i;
        }
      }
    }
    return -1;
  }

  /** After {@code {% raw %}}: the text up to {@code {% endraw %}} becomes one text piece. */
  private void lexRaw(List<Piece> pieces, int open) {
    Matcher m = END_RAW.matcher(src);
    if (!m.find(pos)) {
      throw error("{% raw %} is not closed with {% endraw %}", open);
    }
    Piece raw = pieces.remove(pieces.size() - 1);
    pieces.add(
        new Piece(true, raw.stripLeft, raw.noLstrip, raw.stripRight, raw.noTrim, open, List.of()));
    pieces.add(new Piece(src.substring(pos, m.start()), pos));
    boolean stripLeft = m.group(1).equals("-");
    boolean noLstrip = m.group(1).equals("+");
    boolean stripRight = m.group(2).equals("-");
    pieces.add(new Piece(true, stripLeft, noLstrip, stripRight, false, m.start(), List.of()));
    pos = m.end();
  }

  private static final int PLAIN_END = 0;
  private static final int STRIP_RIGHT = 1;
  private static final int NO_TRIM = 2;

  /**
   * Lexes expression tokens up to the closing delimiter; returns {@link #STRIP_RIGHT} for "-%}" or
   * "-}}", {@link #NO_TRIM} for "+%}", else {@link #PLAIN_END}.
   */
  private int lexTag(List<Token> tokens, boolean isBlock, int open) {
    String close = isBlock ? "%}" : "}}";
    int depth = 0;
    while (true) {
      while (pos < src.length() && Character.isWhitespace(src.charAt(pos))) {
        pos++;
      }
      if (pos >= src.length()) {
        throw error("tag is not closed with " + close, open);
      }
      if (depth == 0) {
        if (src.startsWith("-" + close, pos)) {
          tokens.add(new Token(isBlock ? Token.Type.BLOCK_END : Token.Type.VAR_END, "", pos));
          pos += 3;
          return STRIP_RIGHT;
        }
        if (isBlock && src.startsWith("+" + close, pos)) {
          tokens.add(new Token(Token.Type.BLOCK_END, "", pos));
          pos += 3;
          return NO_TRIM;
        }
        if (src.startsWith(close, pos)) {
          tokens.add(new Token(isBlock ? Token.Type.BLOCK_END : Token.Type.VAR_END, "", pos));
          pos += 2;
          return PLAIN_END;
        }
      }
      char c = src.charAt(pos);
      int start = pos;
      if (Character.isLetter(c) || c == '_') {
        while (pos < src.length()
            && (Character.isLetterOrDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
          pos++;
        }
        tokens.add(new Token(Token.Type.NAME, src.substring(start, pos), start));
      } else if (Character.isDigit(c)) {
        tokens.add(lexNumber());
      } else if (c == '\'' || c == '"') {
        tokens.add(new Token(Token.Type.STRING, lexString(c), start));
      } else {
        String op = null;
        for (String candidate : OPERATORS) {
          if (src.startsWith(candidate, pos)) {
            op = candidate;
            break;
          }
        }
        if (op == null) {
          throw error("unexpected character '" + c + "'", pos);
        }
        switch (op) {
          case "(", "[", "{" -> depth++;
          case ")", "]", "}" -> {
            if (depth == 0) {
              throw error("unbalanced '" + op + "'", pos);
            }
            depth--;
          }
          default -> {}
        }
        pos += op.length();
        tokens.add(new Token(Token.Type.OP, op, start));
      }
    }
  }

  private Token lexNumber() {
    int start = pos;
    while (pos < src.length() && (Character.isDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
      pos++;
    }
    boolean isFloat = false;
    if (pos + 1 < src.length()
        && src.charAt(pos) == '.'
        && Character.isDigit(src.charAt(pos + 1))) {
      isFloat = true;
      pos++;
      while (pos < src.length() && (Character.isDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
        pos++;
      }
    }
    if (pos < src.length() && (src.charAt(pos) == 'e' || src.charAt(pos) == 'E')) {
      int save = pos;
      pos++;
      if (pos < src.length() && (src.charAt(pos) == '+' || src.charAt(pos) == '-')) {
        pos++;
      }
      if (pos < src.length() && Character.isDigit(src.charAt(pos))) {
        isFloat = true;
        while (pos < src.length() && Character.isDigit(src.charAt(pos))) {
          pos++;
        }
      } else {
        pos = save;
      }
    }
    String text = src.substring(start, pos).replace("_", "");
    return new Token(isFloat ? Token.Type.FLOAT : Token.Type.INT, text, start);
  }

  private String lexString(char quote) {
    int start = pos;
    pos++;
    StringBuilder sb = new StringBuilder();
    while (true) {
      if (pos >= src.length()) {
        throw error("string literal is not closed", start);
      }
      char c = src.charAt(pos++);
      if (c == quote) {
        return sb.toString();
      }
      if (c != '\\') {
        sb.append(c);
        continue;
      }
      if (pos >= src.length()) {
        throw error("string literal is not closed", start);
      }
      char e = src.charAt(pos++);
      switch (e) {
        case 'n' -> sb.append('\n');
        case 't' -> sb.append('\t');
        case 'r' -> sb.append('\r');
        case 'b' -> sb.append('\b');
        case 'f' -> sb.append('\f');
        case 'v' -> sb.append('\u000b');
        case 'a' -> sb.append('\u0007');
        case '0' -> sb.append('\0');
        case '\\', '\'', '"' -> sb.append(e);
        case '\n' -> {}
        case 'x' -> sb.appendCodePoint(hex(2, start));
        case 'u' -> sb.appendCodePoint(hex(4, start));
        case 'U' -> sb.appendCodePoint(hex(8, start));
        default -> sb.append('\\').append(e);
      }
    }
  }

  private int hex(int digits, int start) {
    if (pos + digits > src.length()) {
      throw error("truncated escape in string literal", start);
    }
    try {
      int cp = Integer.parseInt(src.substring(pos, pos + digits), 16);
      if (!Character.isValidCodePoint(cp)) {
        throw error("escape is not a valid code point", start);
      }
      pos += digits;
      return cp;
    } catch (NumberFormatException e) {
      throw new TemplateException(
          "template syntax error at " + position(src, start) + ": bad escape in string literal", e);
    }
  }

  private static String stripTrailing(String s) {
    int end = s.length();
    while (end > 0 && Character.isWhitespace(s.charAt(end - 1))) {
      end--;
    }
    return s.substring(0, end);
  }

  private static void applyWhitespaceControl(List<Piece> pieces) {
    for (int i = 0; i < pieces.size(); i++) {
      Piece text = pieces.get(i);
      if (!text.isText) {
        continue;
      }
      Piece prev = i > 0 ? pieces.get(i - 1) : null;
      Piece next = i + 1 < pieces.size() ? pieces.get(i + 1) : null;
      String s = text.text;
      boolean atLineStart = prev == null;
      if (prev != null && !prev.isText) {
        if (prev.stripRight) {
          int k = 0;
          while (k < s.length() && Character.isWhitespace(s.charAt(k))) {
            k++;
          }
          s = s.substring(k);
        } else if (prev.block && !prev.noTrim) {
          if (s.startsWith("\n")) {
            s = s.substring(1);
            atLineStart = true;
          }
        }
      }
      if (next != null && !next.isText) {
        if (next.stripLeft) {
          s = stripTrailing(s);
        } else if (next.block && !next.noLstrip) {
          int k = s.length();
          while (k > 0 && (s.charAt(k - 1) == ' ' || s.charAt(k - 1) == '\t')) {
            k--;
          }
          boolean lineStart =
              k > 0 ? s.charAt(k - 1) == '\n' || s.charAt(k - 1) == '\r' : atLineStart;
          if (lineStart) {
            s = s.substring(0, k);
          }
        }
      }
      text.text = s;
    }
  }
}
