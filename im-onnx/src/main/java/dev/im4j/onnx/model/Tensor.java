package dev.im4j.onnx.model;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import dev.im4j.onnx.graph.DType;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * A named float32 tensor with the dtype it is stored as (F32, F16 or BF16 in a safetensors file;
 * FLOAT in an ONNX Runtime training checkpoint, whose parameters and moments are these too),
 * row-major; a scalar has no dims and one element.
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
    long numel;
    try {
      numel = elementCount(shape);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("tensor " + name + ": " + e.getMessage(), e);
    }
    checkArgument(
        numel == data.length,
        "tensor %s: dims %s hold %s elements but data has %s; pass exactly product(dims) values",
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

  /** A float32 ({@link DType#FLOAT}) tensor holding a copy of {@code data}. */
  public static Tensor of(String name, long[] shape, float[] data) {
    return of(name, DType.FLOAT, shape, data);
  }

  /** A float32 tensor of zeros (an optimizer moment's start). */
  public static Tensor zeros(String name, long... shape) {
    long n = elementCount(shape);
    checkArgument(
        n <= Integer.MAX_VALUE - 8, "tensor %s: %s elements exceed one Java array", name, n);
    return new Tensor(name, DType.FLOAT, shape.clone(), new float[(int) n]);
  }

  /**
   * The product of the dims.
   *
   * @throws IllegalArgumentException on a negative dim
   * @throws ArithmeticException if the product overflows a long
   */
  public static long elementCount(long... shape) {
    long n = 1;
    for (long d : shape) {
      checkArgument(d >= 0, "dims must be >= 0 but were %s", Arrays.toString(shape));
      n = Math.multiplyExact(n, d);
    }
    return n;
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

  /** The value at flat index {@code i}, without copying. */
  public float get(int i) {
    return data[i];
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
