package dev.im4j.onnx.runtime;

import static com.google.common.base.Preconditions.checkArgument;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** {@link HostTensor}s in and float outputs out of ONNX Runtime, for both training runtimes. */
final class Feeds {
  private Feeds() {}

  /**
   * The inputs as ONNX Runtime tensors (wrapping direct buffers, copying arrays), in the order of
   * {@code names}; closes what it made if a later input fails.
   *
   * @param graph names the graph in messages
   * @throws IllegalArgumentException if the inputs' names differ from {@code names}
   */
  static Map<String, OnnxTensor> wrap(
      OrtEnvironment env, String graph, List<String> names, List<HostTensor> inputs) {
    Map<String, HostTensor> byName = new HashMap<>();
    for (HostTensor input : inputs) {
      checkArgument(
          byName.put(input.name(), input) == null, "input %s is given twice", input.name());
    }
    if (!byName.keySet().equals(Set.copyOf(names))) {
      Set<String> missing = new TreeSet<>(names);
      missing.removeAll(byName.keySet());
      Set<String> unknown = new TreeSet<>(byName.keySet());
      names.forEach(unknown::remove);
      throw new IllegalArgumentException(
          "the "
              + graph
              + " graph takes inputs "
              + names
              + " but missing were "
              + missing
              + " and unknown "
              + unknown);
    }
    Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
    try {
      for (String name : names) {
        feeds.put(name, tensor(env, byName.get(name)));
      }
      return feeds;
    } catch (OrtException e) {
      feeds.values().forEach(OnnxTensor::close);
      throw new TrainingRuntimeException(
          "could not wrap the " + graph + " inputs as tensors: " + e.getMessage(), e);
    }
  }

  private static OnnxTensor tensor(OrtEnvironment env, HostTensor input) throws OrtException {
    long[] shape = input.shape();
    return switch (input.type()) {
      case FLOAT -> OnnxTensor.createTensor(env, (FloatBuffer) input.buffer(), shape);
      case INT32 -> OnnxTensor.createTensor(env, (IntBuffer) input.buffer(), shape);
      case INT64 -> OnnxTensor.createTensor(env, (LongBuffer) input.buffer(), shape);
      default -> throw new IllegalStateException("HostTensor holds " + input.type());
    };
  }

  /** A float output's values, row-major. */
  static float[] floats(String name, OnnxValue value) {
    if (!(value instanceof OnnxTensor tensor)
        || tensor.getInfo().type != ai.onnxruntime.OnnxJavaType.FLOAT) {
      throw new TrainingRuntimeException(
          "output " + name + " must be a float tensor but is " + value.getInfo());
    }
    FloatBuffer buffer = tensor.getFloatBuffer();
    float[] out = new float[buffer.remaining()];
    buffer.get(out);
    return out;
  }
}
