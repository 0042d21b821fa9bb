package dev.im4j.onnx.graph;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * An immutable dense tensor: element type, static dimensions and little-endian raw bytes (the ONNX
 * {@code raw_data} layout).
 *
 * @param dtype element type
 * @param dims dimensions, outermost first (copied in; {@link #dims()} returns a copy)
 * @param data raw little-endian bytes, row-major; held as a read-only view
 */
public record Tensor(DType dtype, long[] dims, ByteBuffer data) {

  public Tensor {
    dims = dims.clone();
    long n = 1;
    for (long d : dims) {
      if (d < 0) {
        throw new IllegalArgumentException(
            "tensor dimensions must be >= 0 but were " + Arrays.toString(dims));
      }
      n = Math.multiplyExact(n, d);
    }
    long expected = Math.multiplyExact(n, (long) dtype.byteSize());
    if (data.remaining() != expected) {
      throw new IllegalArgumentException(
          "tensor of "
              + dtype
              + Arrays.toString(dims)
              + " needs "
              + expected
              + " bytes but received "
              + data.remaining());
    }
    data = data.slice().order(ByteOrder.LITTLE_ENDIAN).asReadOnlyBuffer();
  }

  @Override
  public long[] dims() {
    return dims.clone();
  }

  /** A read-only little-endian view of the raw bytes. */
  @Override
  public ByteBuffer data() {
    return data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
  }

  /** The shape of this tensor. */
  public Shape shape() {
    return Shape.of(dims);
  }

  /** Number of elements. */
  public long elementCount() {
    long n = 1;
    for (long d : dims) {
      n *= d;
    }
    return n;
  }

  /** A float tensor of the given dimensions; {@code values} is copied. */
  public static Tensor ofFloats(long[] dims, float... values) {
    ByteBuffer b = allocate(values.length, DType.FLOAT);
    b.asFloatBuffer().put(values);
    return new Tensor(DType.FLOAT, dims, b);
  }

  /** A double tensor of the given dimensions; {@code values} is copied. */
  public static Tensor ofDoubles(long[] dims, double... values) {
    ByteBuffer b = allocate(values.length, DType.DOUBLE);
    b.asDoubleBuffer().put(values);
    return new Tensor(DType.DOUBLE, dims, b);
  }

  /** An int64 tensor of the given dimensions; {@code values} is copied. */
  public static Tensor ofLongs(long[] dims, long... values) {
    ByteBuffer b = allocate(values.length, DType.INT64);
    b.asLongBuffer().put(values);
    return new Tensor(DType.INT64, dims, b);
  }

  /** A bool tensor of the given dimensions. */
  public static Tensor ofBooleans(long[] dims, boolean... values) {
    ByteBuffer b = allocate(values.length, DType.BOOL);
    for (int i = 0; i < values.length; i++) {
      b.put(i, (byte) (values[i] ? 1 : 0));
    }
    return new Tensor(DType.BOOL, dims, b);
  }

  /** A rank-0 tensor of a floating-point type holding {@code value}. */
  public static Tensor scalar(DType dtype, double value) {
    return filled(dtype, new long[0], value);
  }

  /** A tensor of {@code dtype} and {@code dims} with every element equal to {@code value}. */
  public static Tensor filled(DType dtype, long[] dims, double value) {
    long n = 1;
    for (long d : dims) {
      n = Math.multiplyExact(n, d);
    }
    int count = Math.toIntExact(n);
    ByteBuffer b = allocate(count, dtype);
    for (int i = 0; i < count; i++) {
      switch (dtype) {
        case FLOAT -> b.putFloat(i * 4, (float) value);
        case DOUBLE -> b.putDouble(i * 8, value);
        case INT64 -> b.putLong(i * 8, (long) value);
        case INT32 -> b.putInt(i * 4, (int) value);
        case BOOL, UINT8, INT8 -> b.put(i, (byte) value);
        default -> throw new IllegalArgumentException("cannot fill a tensor of type " + dtype);
      }
    }
    return new Tensor(dtype, dims, b);
  }

  /** The elements as int64; valid for INT64 and INT32 tensors. */
  public long[] toLongs() {
    int n = Math.toIntExact(elementCount());
    long[] out = new long[n];
    ByteBuffer b = data();
    for (int i = 0; i < n; i++) {
      out[i] =
          switch (dtype) {
            case INT64 -> b.getLong(i * 8);
            case INT32 -> b.getInt(i * 4);
            default -> throw new IllegalStateException("toLongs on a " + dtype + " tensor");
          };
    }
    return out;
  }

  /** The elements as double; valid for FLOAT and DOUBLE tensors. */
  public double[] toDoubles() {
    int n = Math.toIntExact(elementCount());
    double[] out = new double[n];
    ByteBuffer b = data();
    for (int i = 0; i < n; i++) {
      out[i] =
          switch (dtype) {
            case FLOAT -> b.getFloat(i * 4);
            case DOUBLE -> b.getDouble(i * 8);
            case INT64 -> b.getLong(i * 8);
            default -> throw new IllegalStateException("toDoubles on a " + dtype + " tensor");
          };
    }
    return out;
  }

  private static ByteBuffer allocate(int count, DType dtype) {
    return ByteBuffer.allocate(Math.multiplyExact(count, dtype.byteSize()))
        .order(ByteOrder.LITTLE_ENDIAN);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Tensor t
        && t.dtype == dtype
        && Arrays.equals(t.dims, dims)
        && t.data.equals(data);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * dtype.hashCode() + Arrays.hashCode(dims)) + data.hashCode();
  }

  @Override
  public String toString() {
    return "Tensor[" + dtype + Arrays.toString(dims) + "]";
  }
}
