package dev.im4j.onnx.graph;

/**
 * One dimension of a tensor shape: a static size, a named symbol (such as {@code "batch"}), or
 * unknown.
 *
 * @param size the size when static, else -1
 * @param symbol the symbol when symbolic, else null
 */
public record Dim(long size, String symbol) {

  private static final Dim UNKNOWN = new Dim(-1, null);

  public Dim {
    if (size < -1) {
      throw new IllegalArgumentException("dimension size must be >= 0 (or -1) but was " + size);
    }
    if (size >= 0 && symbol != null) {
      throw new IllegalArgumentException(
          "a dimension is static or symbolic, not both: size " + size + ", symbol " + symbol);
    }
    if (symbol != null && symbol.isEmpty()) {
      throw new IllegalArgumentException("dimension symbol must not be empty");
    }
  }

  /** A static dimension. */
  public static Dim of(long size) {
    if (size < 0) {
      throw new IllegalArgumentException("static dimension must be >= 0 but was " + size);
    }
    return new Dim(size, null);
  }

  /** A symbolic dimension. */
  public static Dim sym(String symbol) {
    return new Dim(-1, java.util.Objects.requireNonNull(symbol, "symbol"));
  }

  /** A dimension nothing is known about. */
  public static Dim unknown() {
    return UNKNOWN;
  }

  public boolean isStatic() {
    return size >= 0;
  }

  public boolean isSymbolic() {
    return symbol != null;
  }

  public boolean isUnknown() {
    return size < 0 && symbol == null;
  }

  /** Whether this is statically 1. */
  boolean isOne() {
    return size == 1;
  }

  @Override
  public String toString() {
    return isStatic() ? Long.toString(size) : isSymbolic() ? symbol : "?";
  }
}
