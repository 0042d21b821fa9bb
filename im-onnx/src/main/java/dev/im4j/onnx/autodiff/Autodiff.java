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
    requireFloatingPoint(wrt);
    Backward b = new Backward(graph);
    Map<Value, Value> found = walk(b, List.copyOf(graph.nodes()), seeds, wrt);
    Map<Value, Value> result = new LinkedHashMap<>();
    for (Value w : wrt) {
      Value total = found.get(w);
      result.put(w, total == null ? b.zerosLike(w) : total);
    }
    return result;
  }

  /**
   * Gradients as {@link #gradients(Graph, Map, List)}, with activation recomputation (gradient
   * checkpointing): of the forward pass between consecutive {@code checkpoints} only the
   * checkpoints themselves are kept for the backward pass; each segment's forward nodes are emitted
   * a second time, right before that segment's backward nodes, which use the copies. The results
   * are the same values computed by the same ops.
   *
   * <p>The copy of segment {@code s} reads its checkpoint through {@code Reshape(x, Shape(dy))},
   * where {@code dy} is the gradient arriving at the segment's output: an identity on the values
   * that makes the copy depend on the backward pass, so a runtime neither schedules it before the
   * gradient exists nor merges it with the original forward nodes (common-subexpression elimination
   * sees different inputs).
   *
   * <p>A segment is the nodes after the producer of {@code checkpoints[s]} up to the producer of
   * {@code checkpoints[s + 1]}; those that do not depend on {@code checkpoints[s]} (e.g. a
   * transposed weight) are not copied, except that a copy reads a float32 widening of a
   * half-precision weight through a fresh widening of its own, as the backward rules do. Nodes
   * before the first and after the last checkpoint are differentiated once, as without
   * recomputation.
   *
   * @param checkpoints at least two floating-point values of the same shape, each computed from the
   *     previous one, in graph order (for a decoder: the residual stream before each layer and
   *     after the last)
   * @throws IllegalArgumentException if the checkpoints are not in graph order, or a segment reads
   *     a value computed inside another segment (it would be kept, defeating the recomputation)
   */
  public static Map<Value, Value> gradientsRecomputing(
      Graph graph, Map<Value, Value> seeds, List<Value> wrt, List<Value> checkpoints) {
    requireFloatingPoint(wrt);
    if (checkpoints.size() < 2) {
      throw new IllegalArgumentException(
          "recomputation needs at least two checkpoints but got " + checkpoints.size());
    }
    List<Node> nodes = List.copyOf(graph.nodes());
    Map<Node, Integer> index = new HashMap<>();
    for (int i = 0; i < nodes.size(); i++) {
      index.put(nodes.get(i), i);
    }
    int[] bounds = new int[checkpoints.size()]; // index of each checkpoint's producer
    for (int s = 0; s < bounds.length; s++) {
      Node producer = graph.producer(checkpoints.get(s));
      bounds[s] = producer == null ? -1 : index.get(producer);
      if (s > 0 && bounds[s] <= bounds[s - 1]) {
        throw new IllegalArgumentException(
            "checkpoint "
                + s
                + " ("
                + checkpoints.get(s)
                + ") is not computed after checkpoint "
                + (s - 1)
                + " ("
                + checkpoints.get(s - 1)
                + ")");
      }
    }
    // a phase is the nodes up to the first checkpoint (-1), a segment s, or those after the last;
    // a differentiated value may cross into a phase only as its checkpoint, or its gradient from
    // that phase would be lost
    Set<Value> active = new HashSet<>(wrt);
    for (Node n : nodes) {
      if (n.inputs().stream().anyMatch(active::contains)) {
        n.outputs().stream().filter(o -> o.dtype().isFloatingPoint()).forEach(active::add);
      }
    }
    Set<Value> differentiated = new HashSet<>(wrt);
    for (int i = 0; i < nodes.size(); i++) {
      int phase = phaseOf(i, bounds);
      for (Value v : nodes.get(i).inputs()) {
        Node from = graph.producer(v);
        if (from == null || !active.contains(v) || differentiated.contains(v)) {
          continue;
        }
        int fromPhase = phaseOf(index.get(from), bounds);
        if (fromPhase != phase && !(phase >= 0 && v == checkpoints.get(phase))) {
          throw new IllegalArgumentException(
              "node '"
                  + nodes.get(i).name()
                  + "' reads "
                  + v
                  + " across a checkpoint;"
                  + " only the checkpoints may cross from one segment into the next");
        }
      }
    }
    List<List<Node>> dependent = new ArrayList<>(); // per segment: nodes that read its checkpoint
    List<List<Node>> independent = new ArrayList<>(); // the rest (e.g. a transposed weight)
    for (int s = 0; s + 1 < bounds.length; s++) {
      Set<Value> inside = new HashSet<>(List.of(checkpoints.get(s)));
      List<Node> dep = new ArrayList<>();
      List<Node> ind = new ArrayList<>();
      for (Node n : nodes.subList(bounds[s] + 1, bounds[s + 1] + 1)) {
        if (n.inputs().stream().anyMatch(inside::contains)) {
          dep.add(n);
          inside.addAll(n.outputs());
        } else {
          ind.add(n);
        }
      }
      if (!inside.contains(checkpoints.get(s + 1))) {
        throw new IllegalArgumentException(
            "checkpoint "
                + (s + 1)
                + " ("
                + checkpoints.get(s + 1)
                + ") is not computed from"
                + " checkpoint "
                + s
                + " ("
                + checkpoints.get(s)
                + ")");
      }
      dependent.add(dep);
      independent.add(ind);
    }
    Backward b = new Backward(graph);
    Map<Value, List<Value>> sums = new LinkedHashMap<>(); // wrt -> contributions, phase by phase

    // after the last checkpoint: as without recomputation, down to the last checkpoint
    Value last = checkpoints.get(checkpoints.size() - 1);
    List<Value> tailWrt = new ArrayList<>(wrt);
    tailWrt.add(last);
    Map<Value, Value> found =
        walk(b, nodes.subList(bounds[bounds.length - 1] + 1, nodes.size()), seeds, tailWrt);
    collect(found, wrt, sums);
    Value dy = found.get(last);

    for (int s = bounds.length - 2; s >= 0 && dy != null; s--) {
      Value x = checkpoints.get(s);
      Map<Value, Value> copies = new HashMap<>();
      Value copiedX = graph.reshape(x, graph.shape(dy));
      copies.put(x, copiedX);
      List<Node> walked = new ArrayList<>(independent.get(s)); // walked, not copied
      for (Node n : dependent.get(s)) {
        List<Value> in = new ArrayList<>();
        for (Value v : n.inputs()) {
          Value copied = copies.get(v);
          in.add(copied != null ? copied : b.reread(v));
        }
        Node copy = graph.apply(n.op(), in, n.attributes(), n.outputs().size());
        walked.add(copy);
        for (int k = 0; k < n.outputs().size(); k++) {
          copies.put(n.output(k), copy.output(k));
        }
      }
      List<Value> segmentWrt = new ArrayList<>(wrt);
      segmentWrt.add(copiedX);
      found = walk(b, walked, Map.of(copies.get(checkpoints.get(s + 1)), dy), segmentWrt);
      collect(found, wrt, sums);
      dy = found.get(copiedX);
    }

    // before the first checkpoint: as without recomputation, from its gradient
    if (dy != null) {
      found = walk(b, nodes.subList(0, bounds[0] + 1), Map.of(checkpoints.get(0), dy), wrt);
      collect(found, wrt, sums);
    }
    Map<Value, Value> result = new LinkedHashMap<>();
    for (Value w : wrt) {
      List<Value> c = sums.get(w);
      result.put(w, c == null ? b.zerosLike(w) : b.sum(c));
    }
    return result;
  }

  /** -1 up to the first checkpoint's producer, s inside segment s, the segment count after. */
  private static int phaseOf(int nodeIndex, int[] bounds) {
    int phase = -1;
    while (phase + 1 < bounds.length && nodeIndex > bounds[phase + 1]) {
      phase++;
    }
    return phase;
  }

  private static void collect(
      Map<Value, Value> found, List<Value> wrt, Map<Value, List<Value>> sums) {
    for (Value w : wrt) {
      Value g = found.get(w);
      if (g != null) {
        sums.computeIfAbsent(w, k -> new ArrayList<>()).add(g);
      }
    }
  }

  private static void requireFloatingPoint(List<Value> wrt) {
    for (Value w : wrt) {
      if (!w.dtype().isFloatingPoint()) {
        throw new IllegalArgumentException(
            "can only differentiate with respect to floating-point values but '"
                + w.name()
                + "' is "
                + w.dtype());
      }
    }
  }

  /**
   * The reverse walk over {@code nodes} (a topologically ordered part of the graph; values made
   * elsewhere are constants to it): for each of {@code wrt}, the summed adjoint, absent where
   * nothing reached it.
   */
  private static Map<Value, Value> walk(
      Backward b, List<Node> nodes, Map<Value, Value> seeds, List<Value> wrt) {
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
      result.put(w, total(b, contributions, w));
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
