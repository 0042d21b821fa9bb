package dev.im4j.onnx.runtime;

import static com.google.common.base.Preconditions.checkArgument;

import dev.im4j.onnx.graph.DType;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;

/**
 * A named tensor in host memory, fed to a graph input: {@link DType#FLOAT}, {@link DType#INT32} or
 * {@link DType#INT64} values in a direct buffer of native byte order, row-major.
 *
 * <p>The factories taking arrays copy them; those taking direct buffers share them (ONNX Runtime
 * reads the buffer in place during the step, so it must not change until the step returns).
 * Immutable apart from such a shared buffer.
 */
public final class HostTensor {
  private final String name;
  private final long[] shape;
  private final DType type; // FLOAT, INT32 or INT64
  private final Buffer data; // direct, native order, exactly product(shape) elements

  private HostTensor(String name, long[] shape, DType type, Buffer data) {
    checkArgument(name != null && !name.isEmpty(), "input name must be non-empty but was %s", name);
    checkArgument(data.isDirect(), "input %s: the buffer must be direct", name);
    checkArgument(
        order(data) == ByteOrder.nativeOrder(),
        "input %s: the buffer must be in native byte order %s but was %s",
        name,
        ByteOrder.nativeOrder(),
        order(data));
    long elements = 1;
    for (long dim : shape) {
      checkArgument(
          dim >= 0, "input %s: shape must be >= 0 but was %s", name, Arrays.toString(shape));
      elements = Math.multiplyExact(elements, dim);
    }
    checkArgument(
        elements == data.remaining(),
        "input %s: shape %s holds %s elements but the data has %s",
        name,
        Arrays.toString(shape),
        elements,
        data.remaining());
    this.name = name;
    this.shape = shape.clone();
    this.type = type;
    this.data = data;
  }

  /** A float32 tensor holding a copy of {@code values}. */
  public static HostTensor floats(String name, long[] shape, float[] values) {
    FloatBuffer buffer = direct(values.length, Float.BYTES).asFloatBuffer();
    buffer.put(values).flip();
    return new HostTensor(name, shape, DType.FLOAT, buffer);
  }

  /** An int32 tensor holding a copy of {@code values}. */
  public static HostTensor ints(String name, long[] shape, int[] values) {
    IntBuffer buffer = direct(values.length, Integer.BYTES).asIntBuffer();
    buffer.put(values).flip();
    return new HostTensor(name, shape, DType.INT32, buffer);
  }

  /** An int64 tensor holding a copy of {@code values}. */
  public static HostTensor longs(String name, long[] shape, long[] values) {
    LongBuffer buffer = direct(values.length, Long.BYTES).asLongBuffer();
    buffer.put(values).flip();
    return new HostTensor(name, shape, DType.INT64, buffer);
  }

  /** A float32 tensor sharing a direct buffer (its remaining elements), e.g. a collated batch. */
  public static HostTensor floats(String name, long[] shape, FloatBuffer direct) {
    return new HostTensor(name, shape, DType.FLOAT, direct.slice());
  }

  /** An int64 tensor sharing a direct buffer (its remaining elements). */
  public static HostTensor longs(String name, long[] shape, LongBuffer direct) {
    return new HostTensor(name, shape, DType.INT64, direct.slice());
  }

  /** An int32 tensor sharing a direct buffer (its remaining elements). */
  public static HostTensor ints(String name, long[] shape, IntBuffer direct) {
    return new HostTensor(name, shape, DType.INT32, direct.slice());
  }

  private static ByteOrder order(Buffer buffer) {
    if (buffer instanceof FloatBuffer f) {
      return f.order();
    }
    if (buffer instanceof IntBuffer i) {
      return i.order();
    }
    return ((LongBuffer) buffer).order();
  }

  private static ByteBuffer direct(int elements, int bytes) {
    return ByteBuffer.allocateDirect(Math.multiplyExact(elements, bytes))
        .order(ByteOrder.nativeOrder());
  }

  /** The graph input this feeds. */
  public String name() {
    return name;
  }

  /** The shape (a copy). */
  public long[] shape() {
    return shape.clone();
  }

  /** The element type. */
  public DType type() {
    return type;
  }

  /** The shared data, positioned at the first element (ONNX Runtime reads it in place). */
  Buffer buffer() {
    return data.duplicate();
  }

  @Override
  public String toString() {
    return "HostTensor[" + name + " " + type + " " + Arrays.toString(shape) + "]";
  }
}
