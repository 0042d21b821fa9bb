package dev.im4j.onnx.model;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import dev.im4j.onnx.graph.DType;
import java.util.Arrays;

/**
 * One entry of a safetensors header: where a tensor's bytes lie in the file's byte buffer.
 *
 * @param name the tensor's name, as in the header
 * @param dtype element type
 * @param shape dimensions, each {@code >= 0}; copied in, handed out as a copy
 * @param begin first byte, relative to the start of the byte buffer (after the header)
 * @param end one past the last byte; {@code end - begin == numel * dtype.byteSize()}
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {
  public TensorInfo {
    checkNotNull(name, "name must not be null");
    checkNotNull(dtype, "dtype must not be null");
    shape = shape.clone();
    for (long d : shape) {
      checkArgument(
          d >= 0, "shape %s of %s has a negative dimension", Arrays.toString(shape), name);
    }
    checkArgument(
        0 <= begin && begin <= end, "offsets [%s, %s] of %s are not ordered", begin, end, name);
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** Number of elements (product of the shape). */
  public long numel() {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }

  /** Bytes of data ({@code end - begin}). */
  public long byteSize() {
    return end - begin;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorInfo t
        && name.equals(t.name)
        && dtype == t.dtype
        && Arrays.equals(shape, t.shape)
        && begin == t.begin
        && end == t.end;
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Arrays.hashCode(shape);
  }

  @Override
  public String toString() {
    return name
        + " "
        + SafetensorsDTypes.code(dtype)
        + Arrays.toString(shape)
        + " @["
        + begin
        + ", "
        + end
        + ")";
  }
}
