package dev.im4j.core.template.jinja;

/**
 * One lexical token of a template.
 *
 * @param type what kind of token
 * @param value the text: template text for {@link Type#TEXT}, decoded value for strings, the
 *     operator or name otherwise
 * @param offset index of the token in the template source (for error messages)
 */
record Token(Token.Type type, String value, int offset) {
  enum Type {
    TEXT,
    VAR_BEGIN,
    VAR_END,
    BLOCK_BEGIN,
    BLOCK_END,
    NAME,
    STRING,
    INT,
    FLOAT,
    OP,
    EOF
  }

  boolean is(Type t, String v) {
    return type == t && value.equals(v);
  }

  boolean isName(String v) {
    return is(Type.NAME, v);
  }

  boolean isOp(String v) {
    return is(Type.OP, v);
  }
}
