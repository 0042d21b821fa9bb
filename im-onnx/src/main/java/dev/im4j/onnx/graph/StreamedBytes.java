package dev.im4j.onnx.graph;

import java.nio.ByteBuffer;
import java.util.function.Consumer;

/**
 * The raw bytes of an initializer that a graph refers to but does not hold ({@link
 * Graph#streamedInitializer}): produced each time the graph is written, in order and in bounded
 * chunks, straight into the model's external data. This is how a model's weights enter an inference
 * export without a copy of the whole model in memory, and without protobuf's 2 GB limit.
 */
@FunctionalInterface
public interface StreamedBytes {
  /**
   * Hands the tensor's raw little-endian bytes, row-major (the ONNX {@code raw_data} layout), to
   * {@code sink} in order, a chunk at a time. Each chunk is consumed before {@code sink} returns,
   * so its buffer may be reused for the next one; the chunks must add up to exactly the tensor's
   * size, which the writer checks.
   */
  void writeTo(Consumer<ByteBuffer> sink);
}
