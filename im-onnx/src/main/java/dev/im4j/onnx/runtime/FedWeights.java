package dev.im4j.onnx.runtime;

import static com.google.common.base.Preconditions.checkArgument;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import dev.im4j.onnx.model.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Frozen weights a runtime feeds to every run as ordinary inputs, each an ONNX Runtime tensor over
 * a direct buffer this object owns (or a read-only mapping of the weight's file), in its own dtype
 * (FLOAT, FLOAT16 or BFLOAT16): a LoRA base held in half precision. They are the model's own
 * weights, never updated, so neither runtime writes them into checkpoints; a resumed run feeds them
 * again from the model.
 *
 * <p>Why not checkpoint parameters: ONNX Runtime's training API loads checkpoint tensors of float
 * and integer types only ({@code fbs::utils::LoadOrtTensorOrtFormat}, 1.24), so a half-precision
 * base cannot live in its checkpoint. The buffers are host memory, wrapped without a copy on CPU.
 */
final class FedWeights implements AutoCloseable {
  private final Map<String, OnnxTensor> tensors;

  private FedWeights(Map<String, OnnxTensor> tensors) {
    this.tensors = Collections.unmodifiableMap(tensors);
  }

  /** None: a runtime without fed weights. */
  static FedWeights none() {
    return new FedWeights(new LinkedHashMap<>());
  }

  /**
   * Each weight in its dtype as an ONNX Runtime tensor: the file's pages, memory-mapped, where the
   * weight is stored so in a file ({@link Tensor#mapStored}: a BF16 base read from a BF16
   * safetensors file costs no copy, and its pages stay reclaimable by the kernel); otherwise a copy
   * in a direct buffer.
   *
   * @throws IllegalArgumentException if a weight is not FLOAT, FLOAT16 or BFLOAT16, a name repeats,
   *     or a tensor exceeds one direct buffer (2 GiB)
   * @throws TrainingRuntimeException if the copied weights would pass the JVM's direct-memory limit
   */
  static FedWeights load(OrtEnvironment env, List<Tensor> weights) throws OrtException {
    Map<Tensor, ByteBuffer> buffers = new java.util.IdentityHashMap<>();
    List<Tensor> copied = new java.util.ArrayList<>();
    for (Tensor t : weights) {
      type(t);
      java.util.Optional<ByteBuffer> mapped = t.mapStored();
      if (mapped.isPresent()) {
        buffers.put(t, mapped.get()); // the file's own bytes: nothing to copy
      } else {
        copied.add(t);
      }
    }
    DirectMemory.require(
        bytes(copied), "the training runtime", "the frozen weights it feeds (a LoRA base)", "");
    for (Tensor t : copied) {
      long bytes = (long) t.dtype().byteSize() * t.numel();
      checkArgument(
          bytes <= Integer.MAX_VALUE, "%s: %s bytes do not fit one direct buffer", t.name(), bytes);
      buffers.put(t, ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.LITTLE_ENDIAN));
    }
    // producing the values (widening, rounding, or drawing seeded ones) is CPU-bound: in parallel
    Tensor.forEachInParallel(
        copied,
        () ->
            ByteBuffer.allocate(Float.BYTES * Tensor.CHUNK_ELEMENTS).order(ByteOrder.LITTLE_ENDIAN),
        (t, chunk) -> {
          ByteBuffer fill = buffers.get(t).duplicate().order(ByteOrder.LITTLE_ENDIAN);
          t.writeStored(chunk, fill::put);
        });
    Map<String, OnnxTensor> out = new LinkedHashMap<>();
    try {
      for (Tensor t : weights) {
        checkArgument(
            out.put(t.name(), OnnxTensor.createTensor(env, buffers.get(t), t.shape(), type(t)))
                == null,
            "fed weight %s given twice",
            t.name());
      }
    } catch (OrtException | RuntimeException e) {
      out.values().forEach(OnnxTensor::close);
      throw e;
    }
    return new FedWeights(out);
  }

  private static OnnxJavaType type(Tensor t) {
    return switch (t.dtype()) {
      case FLOAT -> OnnxJavaType.FLOAT;
      case FLOAT16 -> OnnxJavaType.FLOAT16;
      case BFLOAT16 -> OnnxJavaType.BFLOAT16;
      default ->
          throw new IllegalArgumentException(
              t.name() + " is " + t.dtype() + "; fed weights are FLOAT, FLOAT16 or BFLOAT16");
    };
  }

  /** The bytes {@code weights} take as fed weights: each in its own dtype. */
  static long bytes(List<Tensor> weights) {
    long bytes = 0;
    for (Tensor t : weights) {
      bytes += (long) t.dtype().byteSize() * t.numel();
    }
    return bytes;
  }

  /** Name to tensor, in the given order; unmodifiable. */
  Map<String, OnnxTensor> tensors() {
    return tensors;
  }

  /**
   * {@code feeds} (owned by the caller) with every fed weight added, in the order of {@code
   * inputs}: the training API passes inputs by position.
   */
  Map<String, OnnxTensor> addTo(Map<String, OnnxTensor> feeds, Iterable<String> inputs) {
    if (tensors.isEmpty()) {
      return feeds;
    }
    Map<String, OnnxTensor> all = new LinkedHashMap<>();
    for (String name : inputs) {
      OnnxTensor t = tensors.containsKey(name) ? tensors.get(name) : feeds.get(name);
      if (t != null) {
        all.put(name, t);
      }
    }
    return all;
  }

  @Override
  public void close() {
    tensors.values().forEach(OnnxTensor::close);
  }
}
