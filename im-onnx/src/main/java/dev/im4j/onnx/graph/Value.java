package dev.im4j.onnx.graph;

/**
 * A named tensor value in one {@link Graph}: a graph input, an initializer or a node output.
 *
 * <p>Values are minted only by their graph; passing a value to another graph fails. Identity is
 * reference identity. Immutable and thread-safe.
 */
public final class Value {
  private final Graph owner;
  private final String name;
  private final DType dtype;
  private final Shape shape;

  Value(Graph owner, String name, DType dtype, Shape shape) {
    this.owner = owner;
    this.name = name;
    this.dtype = dtype;
    this.shape = shape;
  }

  Graph owner() {
    return owner;
  }

  /** The unique name of this value in its graph. */
  public String name() {
    return name;
  }

  public DType dtype() {
    return dtype;
  }

  public Shape shape() {
    return shape;
  }

  /** The rank of this value. */
  public int rank() {
    return shape.rank();
  }

  @Override
  public String toString() {
    return name + ":" + dtype + shape;
  }
}
