package dev.im4j.onnx.train;

import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.graph.Dim;
import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.graph.Shape;
import dev.im4j.onnx.graph.Value;
import dev.im4j.onnx.model.CausalLmGraphs;
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

  /** The training graph and the logits value (an optional eval output). */
  record Built(TrainingGraph training, Value logits) {}

  /** Builds logits from the inputs, declaring the parameters. */
  interface ForwardBuilder {
    CausalLmSource.Forward forward(Graph graph, CausalLmSource.Inputs inputs);
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
    CausalLmSource.Forward f = source.forward(g, new CausalLmSource.Inputs(ids, pos, seg, noise));
    TrainingGraph training =
        TrainingGraph.withWeightedCrossEntropy(
            g, f.logits(), targets, coefficients, f.parameters(), frozen);
    return new Built(training, f.logits());
  }
}
