package dev.im4j.onnx.train;

import dev.im4j.onnx.model.Tensor;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A causal language model the trainer can train: it declares its parameters as graph inputs (named
 * like the Hugging Face tensors) and builds logits from token ids. The LLaMA/GPT-2 graphs plug in
 * through this interface.
 */
public interface CausalLmSource {
  /**
   * The training graph: forward, {@code Σ c · nll} and the gradients of every parameter not in
   * {@code frozen}. Its user inputs must be named as {@code CausalLmGraphs} names them ({@code
   * input_ids}, {@code position_ids}, {@code segment_ids} int64 [B, T], {@code embedding_noise}
   * float [B, T, H], {@code targets} int64 [B, T], {@code coefficients} float [B, T]); the trainer
   * feeds exactly these.
   */
  TrainingGraph trainingGraph(Set<String> frozen);

  /**
   * The training graph for micro-batches whose rows hold at most {@code maxSeqLen} positions (the
   * trainer passes its collator's {@code maxLength}). A source may use the length to size its work
   * (e.g. a loss computed in blocks, as {@link HfCausalLm} does), but any row length must still
   * give the same loss and gradients. Default: {@link #trainingGraph(Set)}.
   */
  default TrainingGraph trainingGraph(Set<String> frozen, int maxSeqLen) {
    return trainingGraph(frozen);
  }

  /**
   * The graph the trainer trains: {@link #trainingGraph(Set, int)}, whose {@code embedding_noise}
   * input a source may leave out when {@code embeddingNoise} is false (NEFTune off); the trainer
   * feeds the input exactly when the graph declares it. Default: {@link #trainingGraph(Set, int)},
   * which declares it.
   */
  default TrainingGraph trainingGraph(Set<String> frozen, int maxSeqLen, boolean embeddingNoise) {
    return trainingGraph(frozen, maxSeqLen);
  }

  /**
   * The graph the trainer trains: {@link #trainingGraph(Set, int, boolean)}, with activation
   * recomputation (gradient checkpointing) if {@code gradientCheckpointing}: the same gradients
   * from fewer stored activations. Default: without; a source that cannot recompute refuses it.
   *
   * @throws IllegalArgumentException if recomputation is asked of a source without it
   */
  default TrainingGraph trainingGraph(
      Set<String> frozen, int maxSeqLen, boolean embeddingNoise, boolean gradientCheckpointing) {
    if (gradientCheckpointing) {
      throw new IllegalArgumentException(
          getClass().getSimpleName() + " does not support gradient checkpointing");
    }
    return trainingGraph(frozen, maxSeqLen, embeddingNoise);
  }

  /** Initial value of every parameter the forward pass declares. */
  List<Tensor> initialWeights();

  /**
   * Parameters this model never trains, whatever the trainer's own frozen set (a LoRA model's base
   * weights): they get no gradient and no optimizer state. Default: none.
   */
  default Set<String> frozenParameters() {
    return Set.of();
  }

  /** The hidden size H (the embedding width NEFTune's noise is scaled by). */
  int hiddenSize();

  /** The vocabulary size V. */
  int vocabSize();

  /**
   * What identifies this model for a resume check: field name to value (a Hugging Face model gives
   * its {@code config.json} fields), compared field by field when a run resumes. Default: the class
   * name.
   */
  default Map<String, String> identity() {
    return Map.of("class", getClass().getName());
  }
}
