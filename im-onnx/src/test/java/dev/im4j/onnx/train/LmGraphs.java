package dev.im4j.onnx.train;

import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.graph.Dim;
import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.graph.Shape;
import dev.im4j.onnx.graph.Value;
import dev.im4j.onnx.model.CausalLmGraphs;
import java.util.List;
import java.util.Set;

/**
 * The training graph of a {@link CausalLmSource}: user inputs in the order the trainer feeds them,
 * the model's forward pass, {@code Σ c · nll} and the gradients.
 */
final class LmGraphs {
  static final String INPUT_IDS = CausalLmGraphs.INPUT_IDS;
  static final String POSITION_IDS = CausalLmGraphs.POSITION_IDS;
  static final String SEGMENT_IDS = CausalLmGraphs.SEGMENT_IDS;
  static final String EMBEDDING_NOISE = CausalLmGraphs.EMBEDDING_NOISE;
  static final String TARGETS = CausalLmGraphs.TARGETS;
  static final String COEFFICIENTS = CausalLmGraphs.COEFFICIENTS;

  private LmGraphs() {}

  /**
   * The per-batch inputs of the graph (see {@code Batch} in im-core).
   *
   * @param inputIds [B, T] int64 token ids
   * @param positionIds [B, T] int64, restarting at 0 in each packed segment
   * @param segmentIds [B, T] int64, 1..k per example of a row, 0 in padding: attention must only
   *     connect equal non-zero segments, causally
   * @param embeddingNoise [B, T, H] float, to be added to the token embeddings before anything else
   *     (NEFTune; zeros when not training)
   */
  record Inputs(Value inputIds, Value positionIds, Value segmentIds, Value embeddingNoise) {}

  /**
   * What a {@link ForwardBuilder} built.
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

  /** The training graph and the logits value (an optional eval output). */
  record Built(TrainingGraph training, Value logits) {}

  /** Builds logits from the inputs, declaring the parameters. */
  interface ForwardBuilder {
    Forward forward(Graph graph, Inputs inputs);
  }

  static Built build(ForwardBuilder source, int hidden, Set<String> frozen) {
    Graph g = Graph.create("causal_lm");
    Dim b = Dim.sym("batch");
    Dim t = Dim.sym("seq");
    Value ids = g.input(INPUT_IDS, DType.INT64, Shape.of(b, t)); // [B, T]
    Value pos = g.input(POSITION_IDS, DType.INT64, Shape.of(b, t)); // [B, T]
    Value seg = g.input(SEGMENT_IDS, DType.INT64, Shape.of(b, t)); // [B, T]
    Value noise =
        g.input(EMBEDDING_NOISE, DType.FLOAT, Shape.of(b, t, Dim.of(hidden))); // [B, T, H]
    Value targets = g.input(TARGETS, DType.INT64, Shape.of(b, t)); // [B, T]
    Value coefficients = g.input(COEFFICIENTS, DType.FLOAT, Shape.of(b, t)); // [B, T]
    Forward f = source.forward(g, new Inputs(ids, pos, seg, noise));
    TrainingGraph training =
        TrainingGraph.withWeightedCrossEntropy(
            g, f.logits(), targets, coefficients, f.parameters(), frozen);
    return new Built(training, f.logits());
  }
}
