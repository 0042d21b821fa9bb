package dev.im4j.onnx.model;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import dev.im4j.onnx.graph.DType;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * A named float32 tensor with the dtype it is stored as on disk (F32, F16 or BF16), row-major.
 *
 * <p>Immutable: {@link #of} copies the data in; {@link #data()} is a read-only view and {@link
 * #toArray()} a copy. Writing an F16 or BF16 tensor rounds each value to nearest-even; values read
 * from such a file are exactly representable, so read-then-write is bit-exact.
 */
public final class Tensor {
  private final String name;
  private final DType dtype;
  private final long[] shape;
  private final float[] data; // [numel], row-major over shape

  private Tensor(String name, DType dtype, long[] shape, float[] data) {
    checkNotNull(name, "tensor name must not be null");
    checkArgument(!name.isEmpty(), "tensor name must not be empty");
    checkNotNull(dtype, "dtype of %s must not be null", name);
    checkArgument(
        SafetensorsDTypes.isWeight(dtype),
        "dtype of %s must be F32, F16 or BF16 but was %s; integer tensors are not weights",
        name,
        dtype);
    long numel = 1;
    for (long d : shape) {
      checkArgument(
          d >= 0, "shape %s of %s has a negative dimension", Arrays.toString(shape), name);
      numel = Math.multiplyExact(numel, d);
    }
    checkArgument(
        numel == data.length,
        "tensor %s has shape %s (%s elements) but %s values",
        name,
        Arrays.toString(shape),
        numel,
        data.length);
    this.name = name;
    this.dtype = dtype;
    this.shape = shape;
    this.data = data;
  }

  /** A tensor holding a copy of {@code data}, whose length must equal the product of the shape. */
  public static Tensor of(String name, DType dtype, long[] shape, float[] data) {
    return new Tensor(name, dtype, shape.clone(), data.clone());
  }

  /** Takes ownership of both arrays; callers in this package must not keep or change them. */
  static Tensor wrap(String name, DType dtype, long[] shape, float[] data) {
    return new Tensor(name, dtype, shape, data);
  }

  public String name() {
    return name;
  }

  /** The dtype this tensor is written as. */
  public DType dtype() {
    return dtype;
  }

  /** A copy of the shape. */
  public long[] shape() {
    return shape.clone();
  }

  /** Number of elements. */
  public int numel() {
    return data.length;
  }

  /** A read-only view of the values, row-major. */
  public FloatBuffer data() {
    return FloatBuffer.wrap(data).asReadOnlyBuffer();
  }

  /** A copy of the values, row-major. */
  public float[] toArray() {
    return data.clone();
  }

  /** The same values under another name (no copy). */
  public Tensor withName(String newName) {
    return new Tensor(newName, dtype, shape, data);
  }

  /** The same values, to be stored as {@code newDtype} (no copy). */
  public Tensor withDtype(DType newDtype) {
    return new Tensor(name, newDtype, shape, data);
  }

  /** Direct access for writers in this package; never modified. */
  float[] rawData() {
    return data;
  }

  boolean hasShape(long[] expected) {
    return Arrays.equals(shape, expected);
  }

  /** Equal names, dtypes, shapes and bit patterns (NaNs compare by {@code floatToIntBits}). */
  @Override
  public boolean equals(Object o) {
    return o instanceof Tensor t
        && name.equals(t.name)
        && dtype == t.dtype
        && Arrays.equals(shape, t.shape)
        && Arrays.equals(data, t.data);
  }

  @Override
  public int hashCode() {
    return (name.hashCode() * 31 + Arrays.hashCode(shape)) * 31 + Arrays.hashCode(data);
  }

  @Override
  public String toString() {
    return name + " " + SafetensorsDTypes.code(dtype) + Arrays.toString(shape);
  }
}
