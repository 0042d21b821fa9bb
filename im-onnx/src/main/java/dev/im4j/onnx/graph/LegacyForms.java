package dev.im4j.onnx.graph;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Rewrites a node read from a model of default-domain opset 13 to 18 into the opset-18 form the IR
 * holds, so that graphs written by other exporters (PyTorch's included) load with the semantics
 * they were written with.
 *
 * <p>The rewrites, all exact:
 *
 * <ul>
 *   <li>{@code Constant} with {@code value_float}, {@code value_floats}, {@code value_int} or
 *       {@code value_ints} becomes {@code Constant} with a {@code value} tensor (rank 0 for the
 *       scalar forms, rank 1 for the list forms; INT64 for the integer forms);
 *   <li>below opset 18, {@code ReduceMean}, {@code ReduceMax} and {@code ReduceProd} take their
 *       {@code axes} attribute as a constant second input, and a {@code Split} without sizes gets
 *       {@code num_outputs} equal to its output count (the even split it meant);
 *   <li>empty input names (omitted optional inputs) at the end are dropped; an omitted {@code axes}
 *       of a {@code Slice} that has {@code steps} becomes {@code 0..n-1}, as ONNX defines.
 * </ul>
 *
 * <p>Everything else that opset 18 would not accept is rejected with a {@link ModelFormatException}
 * naming the op and the node: a form this class does not know is never guessed. The ops whose
 * definitions changed between opsets 13 and 18 in other ways only gained types or optional
 * attributes, so their older nodes mean the same under opset 18.
 */
final class LegacyForms {
  /** The oldest default-domain opset the reader accepts. */
  static final int MIN_OPSET = 13;

  /** A node in its opset-18 form. */
  record Rewritten(List<Value> inputs, Map<String, Attribute> attributes) {}

  private final Graph graph;
  private final int opset;
  private final Set<String> reserved;

  /**
   * @param opset the model's default-domain opset, {@link #MIN_OPSET} to {@link Op#OPSET}
   * @param reserved every node and value name in the model, so that added constants never take a
   *     name a later node uses; names added are recorded in it
   */
  LegacyForms(Graph graph, int opset, Set<String> reserved) {
    this.graph = graph;
    this.opset = opset;
    this.reserved = reserved;
  }

  /**
   * The opset-18 form of one node.
   *
   * @param in the node's inputs, null where the model gives an empty name
   * @throws ModelFormatException naming the op and node if the node cannot be expressed in opset 18
   */
  Rewritten rewrite(
      Op op, String node, List<Value> in, Map<String, Attribute> attrs, int numOutputs) {
    List<Value> inputs = optionalInputs(op, node, in);
    Map<String, Attribute> a = new HashMap<>(attrs);
    switch (op) {
      case CONSTANT -> constant(node, a);
      case REDUCE_MEAN, REDUCE_MAX, REDUCE_PROD -> reduceAxes(op, node, inputs, a);
      case SPLIT -> split(node, inputs, a, numOutputs);
      default -> {
        // the opset-13 to 17 form of every other supported op is its opset-18 form
      }
    }
    return new Rewritten(inputs, a);
  }

  private ModelFormatException fail(Op op, String node, String message) {
    return new ModelFormatException(op.onnxName() + " node '" + node + "': " + message);
  }

  private List<Value> optionalInputs(Op op, String node, List<Value> in) {
    List<Value> out = new ArrayList<>(in);
    while (!out.isEmpty() && out.get(out.size() - 1) == null) {
      out.remove(out.size() - 1);
    }
    if (op == Op.SLICE && out.size() == 5 && out.get(3) == null) {
      Shape starts = out.get(1).shape();
      if (starts.rank() != 1 || !starts.dim(0).isStatic()) {
        throw fail(op, node, "axes is omitted but the length of starts " + starts + " is unknown");
      }
      long[] axes = new long[(int) starts.dim(0).size()];
      Arrays.setAll(axes, i -> i);
      out.set(3, constant(node + "_axes", Tensor.ofLongs(new long[] {axes.length}, axes)));
    }
    for (int i = 0; i < out.size(); i++) {
      if (out.get(i) == null) {
        throw fail(
            op,
            node,
            "input "
                + i
                + " has an empty name (an omitted optional input), which "
                + op.onnxName()
                + " does not allow in that position");
      }
    }
    return out;
  }

  private void constant(String node, Map<String, Attribute> a) {
    if (a.size() != 1) {
      throw fail(
          Op.CONSTANT,
          node,
          "expected exactly one value attribute but found "
              + a.keySet().stream().sorted().toList());
    }
    String name = a.keySet().iterator().next();
    Attribute v = a.remove(name);
    Tensor t =
        switch (name) {
          case "value" -> v instanceof Attribute.TensorValue tv ? tv.value() : null;
          case "value_float" ->
              v instanceof Attribute.Float f ? Tensor.ofFloats(new long[0], f.value()) : null;
          case "value_floats" ->
              v instanceof Attribute.Floats fs
                  ? Tensor.ofFloats(new long[] {fs.value().length}, fs.value())
                  : null;
          case "value_int" ->
              v instanceof Attribute.Int i ? Tensor.ofLongs(new long[0], i.value()) : null;
          case "value_ints" ->
              v instanceof Attribute.Ints is
                  ? Tensor.ofLongs(new long[] {is.value().length}, is.value())
                  : null;
          default ->
              throw fail(
                  Op.CONSTANT,
                  node,
                  "attribute '"
                      + name
                      + "' is not supported; supported: value, value_float, value_floats,"
                      + " value_int, value_ints");
        };
    if (t == null) {
      throw fail(Op.CONSTANT, node, "attribute '" + name + "' has the wrong type " + v.type());
    }
    a.put("value", new Attribute.TensorValue(t));
  }

  private void reduceAxes(Op op, String node, List<Value> in, Map<String, Attribute> a) {
    Attribute axes = a.get("axes");
    if (axes == null || opset >= 18) {
      return; // opset 18 rejects the attribute when the signature is checked
    }
    if (!(axes instanceof Attribute.Ints ints)) {
      throw fail(op, node, "attribute 'axes' must be INTS but was " + axes.type());
    }
    if (in.size() > 1) {
      throw fail(op, node, "axes given both as attribute and as input");
    }
    a.remove("axes");
    long[] v = ints.value();
    in.add(constant(node + "_axes", Tensor.ofLongs(new long[] {v.length}, v)));
  }

  private void split(String node, List<Value> in, Map<String, Attribute> a, int numOutputs) {
    if (opset >= 18) {
      return;
    }
    if (a.containsKey("num_outputs") || a.containsKey("split")) {
      throw fail(
          Op.SPLIT,
          node,
          "attributes 'num_outputs' and 'split' do not exist in opset "
              + opset
              + " (found "
              + a.keySet().stream().sorted().toList()
              + ")");
    }
    if (in.size() == 1) {
      // before opset 18 a Split without sizes splits evenly into its outputs
      long axis = a.get("axis") instanceof Attribute.Int i ? i.value() : 0;
      Shape s = in.get(0).shape();
      int ax = (int) (axis < 0 ? axis + s.rank() : axis);
      if (ax >= 0 && ax < s.rank() && s.dim(ax).isStatic() && s.dim(ax).size() % numOutputs != 0) {
        throw fail(
            Op.SPLIT,
            node,
            "axis "
                + axis
                + " of size "
                + s.dim(ax).size()
                + " does not split evenly into "
                + numOutputs
                + " outputs");
      }
      a.put("num_outputs", new Attribute.Int(numOutputs));
    }
  }

  /** A Constant node named after the node it serves, under a name the model does not use. */
  private Value constant(String base, Tensor value) {
    String name = base;
    for (int k = 1; reserved.contains(name) || graph.value(name) != null; k++) {
      name = base + "_" + k;
    }
    reserved.add(name);
    return graph
        .apply(
            Op.CONSTANT,
            List.of(),
            Map.of("value", new Attribute.TensorValue(value)),
            List.of(name),
            name)
        .output(0);
  }
}
