package dev.im4j.onnx.graph;

import dev.im4j.onnx.graph.ShapeInference.ValueType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * An ONNX graph under construction, and the one context that owns its names and values.
 *
 * <p>Every node is checked when added: the op's declared arity and attributes ({@link Op}), that
 * every input was minted by this graph, and the input types and shapes (shape inference runs at
 * once, so every {@link Value} carries its dtype and static or symbolic shape). Typed builder
 * methods ({@link #matMul}, {@link #reduceSum}, ...) cover every supported op; {@link #apply} is
 * the generic form used by readers. Nodes are kept in insertion order, which is a topological order
 * since a node can only consume values that exist.
 *
 * <p>Not thread-safe: build a graph from one thread.
 */
public final class Graph {
  private final String name;
  private final List<Value> inputs = new ArrayList<>();
  private final List<Value> outputs = new ArrayList<>();
  private final Map<Value, Tensor> initializers = new LinkedHashMap<>();
  private final Map<Value, StreamedBytes> streamedInitializers = new LinkedHashMap<>();
  private final List<Node> nodes = new ArrayList<>();
  private final Map<String, Value> values = new HashMap<>();
  private final Set<String> nodeNames = new HashSet<>();
  private final Map<Value, Node> producers = new HashMap<>();
  // small constants by value: one node per distinct value (see constant)
  private final Map<Tensor, Value> sharedConstants = new HashMap<>();
  private final Map<Value, Tensor> constants = new HashMap<>();
  private long counter;

  private Graph(String name) {
    this.name = name;
  }

  /** An empty graph. */
  public static Graph create(String name) {
    if (name == null || name.isEmpty()) {
      throw new IllegalArgumentException("graph name must not be empty");
    }
    return new Graph(name);
  }

  public String name() {
    return name;
  }

  /** Graph inputs in declaration order (unmodifiable view). */
  public List<Value> inputs() {
    return Collections.unmodifiableList(inputs);
  }

  /** Graph outputs in declaration order (unmodifiable view). */
  public List<Value> outputs() {
    return Collections.unmodifiableList(outputs);
  }

  /** Initializers in declaration order (unmodifiable view). */
  public Map<Value, Tensor> initializers() {
    return Collections.unmodifiableMap(initializers);
  }

  /**
   * Initializers whose bytes the graph does not hold, in declaration order (unmodifiable view); see
   * {@link #streamedInitializer}.
   */
  public Map<Value, StreamedBytes> streamedInitializers() {
    return Collections.unmodifiableMap(streamedInitializers);
  }

  /** Nodes in topological (insertion) order (unmodifiable view). */
  public List<Node> nodes() {
    return Collections.unmodifiableList(nodes);
  }

  /** The node producing {@code v}, or null for inputs and initializers. */
  public Node producer(Value v) {
    checkOwned(v, "value");
    return producers.get(v);
  }

  /** The value named {@code valueName}, or null. */
  public Value value(String valueName) {
    return values.get(valueName);
  }

  // ---------------------------------------------------------------- declarations

  /**
   * Declares a graph input.
   *
   * @throws IllegalArgumentException if the name is taken
   */
  public Value input(String inputName, DType dtype, Shape shape) {
    Value v = mint(inputName, dtype, shape);
    inputs.add(v);
    return v;
  }

  /**
   * Declares an initializer (a weight or a constant stored with the model).
   *
   * @throws IllegalArgumentException if the name is taken
   */
  public Value initializer(String initName, Tensor value) {
    Value v = mint(initName, value.dtype(), value.shape());
    initializers.put(v, value);
    if (value.dtype() == DType.INT64 && value.elementCount() <= 64) {
      constants.put(v, value);
    }
    return v;
  }

  /**
   * Declares an initializer whose bytes are produced by {@code bytes} when the graph is written
   * (always as external data, see {@link OnnxIo#write}) and are never held by the graph: a weight
   * of a large model. Its value is unknown while building, so no op folds it as a constant.
   *
   * @throws IllegalArgumentException if the name is taken or {@code shape} is not static
   */
  public Value streamedInitializer(String initName, DType dtype, Shape shape, StreamedBytes bytes) {
    Objects.requireNonNull(bytes, "bytes");
    if (!shape.isStatic()) {
      throw new IllegalArgumentException(
          "initializer '" + initName + "' needs a static shape but was " + shape);
    }
    Value v = mint(initName, dtype, shape);
    streamedInitializers.put(v, bytes);
    return v;
  }

  /** Marks {@code v} as a graph output under its own name. */
  public Value output(Value v) {
    checkOwned(v, "output");
    if (outputs.contains(v)) {
      throw new IllegalArgumentException("value '" + v.name() + "' is already a graph output");
    }
    outputs.add(v);
    return v;
  }

  /** Marks {@code v} as a graph output named {@code outputName} (adds an Identity if needed). */
  public Value output(String outputName, Value v) {
    checkOwned(v, "output");
    if (v.name().equals(outputName)) {
      return output(v);
    }
    Node n = add(Op.IDENTITY, List.of(v), Map.of(), List.of(outputName), null);
    return output(n.output(0));
  }

  // ---------------------------------------------------------------- generic node

  /**
   * Adds a node with generated names.
   *
   * @param numOutputs how many outputs the node has (ops with optional outputs)
   * @throws IllegalArgumentException naming the op and node when arity, attributes, types or shapes
   *     are invalid, or an input belongs to another graph
   */
  public Node apply(Op op, List<Value> in, Map<String, Attribute> attrs, int numOutputs) {
    return add(op, in, attrs, Collections.nCopies(numOutputs, null), null);
  }

  /**
   * Adds a node with explicit node and output names (as read from a model file); a null name is
   * generated.
   */
  public Node apply(
      Op op,
      List<Value> in,
      Map<String, Attribute> attrs,
      List<String> outputNames,
      String nodeName) {
    return add(op, in, attrs, outputNames, nodeName);
  }

  private Node add(
      Op op,
      List<Value> in,
      Map<String, Attribute> attrs,
      List<String> outputNames,
      String nodeName) {
    String nn = nodeName == null ? fresh(op.onnxName()) : nodeName;
    if (nodeNames.contains(nn)) {
      throw new IllegalArgumentException("node name '" + nn + "' is already used");
    }
    op.checkSignature(nn, in.size(), outputNames.size(), attrs);
    for (int i = 0; i < in.size(); i++) {
      Value v = Objects.requireNonNull(in.get(i), () -> op.onnxName() + " input is null");
      if (v.owner() != this) {
        throw new IllegalArgumentException(
            op.onnxName()
                + " node '"
                + nn
                + "': input "
                + i
                + " '"
                + v.name()
                + "' belongs to graph '"
                + v.owner().name
                + "', not '"
                + name
                + "'");
      }
    }
    Map<String, Attribute> sorted = Collections.unmodifiableMap(new TreeMap<>(attrs));
    List<ValueType> types = ShapeInference.infer(this, op, nn, in, sorted, outputNames.size());
    List<Value> outs = new ArrayList<>(types.size());
    for (int i = 0; i < types.size(); i++) {
      String on = outputNames.get(i);
      outs.add(
          mint(
              on == null ? (i == 0 ? fresh(nn + "_out") : fresh(nn + "_out" + i)) : on,
              types.get(i).dtype(),
              types.get(i).shape()));
    }
    Node node = new Node(op, nn, in, outs, sorted);
    nodeNames.add(nn);
    nodes.add(node);
    for (Value o : outs) {
      producers.put(o, node);
    }
    if (op == Op.CONSTANT) {
      constants.put(outs.get(0), ((Attribute.TensorValue) sorted.get("value")).value());
    }
    return node;
  }

  private Value mint(String valueName, DType dtype, Shape shape) {
    if (valueName == null || valueName.isEmpty()) {
      throw new IllegalArgumentException("value name must not be empty");
    }
    if (values.containsKey(valueName)) {
      throw new IllegalArgumentException("value name '" + valueName + "' is already used");
    }
    Value v = new Value(this, valueName, dtype, shape);
    values.put(valueName, v);
    return v;
  }

  private String fresh(String base) {
    String candidate;
    do {
      candidate = base + "_" + counter++;
    } while (values.containsKey(candidate) || nodeNames.contains(candidate));
    return candidate;
  }

  private void checkOwned(Value v, String role) {
    if (v.owner() != this) {
      throw new IllegalArgumentException(
          role
              + " '"
              + v.name()
              + "' belongs to graph '"
              + v.owner().name
              + "', not '"
              + name
              + "'");
    }
  }

  /** The known value of a small INT64 constant (initializer or Constant node), or null. */
  Tensor constantValue(Value v) {
    return constants.get(v);
  }

  /**
   * The dimensions a 1-D INT64 value describes, when known: a constant (negative entries become
   * unknown) or {@code Shape(x)} (possibly sliced and concatenated); else null.
   */
  List<Dim> shapeValue(Value v) {
    Tensor c = constants.get(v);
    if (c != null) {
      List<Dim> d = new ArrayList<>();
      for (long x : c.toLongs()) {
        d.add(x < 0 ? Dim.unknown() : Dim.of(x));
      }
      return d;
    }
    Node p = producers.get(v);
    if (p == null) {
      return null;
    }
    if (p.op() == Op.SHAPE) {
      List<Dim> all = p.input(0).shape().dims();
      int r = all.size();
      long s = p.intAttr("start", 0);
      long e = p.intAttr("end", r);
      int from = (int) Math.max(0, Math.min(r, s < 0 ? s + r : s));
      int to = (int) Math.max(0, Math.min(r, e < 0 ? e + r : e));
      return from < to ? new ArrayList<>(all.subList(from, to)) : new ArrayList<>();
    }
    if (p.op() == Op.CONCAT) {
      List<Dim> d = new ArrayList<>();
      for (Value x : p.inputs()) {
        List<Dim> part = shapeValue(x);
        if (part == null) {
          return null;
        }
        d.addAll(part);
      }
      return d;
    }
    return null;
  }

  /**
   * The dimension an INT64 scalar describes, when known: a constant, {@code Size} of a static
   * value, or a squeezed one-element shape value such as {@code Squeeze(Shape(x, 1, 2))}; else
   * null.
   */
  Dim scalarDim(Value v) {
    if (v.rank() != 0) {
      return null;
    }
    Tensor c = constants.get(v);
    if (c != null) {
      long x = c.toLongs()[0];
      return x < 0 ? null : Dim.of(x);
    }
    Node p = producers.get(v);
    if (p != null && p.op() == Op.SIZE && p.input(0).shape().isStatic()) {
      return Dim.of(p.input(0).shape().elementCount());
    }
    if (p != null && p.op() == Op.SQUEEZE) {
      List<Dim> d = shapeValue(p.input(0));
      return d != null && d.size() == 1 ? d.get(0) : null;
    }
    return null;
  }

  // ---------------------------------------------------------------- typed builders

  private Value op1(Op op, List<Value> in, Map<String, Attribute> attrs) {
    return apply(op, in, attrs, 1).output(0);
  }

  private Value op1(Op op, Value... in) {
    return op1(op, List.of(in), Map.of());
  }

  /**
   * Constants of at most this many elements are made once per distinct value: shapes, axes and
   * scalars recur in every layer and every backward rule, and each node costs ONNX Runtime time
   * when it opens a session (a SmolLM2-135M training graph held 1,318 Constants of 31 values).
   */
  static final int SHARED_CONSTANT_ELEMENTS = 64;

  /**
   * A Constant node holding {@code value}; a small one ({@value #SHARED_CONSTANT_ELEMENTS} elements
   * or fewer) is the same node for the same value.
   */
  public Value constant(Tensor value) {
    if (value.elementCount() > SHARED_CONSTANT_ELEMENTS) {
      return constantNode(value);
    }
    return sharedConstants.computeIfAbsent(value, this::constantNode);
  }

  private Value constantNode(Tensor value) {
    return op1(Op.CONSTANT, List.of(), Map.of("value", new Attribute.TensorValue(value)));
  }

  /** A rank-0 constant of {@code dtype}. */
  public Value scalar(DType dtype, double value) {
    return constant(Tensor.scalar(dtype, value));
  }

  /** A 1-D INT64 constant. */
  public Value longs(long... values) {
    return constant(Tensor.ofLongs(new long[] {values.length}, values));
  }

  public Value add(Value a, Value b) {
    return op1(Op.ADD, a, b);
  }

  public Value sub(Value a, Value b) {
    return op1(Op.SUB, a, b);
  }

  public Value mul(Value a, Value b) {
    return op1(Op.MUL, a, b);
  }

  public Value div(Value a, Value b) {
    return op1(Op.DIV, a, b);
  }

  public Value pow(Value a, Value exponent) {
    return op1(Op.POW, a, exponent);
  }

  public Value sqrt(Value x) {
    return op1(Op.SQRT, x);
  }

  public Value reciprocal(Value x) {
    return op1(Op.RECIPROCAL, x);
  }

  public Value exp(Value x) {
    return op1(Op.EXP, x);
  }

  public Value log(Value x) {
    return op1(Op.LOG, x);
  }

  public Value neg(Value x) {
    return op1(Op.NEG, x);
  }

  public Value abs(Value x) {
    return op1(Op.ABS, x);
  }

  public Value erf(Value x) {
    return op1(Op.ERF, x);
  }

  public Value tanh(Value x) {
    return op1(Op.TANH, x);
  }

  public Value sigmoid(Value x) {
    return op1(Op.SIGMOID, x);
  }

  public Value relu(Value x) {
    return op1(Op.RELU, x);
  }

  public Value sin(Value x) {
    return op1(Op.SIN, x);
  }

  public Value cos(Value x) {
    return op1(Op.COS, x);
  }

  /** Elementwise sum of one or more values (broadcasting). */
  public Value sum(List<Value> terms) {
    return op1(Op.SUM, terms, Map.of());
  }

  public Value matMul(Value a, Value b) {
    return op1(Op.MATMUL, a, b);
  }

  /** {@code alpha * A' B' + beta * C} with optional transposes; {@code c} may be null. */
  public Value gemm(
      Value a, Value b, Value c, double alpha, double beta, boolean transA, boolean transB) {
    Map<String, Attribute> at = new HashMap<>();
    at.put("alpha", new Attribute.Float((float) alpha));
    at.put("beta", new Attribute.Float((float) beta));
    at.put("transA", new Attribute.Int(transA ? 1 : 0));
    at.put("transB", new Attribute.Int(transB ? 1 : 0));
    return op1(Op.GEMM, c == null ? List.of(a, b) : List.of(a, b, c), at);
  }

  public Value softmax(Value x, long axis) {
    return op1(Op.SOFTMAX, List.of(x), Map.of("axis", new Attribute.Int(axis)));
  }

  public Value logSoftmax(Value x, long axis) {
    return op1(Op.LOG_SOFTMAX, List.of(x), Map.of("axis", new Attribute.Int(axis)));
  }

  private Value reduce(Op op, Value x, long[] axes, boolean keepDims) {
    return op1(
        op, List.of(x, longs(axes)), Map.of("keepdims", new Attribute.Int(keepDims ? 1 : 0)));
  }

  public Value reduceSum(Value x, long[] axes, boolean keepDims) {
    return reduce(Op.REDUCE_SUM, x, axes, keepDims);
  }

  public Value reduceMean(Value x, long[] axes, boolean keepDims) {
    return reduce(Op.REDUCE_MEAN, x, axes, keepDims);
  }

  public Value reduceMax(Value x, long[] axes, boolean keepDims) {
    return reduce(Op.REDUCE_MAX, x, axes, keepDims);
  }

  public Value reduceProd(Value x, long[] axes, boolean keepDims) {
    return reduce(Op.REDUCE_PROD, x, axes, keepDims);
  }

  /**
   * LayerNormalization over axes {@code axis..rank-1}; the node also outputs mean and inverse
   * standard deviation (stashed as FLOAT, the ONNX default and the only stash type ONNX Runtime CPU
   * implements) so gradients reuse them.
   *
   * @param bias may be null
   */
  public Value layerNorm(Value x, Value scale, Value bias, long axis, double epsilon) {
    Map<String, Attribute> at = new HashMap<>();
    at.put("axis", new Attribute.Int(axis));
    at.put("epsilon", new Attribute.Float((float) epsilon));
    return apply(
            Op.LAYER_NORMALIZATION,
            bias == null ? List.of(x, scale) : List.of(x, scale, bias),
            at,
            3)
        .output(0);
  }

  public Value transpose(Value x, long... perm) {
    return op1(Op.TRANSPOSE, List.of(x), Map.of("perm", new Attribute.Ints(perm)));
  }

  public Value reshape(Value x, Value shape) {
    return op1(Op.RESHAPE, x, shape);
  }

  /**
   * Reshape to {@code shape} taken literally ({@code allowzero} 1): a 0 in it is an empty axis, not
   * a copy of the input's. For shapes read from a tensor with {@code Shape}, which may hold zeros
   * at run time (an empty slice), where plain {@link #reshape(Value, Value)} would copy the input's
   * dimension instead and fail.
   */
  public Value reshapeLiteral(Value x, Value shape) {
    return op1(Op.RESHAPE, List.of(x, shape), Map.of("allowzero", new Attribute.Int(1)));
  }

  /** Reshape to a constant shape (0 copies the input dimension, -1 is inferred). */
  public Value reshape(Value x, long... shape) {
    return reshape(x, longs(shape));
  }

  public Value flatten(Value x, long axis) {
    return op1(Op.FLATTEN, List.of(x), Map.of("axis", new Attribute.Int(axis)));
  }

  /** Removes the given size-1 axes; with no axes, every static size-1 axis. */
  public Value squeeze(Value x, long... axes) {
    return axes.length == 0 ? op1(Op.SQUEEZE, x) : op1(Op.SQUEEZE, x, longs(axes));
  }

  public Value unsqueeze(Value x, long... axes) {
    return op1(Op.UNSQUEEZE, x, longs(axes));
  }

  public Value concat(long axis, List<Value> parts) {
    return op1(Op.CONCAT, parts, Map.of("axis", new Attribute.Int(axis)));
  }

  /** Splits along {@code axis} into pieces of the given sizes. */
  public List<Value> split(Value x, long axis, long... sizes) {
    return apply(
            Op.SPLIT,
            List.of(x, longs(sizes)),
            Map.of("axis", new Attribute.Int(axis)),
            sizes.length)
        .outputs();
  }

  /** Splits along {@code axis} into pieces whose sizes are given by a 1-D INT64 value. */
  public List<Value> split(Value x, long axis, Value sizes, int pieces) {
    return apply(Op.SPLIT, List.of(x, sizes), Map.of("axis", new Attribute.Int(axis)), pieces)
        .outputs();
  }

  /** Slice with constant parameters; {@code steps} may be null. */
  public Value slice(Value x, long[] starts, long[] ends, long[] axes, long[] steps) {
    List<Value> in = new ArrayList<>(List.of(x, longs(starts), longs(ends), longs(axes)));
    if (steps != null) {
      in.add(longs(steps));
    }
    return op1(Op.SLICE, in, Map.of());
  }

  /** Slice with value parameters (all 1-D INT64 of equal length). */
  public Value slice(Value x, Value starts, Value ends, Value axes, Value steps) {
    return op1(Op.SLICE, List.of(x, starts, ends, axes, steps), Map.of());
  }

  public Value expand(Value x, Value shape) {
    return op1(Op.EXPAND, x, shape);
  }

  public Value where(Value condition, Value x, Value y) {
    return op1(Op.WHERE, condition, x, y);
  }

  public Value cast(Value x, DType to) {
    return op1(Op.CAST, List.of(x), Map.of("to", new Attribute.Int(to.onnxCode())));
  }

  public Value identity(Value x) {
    return op1(Op.IDENTITY, x);
  }

  public Value gather(Value data, Value indices, long axis) {
    return op1(Op.GATHER, List.of(data, indices), Map.of("axis", new Attribute.Int(axis)));
  }

  public Value gatherElements(Value data, Value indices, long axis) {
    return op1(Op.GATHER_ELEMENTS, List.of(data, indices), Map.of("axis", new Attribute.Int(axis)));
  }

  /** ScatterND with a reduction ("none", "add", "mul", "max", "min"). */
  public Value scatterNd(Value data, Value indices, Value updates, String reduction) {
    return op1(
        Op.SCATTER_ND,
        List.of(data, indices, updates),
        Map.of("reduction", new Attribute.Str(reduction)));
  }

  /** ScatterElements along {@code axis} with a reduction ("none", "add", "mul", "max", "min"). */
  public Value scatterElements(
      Value data, Value indices, Value updates, long axis, String reduction) {
    return op1(
        Op.SCATTER_ELEMENTS,
        List.of(data, indices, updates),
        Map.of("axis", new Attribute.Int(axis), "reduction", new Attribute.Str(reduction)));
  }

  /** The 1-D INT64 shape of {@code x}. */
  public Value shape(Value x) {
    return op1(Op.SHAPE, x);
  }

  /** Dimensions {@code start..end-1} of the shape of {@code x}. */
  public Value shape(Value x, long start, long end) {
    return op1(
        Op.SHAPE,
        List.of(x),
        Map.of("start", new Attribute.Int(start), "end", new Attribute.Int(end)));
  }

  /** The element count of {@code x} as an INT64 scalar. */
  public Value size(Value x) {
    return op1(Op.SIZE, x);
  }

  public Value range(Value start, Value limit, Value delta) {
    return op1(Op.RANGE, start, limit, delta);
  }

  /** Keeps the upper (or lower) triangle of the last two axes, offset by the INT64 scalar k. */
  public Value trilu(Value x, boolean upper, Value k) {
    Map<String, Attribute> at = Map.of("upper", new Attribute.Int(upper ? 1 : 0));
    return op1(Op.TRILU, k == null ? List.of(x) : List.of(x, k), at);
  }

  /** A tensor of shape {@code shape} filled with the single element of {@code value}. */
  public Value constantOfShape(Value shape, Tensor value) {
    return op1(
        Op.CONSTANT_OF_SHAPE, List.of(shape), Map.of("value", new Attribute.TensorValue(value)));
  }

  public Value equal(Value a, Value b) {
    return op1(Op.EQUAL, a, b);
  }

  public Value less(Value a, Value b) {
    return op1(Op.LESS, a, b);
  }

  public Value greater(Value a, Value b) {
    return op1(Op.GREATER, a, b);
  }

  public Value and(Value a, Value b) {
    return op1(Op.AND, a, b);
  }

  public Value or(Value a, Value b) {
    return op1(Op.OR, a, b);
  }

  public Value not(Value x) {
    return op1(Op.NOT, x);
  }

  @Override
  public String toString() {
    return "Graph[" + name + ", " + nodes.size() + " nodes]";
  }
}
