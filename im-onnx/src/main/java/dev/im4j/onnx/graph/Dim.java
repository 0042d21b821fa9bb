package dev.im4j.onnx.graph;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

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

  /**
   * The product of {@code dims}: static if they all are; a product symbol if the rest are symbolic
   * ({@code batch*seq}, {@code 9*batch*seq}: a static factor first, then the symbols' factors in
   * sorted order, so that equal products get equal names whatever the order of their factors);
   * unknown if any is unknown (or is a symbol named like a number). A product symbol names the size
   * it stands for, as every symbol does: ONNX Runtime's memory planner reuses buffers whose shapes
   * name the same symbols.
   */
  static Dim product(List<Dim> dims) {
    long coefficient = 1;
    List<String> symbols = new ArrayList<>();
    for (Dim d : dims) {
      if (d.isUnknown() || (d.isSymbolic() && isNumber(d.symbol()))) {
        return UNKNOWN; // a symbol named like a number is another model's, not a size
      } else if (d.isStatic()) {
        coefficient = Math.multiplyExact(coefficient, d.size());
      } else {
        for (String factor : d.symbol().split("\\*", -1)) {
          if (isNumber(factor)) {
            coefficient = Math.multiplyExact(coefficient, Long.parseLong(factor));
          } else {
            symbols.add(factor);
          }
        }
      }
    }
    return productOf(coefficient, symbols);
  }

  /**
   * This dimension divided by the static {@code divisor}: exact for a static size or a product
   * symbol whose static factor {@code divisor} divides; otherwise unknown.
   */
  Dim dividedBy(long divisor) {
    if (divisor <= 0 || isUnknown()) {
      return UNKNOWN;
    }
    if (isStatic()) {
      return size % divisor == 0 ? Dim.of(size / divisor) : UNKNOWN;
    }
    Dim canonical = product(List.of(this));
    if (canonical.isUnknown()) {
      return UNKNOWN;
    }
    String[] factors = canonical.symbol.split("\\*", 2);
    boolean hasCoefficient = isNumber(factors[0]);
    long coefficient = hasCoefficient ? Long.parseLong(factors[0]) : 1;
    if (coefficient % divisor != 0) {
      return UNKNOWN;
    }
    List<String> symbols =
        List.of((hasCoefficient ? factors[1] : canonical.symbol).split("\\*", -1));
    return productOf(coefficient / divisor, symbols);
  }

  private static boolean isNumber(String factor) {
    return !factor.isEmpty()
        && factor.length() <= 18
        && factor.chars().allMatch(c -> c >= '0' && c <= '9');
  }

  private static Dim productOf(long coefficient, List<String> symbols) {
    if (symbols.isEmpty()) {
      return Dim.of(coefficient);
    }
    if (coefficient == 0) {
      return Dim.of(0);
    }
    List<String> sorted = new ArrayList<>(symbols);
    Collections.sort(sorted);
    String name = String.join("*", sorted);
    return Dim.sym(coefficient == 1 ? name : coefficient + "*" + name);
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
