package dev.im4j.onnx.graph;

import java.util.ArrayList;
import java.util.List;

/**
 * The shape of a tensor: a known rank with static, symbolic or unknown dimensions.
 *
 * @param dims the dimensions, outermost first (copied, unmodifiable)
 */
public record Shape(List<Dim> dims) {

  public Shape {
    dims = List.copyOf(dims);
  }

  /** A fully static shape. */
  public static Shape of(long... sizes) {
    List<Dim> d = new ArrayList<>(sizes.length);
    for (long s : sizes) {
      d.add(Dim.of(s));
    }
    return new Shape(d);
  }

  /** A shape from dimensions. */
  public static Shape of(Dim... dims) {
    return new Shape(List.of(dims));
  }

  /** The rank-0 shape of a scalar. */
  public static Shape scalar() {
    return new Shape(List.of());
  }

  public int rank() {
    return dims.size();
  }

  /** Dimension {@code i}; negative {@code i} counts from the end. */
  public Dim dim(int i) {
    return dims.get(i < 0 ? i + dims.size() : i);
  }

  /** Whether every dimension is static. */
  public boolean isStatic() {
    return dims.stream().allMatch(Dim::isStatic);
  }

  /**
   * The static sizes.
   *
   * @throws IllegalStateException if a dimension is not static
   */
  public long[] sizes() {
    long[] s = new long[dims.size()];
    for (int i = 0; i < s.length; i++) {
      if (!dims.get(i).isStatic()) {
        throw new IllegalStateException("shape " + this + " is not static at axis " + i);
      }
      s[i] = dims.get(i).size();
    }
    return s;
  }

  /** The element count of a static shape. */
  public long elementCount() {
    long n = 1;
    for (long s : sizes()) {
      n = Math.multiplyExact(n, s);
    }
    return n;
  }

  @Override
  public String toString() {
    return dims.toString();
  }
}
