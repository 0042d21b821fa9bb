package dev.im4j.cli;

import com.sun.management.OperatingSystemMXBean;
import dev.im4j.onnx.model.CausalLmConfig;
import dev.im4j.onnx.model.CausalLmParameters;
import dev.im4j.onnx.model.ParameterSpec;
import java.lang.management.ManagementFactory;
import java.util.Locale;

/**
 * Refuses, before anything is allocated, a model that cannot fit this machine, with the estimate
 * and the remedy; what passes may still run out of memory later (then {@link Im4jCli} reports it).
 *
 * <p>Lower bounds, per float32 parameter: {@value #NATIVE_BYTES_PER_PARAMETER} bytes inside ONNX
 * Runtime (weights, gradient buffer and the two AdamW moments: the floor of full fine-tuning with
 * AdamW) and {@value #HEAP_BYTES_PER_PARAMETER} bytes of Java heap (weights and checkpoints stay in
 * files or in ONNX Runtime; the one copy on the heap is the float32 weights of the inference export
 * {@code model.onnx}, built in memory from the final checkpoint).
 */
final class MemoryCheck {
  static final long NATIVE_BYTES_PER_PARAMETER = 16;
  static final long HEAP_BYTES_PER_PARAMETER = 4;

  private MemoryCheck() {}

  /**
   * @param source the config's file, for the message
   * @throws InsufficientMemoryException if the lower bounds exceed the machine's memory or the
   *     JVM's maximum heap
   */
  static void requireFits(CausalLmConfig config, String source) {
    long parameters = 0;
    for (ParameterSpec p : CausalLmParameters.expected(config)) {
      parameters += p.numel();
    }
    long heapNeeded = parameters * HEAP_BYTES_PER_PARAMETER;
    long totalNeeded = heapNeeded + parameters * NATIVE_BYTES_PER_PARAMETER;
    long machine =
        ((OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
    long heap = Runtime.getRuntime().maxMemory();
    String model =
        String.format(
            Locale.ROOT,
            "the model of %s (hidden_size %d, num_hidden_layers %d, intermediate_size %d,"
                + " vocab_size %d) has %,d parameters",
            source,
            config.hiddenSize(),
            config.numLayers(),
            config.intermediateSize(),
            config.vocabSize(),
            parameters);
    if (totalNeeded > machine) {
      throw new InsufficientMemoryException(
          String.format(
              Locale.ROOT,
              "%s; training it needs at least %s of memory but this machine has %s. Use a smaller"
                  + " model or a machine with more memory",
              model,
              gib(totalNeeded),
              gib(machine)));
    }
    if (heapNeeded > heap) {
      throw new InsufficientMemoryException(
          String.format(
              Locale.ROOT,
              "%s; training it needs at least %s of Java heap but the JVM may use %s. Start java"
                  + " with -Xmx%dg (this machine has %s) or use a smaller model",
              model,
              gib(heapNeeded),
              gib(heap),
              (heapNeeded >> 30) + 2,
              gib(machine)));
    }
  }

  private static String gib(long bytes) {
    return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
  }

  /** The model does not fit; exit code {@value Im4jCli#FAILURE}. */
  static final class InsufficientMemoryException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    InsufficientMemoryException(String message) {
      super(message);
    }
  }
}
