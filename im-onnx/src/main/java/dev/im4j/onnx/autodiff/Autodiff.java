package dev.im4j.onnx.autodiff;

import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.graph.Node;
import dev.im4j.onnx.graph.Op;
import dev.im4j.onnx.graph.Shape;
import dev.im4j.onnx.graph.Tensor;
import dev.im4j.onnx.graph.Value;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reverse-mode automatic differentiation over a {@link Graph}: appends the backward nodes to the
 * graph that holds the forward pass, using standard ONNX ops only (opset 18).
 *
 * <p>The walk visits nodes in reverse topological order, starting from the seeded values. A node
 * gets gradient nodes only if a value being differentiated ({@code wrt}) reaches one of its inputs
 * through floating-point values, and only for those inputs; contributions from several consumers (a
 * tied embedding) are summed; forward outputs are reused rather than recomputed; gradients of
 * broadcast operands are summed back to the operand shape.
 *
 * <p>Each op's rule lives in {@link Rules}. An op without a rule on the differentiated path fails
 * with an {@link IllegalArgumentException} naming the op and the node, at graph-build time.
 */
public final class Autodiff {
  private Autodiff() {}

  /** The ops that have a gradient rule (unmodifiable). */
  public static Set<Op> supportedOps() {
    return Rules.supported();
  }

  /**
   * Gradients of a scalar {@code loss} with respect to each of {@code wrt}.
   *
   * @param loss a floating-point value with a static shape of one element ([] or [1])
   * @param wrt floating-point graph inputs or initializers (or any values) to differentiate
   * @return for each of {@code wrt}, in order, the value holding d loss / d wrt (same dtype and
   *     shape); zeros where {@code wrt} does not reach the loss
   */
  public static Map<Value, Value> gradients(Graph graph, Value loss, List<Value> wrt) {
    if (!loss.dtype().isFloatingPoint()
        || !loss.shape().isStatic()
        || loss.shape().elementCount() != 1) {
      throw new IllegalArgumentException(
          "loss must be a floating-point value of one element but was " + loss);
    }
    Value seed = graph.constant(Tensor.filled(loss.dtype(), loss.shape().sizes(), 1.0));
    return gradients(graph, Map.of(loss, seed), wrt);
  }

  /**
   * Gradients given seed adjoints: the result is {@code Σ_s <seed_s, d s / d wrt>}. Use this to
   * start from an analytic gradient, e.g. {@link WeightedCrossEntropy}'s d loss / d logits.
   *
   * @param seeds value -> its adjoint (same dtype and shape)
   */
  public static Map<Value, Value> gradients(Graph graph, Map<Value, Value> seeds, List<Value> wrt) {
    for (Value w : wrt) {
      if (!w.dtype().isFloatingPoint()) {
        throw new IllegalArgumentException(
            "can only differentiate with respect to floating-point values but '"
                + w.name()
                + "' is "
                + w.dtype());
      }
    }
    Backward b = new Backward(graph);
    List<Node> nodes = new ArrayList<>(graph.nodes());

    // forward reachability from wrt, through floating-point values
    Set<Value> active = new HashSet<>(wrt);
    for (Node n : nodes) {
      if (n.inputs().stream().anyMatch(active::contains)) {
        for (Value o : n.outputs()) {
          if (o.dtype().isFloatingPoint()) {
            active.add(o);
          }
        }
      }
    }
    Map<Value, List<Value>> contributions = new HashMap<>();
    for (Map.Entry<Value, Value> e : seeds.entrySet()) {
      Value v = e.getKey();
      Value s = e.getValue();
      if (s.dtype() != v.dtype() || !compatible(s.shape(), v.shape())) {
        throw new IllegalArgumentException(
            "seed for '" + v.name() + "' must match " + v + " but was " + s);
      }
      contributions.computeIfAbsent(v, k -> new ArrayList<>()).add(s);
    }

    for (int i = nodes.size() - 1; i >= 0; i--) {
      Node n = nodes.get(i);
      boolean hasGrad = false;
      for (Value o : n.outputs()) {
        hasGrad |= contributions.containsKey(o);
      }
      if (!hasGrad) {
        continue;
      }
      boolean[] needed = new boolean[n.inputs().size()];
      boolean any = false;
      for (int k = 0; k < needed.length; k++) {
        needed[k] = active.contains(n.input(k));
        any |= needed[k];
      }
      if (!any) {
        continue;
      }
      GradRule rule = Rules.forOp(n.op());
      if (rule == null) {
        throw new IllegalArgumentException(
            "no gradient rule for op "
                + n.op().onnxName()
                + " (node '"
                + n.name()
                + "'), which lies between a differentiated value and the loss");
      }
      List<Value> outGrads = new ArrayList<>();
      for (Value o : n.outputs()) {
        outGrads.add(total(b, contributions, o));
      }
      List<Value> inGrads = rule.backward(b, n, outGrads, needed);
      for (int k = 0; k < needed.length; k++) {
        if (!needed[k]) {
          continue;
        }
        Value gIn = inGrads.get(k);
        if (gIn == null) {
          throw new IllegalStateException(
              "rule for " + n.op() + " gave no gradient for needed input " + k + " of " + n);
        }
        Value x = n.input(k);
        if (gIn.dtype() != x.dtype() || !compatible(gIn.shape(), x.shape())) {
          throw new IllegalStateException(
              "rule for "
                  + n.op().onnxName()
                  + " (node '"
                  + n.name()
                  + "') gave gradient "
                  + gIn
                  + " for input "
                  + x);
        }
        contributions.computeIfAbsent(x, key -> new ArrayList<>()).add(gIn);
      }
    }

    Map<Value, Value> result = new LinkedHashMap<>();
    for (Value w : wrt) {
      Value total = total(b, contributions, w);
      result.put(w, total == null ? b.zerosLike(w) : total);
    }
    return result;
  }

  /**
   * The summed adjoint of {@code v}, or null if nothing reached it. The sum replaces the list so
   * that a value that is both differentiated and an intermediate is summed once.
   */
  private static Value total(Backward b, Map<Value, List<Value>> contributions, Value v) {
    List<Value> c = contributions.get(v);
    if (c == null) {
      return null;
    }
    Value sum = b.sum(c);
    contributions.put(v, List.of(sum));
    return sum;
  }

  /** Shapes agree where both are known. */
  static boolean compatible(Shape a, Shape b) {
    if (a.rank() != b.rank()) {
      return false;
    }
    for (int i = 0; i < a.rank(); i++) {
      if (a.dim(i).isStatic() && b.dim(i).isStatic() && a.dim(i).size() != b.dim(i).size()) {
        return false;
      }
    }
    return true;
  }
}
