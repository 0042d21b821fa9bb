package dev.im4j.onnx.train;

import static dev.im4j.onnx.runtime.PortableRuntime.ACCUMULATE;
import static dev.im4j.onnx.runtime.PortableRuntime.LEARNING_RATE;
import static dev.im4j.onnx.runtime.PortableRuntime.LOSS;
import static dev.im4j.onnx.runtime.PortableRuntime.STEP;
import static dev.im4j.onnx.runtime.PortableRuntime.accumulated;
import static dev.im4j.onnx.runtime.PortableRuntime.accumulator;
import static dev.im4j.onnx.runtime.PortableRuntime.moment;
import static dev.im4j.onnx.runtime.PortableRuntime.next;

import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.graph.Shape;
import dev.im4j.onnx.graph.Value;
import dev.im4j.onnx.runtime.PortableRuntime;
import java.util.ArrayList;
import java.util.List;

/**
 * The two graphs of the {@link PortableRuntime}, in standard ONNX ops only (the contract is on that
 * class): the step graph from a {@link TrainingGraph}, and AdamW with optional gradient clipping as
 * the optimizer graph. AdamW follows the formulas of ONNX Runtime's {@code AdamWOptimizer} that the
 * training-API runtime uses (docs/runtimes.md), so both runtimes train alike: {@link
 * AdamWConfig.Variant#TORCH} decays first ({@code w ← w − lr·λ·w}), then {@code w ← w − lr · m̂ /
 * (√v̂ + ε)} with {@code m̂ = m / (1 − β₁ᵗ)}, {@code v̂ = v / (1 − β₂ᵗ)}; {@link
 * AdamWConfig.Variant#HUGGING_FACE_LEGACY} steps by {@code lr · √(1 − β₂ᵗ) / (1 − β₁ᵗ) · m / (√v +
 * ε)}, then decays the updated weight. Clipping scales every gradient by {@code min(1, maxNorm /
 * (‖g‖₂ + 1e-6))}, the norm over all trainable parameters together.
 */
public final class PortableGraphs {
  private PortableGraphs() {}

  /** The trainable parameters of {@code training}, in its parameter order. */
  public static List<Value> trainable(TrainingGraph training) {
    List<Value> out = new ArrayList<>();
    for (Value p : training.parameters()) {
      if (training.gradients().containsKey(p.name())) {
        out.add(p);
      }
    }
    return out;
  }

  /**
   * The step graph: {@code training}'s graph, extended in place with the accumulator inputs and
   * outputs, the {@value PortableRuntime#ACCUMULATE} input and the loss as output {@value
   * PortableRuntime#LOSS}.
   */
  public static Graph step(TrainingGraph training) {
    Graph g = training.graph();
    Value keep = g.input(ACCUMULATE, DType.FLOAT, Shape.scalar());
    for (Value p : trainable(training)) {
      Value acc = g.input(accumulator(p.name()), DType.FLOAT, p.shape());
      Value grad = training.gradients().get(p.name());
      g.output(accumulated(p.name()), g.add(g.mul(acc, keep), grad));
    }
    Value loss = training.loss();
    if (!(loss.name().equals(LOSS) && g.outputs().contains(loss))) {
      g.output(LOSS, loss);
    }
    return g;
  }

  /**
   * The optimizer graph for {@code trainable} (values of a training graph: their names and shapes
   * are used).
   *
   * @param maxGradNorm the clipping norm; 0 clips nothing
   */
  public static Graph optimizer(List<Value> trainable, AdamWConfig adamW, float maxGradNorm) {
    Graph g = Graph.create("adamw_step");
    Value lr = g.input(LEARNING_RATE, DType.FLOAT, Shape.scalar());
    Value t = g.input(STEP, DType.FLOAT, Shape.scalar());
    List<Value> weights = new ArrayList<>();
    List<Value> grads = new ArrayList<>();
    for (Value p : trainable) {
      weights.add(g.input(p.name(), DType.FLOAT, p.shape()));
      grads.add(g.input(accumulator(p.name()), DType.FLOAT, p.shape()));
    }
    Value scale = null; // the clipping factor, applied in each parameter's update below
    if (maxGradNorm > 0) {
      List<Value> squares = new ArrayList<>();
      for (Value grad : grads) {
        squares.add(g.reduceSum(g.reshape(g.mul(grad, grad), -1), new long[] {0}, false));
      }
      Value norm = g.sqrt(squares.size() == 1 ? squares.get(0) : g.sum(squares));
      Value ratio = g.div(f(g, maxGradNorm), g.add(norm, f(g, 1e-6)));
      scale = g.where(g.greater(ratio, f(g, 1)), f(g, 1), ratio);
    }
    Value b1 = f(g, adamW.beta1());
    Value b2 = f(g, adamW.beta2());
    Value one = f(g, 1);
    Value correction1 = g.sub(one, g.pow(b1, t)); // 1 − β₁ᵗ
    Value correction2 = g.sub(one, g.pow(b2, t)); // 1 − β₂ᵗ
    Value eps = f(g, adamW.epsilon());
    Value decay = g.mul(lr, f(g, adamW.weightDecay())); // lr · λ
    for (int i = 0; i < trainable.size(); i++) {
      String name = trainable.get(i).name();
      Value w = weights.get(i);
      // scaled here, not all at once: nodes run in this order, so one scaled gradient is alive
      Value grad = scale == null ? grads.get(i) : g.mul(grads.get(i), scale);
      Value m0 = g.input(moment(name, 0), DType.FLOAT, w.shape());
      Value v0 = g.input(moment(name, 1), DType.FLOAT, w.shape());
      Value m = g.add(g.mul(b1, m0), g.mul(g.sub(one, b1), grad));
      Value v = g.add(g.mul(b2, v0), g.mul(g.sub(one, b2), g.mul(grad, grad)));
      Value updated;
      if (adamW.variant() == AdamWConfig.Variant.TORCH) {
        Value decayed = g.sub(w, g.mul(decay, w));
        Value denominator = g.add(g.sqrt(g.div(v, correction2)), eps);
        updated = g.sub(decayed, g.div(g.mul(lr, g.div(m, correction1)), denominator));
      } else {
        Value stepSize = g.div(g.mul(lr, g.sqrt(correction2)), correction1);
        Value stepped = g.sub(w, g.div(g.mul(stepSize, m), g.add(g.sqrt(v), eps)));
        updated = g.sub(stepped, g.mul(decay, stepped));
      }
      g.output(next(name), updated);
      g.output(next(moment(name, 0)), m);
      g.output(next(moment(name, 1)), v);
    }
    return g;
  }

  private static Value f(Graph g, double value) {
    return g.scalar(DType.FLOAT, value);
  }
}
