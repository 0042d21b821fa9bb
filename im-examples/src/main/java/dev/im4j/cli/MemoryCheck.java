package dev.im4j.cli;

import com.sun.management.OperatingSystemMXBean;
import dev.im4j.onnx.model.CausalLmConfig;
import dev.im4j.onnx.model.CausalLmParameters;
import dev.im4j.onnx.model.LoraConfig;
import dev.im4j.onnx.model.ParameterSpec;
import dev.im4j.onnx.train.Trainer;
import java.lang.management.ManagementFactory;
import java.util.Locale;

/**
 * Refuses, before anything is allocated, a model that cannot fit this machine, with the estimate
 * and the remedy; what passes may still run out of memory later (then {@link Im4jCli} reports it).
 *
 * <p>The lower bound is, inside ONNX Runtime, {@value #WEIGHT_BYTES} bytes per float32 parameter
 * for the weights and {@value #TRAINING_BYTES} more per trainable one (gradient buffer and the two
 * AdamW moments): {@value #NATIVE_BYTES_PER_PARAMETER} per parameter for full fine-tuning, about 4
 * for LoRA, whose frozen base has no gradient or moments (about 2 with the base held in BF16 or
 * F16). The portable runtime keeps two copies of every updated value: {@value
 * #PORTABLE_TRAINING_BYTES} bytes per trainable parameter beyond its weights. The Java heap holds
 * no per-parameter data: weights go from their files to ONNX Runtime, to checkpoints and to the
 * exports in bounded chunks, so the heap is not checked.
 */
final class MemoryCheck {
  static final long WEIGHT_BYTES = 4;
  static final long TRAINING_BYTES = 12;
  static final long NATIVE_BYTES_PER_PARAMETER = WEIGHT_BYTES + TRAINING_BYTES;
  static final long PORTABLE_TRAINING_BYTES = 28;

  private MemoryCheck() {}

  /**
   * @param lora the adapters trained instead of the weights, or null for full fine-tuning
   * @param runtime the runtime that trains
   * @param source the config's file, for the message
   * @throws InsufficientMemoryException if the lower bound exceeds the machine's memory
   */
  static void requireFits(
      CausalLmConfig config, LoraConfig lora, Trainer.Runtime runtime, String source) {
    long baseParameters = 0;
    for (ParameterSpec p : CausalLmParameters.expected(config)) {
      baseParameters += p.numel();
    }
    long trainable = lora == null ? baseParameters : lora.parameterCount(config);
    long parameters = lora == null ? baseParameters : baseParameters + trainable;
    long perTrainable =
        runtime == Trainer.Runtime.PORTABLE ? PORTABLE_TRAINING_BYTES : TRAINING_BYTES;
    // a LoRA base may be held in half precision; adapters are float32
    long baseBytes = lora == null ? WEIGHT_BYTES : lora.baseDType().byteSize();
    long totalNeeded =
        baseParameters * baseBytes
            + (lora == null ? 0 : trainable * WEIGHT_BYTES)
            + trainable * perTrainable;
    long machine =
        ((OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
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
