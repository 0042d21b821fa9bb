package dev.im4j.onnx.train;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.Arrays;

/**
 * One named float32 tensor of a training checkpoint: a parameter or an optimizer moment.
 *
 * <p>{@code data} is row-major with {@code product(dims)} elements; a scalar has no dims and one
 * element. Immutable: arrays are copied in and handed out as copies.
 *
 * @param name the parameter name as it appears in the training graph (or {@code momentum0} / {@code
 *     momentum1} for an Adam moment)
 * @param dims the shape, every dimension {@code >= 0}
 * @param data the values, {@code product(dims)} of them
 */
public record CheckpointTensor(String name, long[] dims, float[] data) {
  /** Validates and copies; throws {@link IllegalArgumentException} on a bad name or shape. */
  public CheckpointTensor {
    checkArgument(
        name != null && !name.isEmpty(), "tensor name must be non-empty but was %s", name);
    checkArgument(dims != null && data != null, "tensor %s: dims and data must be non-null", name);
    dims = dims.clone();
    data = data.clone();
    long elements = elementCount(dims);
    checkArgument(
        elements == data.length,
        "tensor %s: dims %s hold %s elements but data has %s; pass exactly product(dims) values",
        name,
        Arrays.toString(dims),
        elements,
        data.length);
  }

  /** A tensor of the given shape holding zeros. */
  public static CheckpointTensor zeros(String name, long... dims) {
    long elements = elementCount(dims);
    checkArgument(
        elements <= Integer.MAX_VALUE - 8,
        "tensor %s: %s elements exceed one Java array",
        name,
        elements);
    return new CheckpointTensor(name, dims, new float[(int) elements]);
  }

  /** The product of the dims; throws {@link IllegalArgumentException} on a negative dim. */
  static long elementCount(long[] dims) {
    long elements = 1;
    for (long dim : dims) {
      checkArgument(dim >= 0, "dims must be >= 0 but were %s", Arrays.toString(dims));
      elements = Math.multiplyExact(elements, dim);
    }
    return elements;
  }

  /** The shape (a copy). */
  @Override
  public long[] dims() {
    return dims.clone();
  }

  /** The values (a copy). */
  @Override
  public float[] data() {
    return data.clone();
  }

  /** The value at flat index {@code i}, without copying. */
  public float get(int i) {
    return data[i];
  }

  /** The number of elements. */
  public int size() {
    return data.length;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CheckpointTensor t
        && name.equals(t.name)
        && Arrays.equals(dims, t.dims)
        && Arrays.equals(data, t.data);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * name.hashCode() + Arrays.hashCode(dims)) + Arrays.hashCode(data);
  }

  @Override
  public String toString() {
    return "CheckpointTensor[" + name + " " + Arrays.toString(dims) + "]";
  }
}
