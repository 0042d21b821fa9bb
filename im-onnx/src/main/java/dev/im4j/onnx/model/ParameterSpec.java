package dev.im4j.onnx.model;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import java.util.Arrays;

/**
 * One parameter a model needs: its Hugging Face name, shape and how a fresh model initialises it.
 *
 * @param name the name transformers uses in saved checkpoints
 * @param shape dimensions (copied in, handed out as a copy)
 * @param init the initialisation of a fresh model
 */
public record ParameterSpec(String name, long[] shape, Init init) {
  /** How {@link CausalLmParameters#initialize} fills a parameter. */
  public enum Init {
    /** Normal(0, initializer_range): projection and embedding matrices. */
    NORMAL,
    /** All ones: norm scales. */
    ONES,
    /** All zeros: biases. */
    ZEROS
  }

  public ParameterSpec {
    checkNotNull(name, "name must not be null");
    checkNotNull(init, "init must not be null");
    shape = shape.clone();
    for (long d : shape) {
      checkArgument(d > 0, "shape %s of %s must be positive", Arrays.toString(shape), name);
    }
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** Number of elements. */
  public long numel() {
    long n = 1;
    for (long d : shape) {
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ParameterSpec p
        && name.equals(p.name)
        && Arrays.equals(shape, p.shape)
        && init == p.init;
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Arrays.hashCode(shape);
  }

  @Override
  public String toString() {
    return name + " " + Arrays.toString(shape);
  }
}
