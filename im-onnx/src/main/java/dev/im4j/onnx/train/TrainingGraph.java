package dev.im4j.onnx.train;

import static com.google.common.base.Preconditions.checkArgument;

import dev.im4j.onnx.autodiff.Autodiff;
import dev.im4j.onnx.autodiff.WeightedCrossEntropy;
import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.graph.Value;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A graph holding forward pass, scalar loss and the gradients of the trainable parameters: the
 * input of {@link TrainingArtifactsBuilder}.
 *
 * <p>Parameters are graph inputs named like the Hugging Face tensors ({@code
 * model.embed_tokens.weight}); every other graph input is a user input fed per micro-batch.
 *
 * @param graph the graph; its declared outputs are ignored (the builder declares its own)
 * @param loss the scalar loss {@code Σ c · nll}
 * @param parameters the parameter inputs, in graph-input order
 * @param gradients trainable parameter name to its gradient value (same dtype and shape); frozen
 *     parameters have none
 */
public record TrainingGraph(
    Graph graph, Value loss, List<Value> parameters, Map<String, Value> gradients) {

  /** Copies and checks that every gradient belongs to a parameter input. */
  public TrainingGraph {
    parameters = List.copyOf(parameters);
    gradients = Map.copyOf(gradients);
    Set<String> names = new HashSet<>();
    for (Value p : parameters) {
      checkArgument(
          graph.inputs().contains(p),
          "parameter %s must be an input of graph %s; declare it with graph.input(...)",
          p,
          graph.name());
      names.add(p.name());
    }
    for (String g : gradients.keySet()) {
      checkArgument(
          names.contains(g),
          "gradient given for %s, which is not one of the parameters %s",
          g,
          names);
    }
    checkArgument(
        loss.shape().isStatic() && loss.shape().elementCount() == 1,
        "loss must hold one element but was %s",
        loss);
  }

  /**
   * Reads a training graph from its declared outputs: {@code lossName} is the loss; every graph
   * input {@code p} with an output {@code p + gradSuffix} is a trainable parameter with that
   * gradient; inputs named in {@code frozen} are frozen parameters; the rest are user inputs. This
   * is how {@code CausalLmGraphs.training} graphs plug in.
   *
   * @throws IllegalArgumentException if the loss output is missing or a frozen name is no input
   */
  public static TrainingGraph fromOutputs(
      Graph graph, String lossName, String gradSuffix, Set<String> frozen) {
    Map<String, Value> outputs = new LinkedHashMap<>();
    graph.outputs().forEach(v -> outputs.put(v.name(), v));
    Value loss = outputs.get(lossName);
    checkArgument(
        loss != null,
        "graph %s has no output %s; its outputs are %s",
        graph.name(),
        lossName,
        outputs.keySet());
    List<Value> parameters = new ArrayList<>();
    Map<String, Value> gradients = new LinkedHashMap<>();
    Set<String> inputNames = new HashSet<>();
    for (Value in : graph.inputs()) {
      inputNames.add(in.name());
      Value grad = outputs.get(in.name() + gradSuffix);
      if (grad != null) {
        parameters.add(in);
        gradients.put(in.name(), grad);
      } else if (frozen.contains(in.name())) {
        parameters.add(in);
      }
    }
    for (String f : frozen) {
      checkArgument(
          inputNames.contains(f), "frozen parameter %s is not an input of %s", f, graph.name());
    }
    return new TrainingGraph(graph, loss, parameters, gradients);
  }

  /**
   * Appends {@link WeightedCrossEntropy} ({@code loss = Σ_i c_i · nll_i}, analytic d loss / d
   * logits) and reverse-mode gradients for every parameter not in {@code frozen}.
   *
   * @param logits [B, T, V] float
   * @param targets [B, T] int64, {@link WeightedCrossEntropy#IGNORE_INDEX} where not predicted
   * @param coefficients [B, T] float, the step-wide coefficients of {@code StepCoefficients}
   */
  public static TrainingGraph withWeightedCrossEntropy(
      Graph graph,
      Value logits,
      Value targets,
      Value coefficients,
      List<Value> parameters,
      Set<String> frozen) {
    WeightedCrossEntropy.Result ce =
        WeightedCrossEntropy.build(graph, logits, targets, coefficients);
    List<Value> wrt = new ArrayList<>();
    for (Value p : parameters) {
      if (!frozen.contains(p.name())) {
        wrt.add(p);
      }
    }
    Map<Value, Value> grads =
        wrt.isEmpty()
            ? Map.of()
            : Autodiff.gradients(graph, Map.of(logits, ce.logitsGradient()), wrt);
    Map<String, Value> byName = new LinkedHashMap<>();
    grads.forEach((p, g) -> byName.put(p.name(), g));
    return new TrainingGraph(graph, ce.loss(), parameters, byName);
  }
}
