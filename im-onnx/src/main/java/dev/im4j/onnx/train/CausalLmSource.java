package dev.im4j.onnx.train;

import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.graph.Value;
import java.util.List;

/**
 * A causal language model the trainer can train: it declares its parameters as graph inputs (named
 * like the Hugging Face tensors) and builds logits from token ids. The LLaMA/GPT-2 graphs plug in
 * through this interface.
 */
public interface CausalLmSource {
  /**
   * Builds the forward pass into {@code graph}.
   *
   * @param inputIds [B, T] int64 input of the graph
   * @param positionIds [B, T] int64 input of the graph (restarting per packed segment)
   * @param embeddingNoise [B, T, H] float input, added to the token embeddings before anything else
   *     (NEFTune; zeros when not training)
   * @return the logits [B, T, V] and the parameter inputs it declared, in declaration order
   */
  Forward forward(Graph graph, Value inputIds, Value positionIds, Value embeddingNoise);

  /** Initial value of every parameter the forward pass declares. */
  List<CheckpointTensor> initialWeights();

  /** The hidden size H (the embedding width NEFTune's noise is scaled by). */
  int hiddenSize();

  /** The vocabulary size V. */
  int vocabSize();

  /**
   * What {@link #forward} built.
   *
   * @param logits [B, T, V] float
   * @param parameters the parameter inputs
   */
  record Forward(Value logits, List<Value> parameters) {
    /** Copies the list. */
    public Forward {
      parameters = List.copyOf(parameters);
    }
  }
}
