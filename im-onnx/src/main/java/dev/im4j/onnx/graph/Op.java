package dev.im4j.onnx.graph;

import dev.im4j.onnx.graph.Attribute.AttrType;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The ONNX operators the graph layer supports (standard domain only), each declaring its input and
 * output arity, its attributes and the opset version whose definition it follows. {@link Graph}
 * checks every node against this declaration when the node is added.
 */
public enum Op {
  ADD("Add", 14, 2, 2, 1, 1),
  SUB("Sub", 14, 2, 2, 1, 1),
  MUL("Mul", 14, 2, 2, 1, 1),
  DIV("Div", 14, 2, 2, 1, 1),
  POW("Pow", 15, 2, 2, 1, 1),
  SQRT("Sqrt", 13, 1, 1, 1, 1),
  RECIPROCAL("Reciprocal", 13, 1, 1, 1, 1),
  EXP("Exp", 13, 1, 1, 1, 1),
  LOG("Log", 13, 1, 1, 1, 1),
  NEG("Neg", 13, 1, 1, 1, 1),
  ABS("Abs", 13, 1, 1, 1, 1),
  ERF("Erf", 13, 1, 1, 1, 1),
  TANH("Tanh", 13, 1, 1, 1, 1),
  SIGMOID("Sigmoid", 13, 1, 1, 1, 1),
  RELU("Relu", 14, 1, 1, 1, 1),
  SIN("Sin", 7, 1, 1, 1, 1),
  COS("Cos", 7, 1, 1, 1, 1),
  SUM("Sum", 13, 1, Integer.MAX_VALUE, 1, 1),
  MATMUL("MatMul", 13, 2, 2, 1, 1),
  GEMM(
      "Gemm",
      13,
      2,
      3,
      1,
      1,
      opt("alpha", AttrType.FLOAT),
      opt("beta", AttrType.FLOAT),
      opt("transA", AttrType.INT),
      opt("transB", AttrType.INT)),
  SOFTMAX("Softmax", 13, 1, 1, 1, 1, opt("axis", AttrType.INT)),
  LOG_SOFTMAX("LogSoftmax", 13, 1, 1, 1, 1, opt("axis", AttrType.INT)),
  REDUCE_SUM(
      "ReduceSum",
      13,
      1,
      2,
      1,
      1,
      opt("keepdims", AttrType.INT),
      opt("noop_with_empty_axes", AttrType.INT)),
  REDUCE_MEAN(
      "ReduceMean",
      18,
      1,
      2,
      1,
      1,
      opt("keepdims", AttrType.INT),
      opt("noop_with_empty_axes", AttrType.INT)),
  REDUCE_MAX(
      "ReduceMax",
      18,
      1,
      2,
      1,
      1,
      opt("keepdims", AttrType.INT),
      opt("noop_with_empty_axes", AttrType.INT)),
  REDUCE_PROD(
      "ReduceProd",
      18,
      1,
      2,
      1,
      1,
      opt("keepdims", AttrType.INT),
      opt("noop_with_empty_axes", AttrType.INT)),
  LAYER_NORMALIZATION(
      "LayerNormalization",
      17,
      2,
      3,
      1,
      3,
      opt("axis", AttrType.INT),
      opt("epsilon", AttrType.FLOAT),
      opt("stash_type", AttrType.INT)),
  TRANSPOSE("Transpose", 13, 1, 1, 1, 1, opt("perm", AttrType.INTS)),
  RESHAPE("Reshape", 14, 2, 2, 1, 1, opt("allowzero", AttrType.INT)),
  FLATTEN("Flatten", 13, 1, 1, 1, 1, opt("axis", AttrType.INT)),
  SQUEEZE("Squeeze", 13, 1, 2, 1, 1),
  UNSQUEEZE("Unsqueeze", 13, 2, 2, 1, 1),
  CONCAT("Concat", 13, 1, Integer.MAX_VALUE, 1, 1, req("axis", AttrType.INT)),
  SPLIT(
      "Split",
      18,
      1,
      2,
      1,
      Integer.MAX_VALUE,
      opt("axis", AttrType.INT),
      opt("num_outputs", AttrType.INT)),
  SLICE("Slice", 13, 3, 5, 1, 1),
  EXPAND("Expand", 13, 2, 2, 1, 1),
  WHERE("Where", 16, 3, 3, 1, 1),
  CAST("Cast", 13, 1, 1, 1, 1, req("to", AttrType.INT)),
  IDENTITY("Identity", 16, 1, 1, 1, 1),
  GATHER("Gather", 13, 2, 2, 1, 1, opt("axis", AttrType.INT)),
  GATHER_ELEMENTS("GatherElements", 13, 2, 2, 1, 1, opt("axis", AttrType.INT)),
  SCATTER_ND("ScatterND", 18, 3, 3, 1, 1, opt("reduction", AttrType.STRING)),
  SCATTER_ELEMENTS(
      "ScatterElements",
      18,
      3,
      3,
      1,
      1,
      opt("axis", AttrType.INT),
      opt("reduction", AttrType.STRING)),
  SHAPE("Shape", 15, 1, 1, 1, 1, opt("start", AttrType.INT), opt("end", AttrType.INT)),
  SIZE("Size", 13, 1, 1, 1, 1),
  RANGE("Range", 11, 3, 3, 1, 1),
  TRILU("Trilu", 14, 1, 2, 1, 1, opt("upper", AttrType.INT)),
  CONSTANT_OF_SHAPE("ConstantOfShape", 9, 1, 1, 1, 1, opt("value", AttrType.TENSOR)),
  CONSTANT("Constant", 13, 0, 0, 1, 1, req("value", AttrType.TENSOR)),
  EQUAL("Equal", 13, 2, 2, 1, 1),
  LESS("Less", 13, 2, 2, 1, 1),
  GREATER("Greater", 13, 2, 2, 1, 1),
  AND("And", 7, 2, 2, 1, 1),
  OR("Or", 7, 2, 2, 1, 1),
  NOT("Not", 1, 1, 1, 1, 1);

  /** The opset of the default ONNX domain every graph imports. */
  public static final int OPSET = 18;

  /** One declared attribute. */
  record AttrSpec(String name, AttrType type, boolean required) {}

  private final String onnxName;
  private final int sinceVersion;
  private final int minInputs;
  private final int maxInputs;
  private final int minOutputs;
  private final int maxOutputs;
  private final Map<String, AttrSpec> attributes;

  Op(
      String onnxName,
      int sinceVersion,
      int minInputs,
      int maxInputs,
      int minOutputs,
      int maxOutputs,
      AttrSpec... attributes) {
    this.onnxName = onnxName;
    this.sinceVersion = sinceVersion;
    this.minInputs = minInputs;
    this.maxInputs = maxInputs;
    this.minOutputs = minOutputs;
    this.maxOutputs = maxOutputs;
    this.attributes =
        List.of(attributes).stream().collect(Collectors.toUnmodifiableMap(AttrSpec::name, a -> a));
  }

  private static AttrSpec opt(String name, AttrType type) {
    return new AttrSpec(name, type, false);
  }

  private static AttrSpec req(String name, AttrType type) {
    return new AttrSpec(name, type, true);
  }

  /** The ONNX {@code op_type}. */
  public String onnxName() {
    return onnxName;
  }

  /** The opset version of the definition followed (at most {@link #OPSET}). */
  public int sinceVersion() {
    return sinceVersion;
  }

  public int minInputs() {
    return minInputs;
  }

  public int maxInputs() {
    return maxInputs;
  }

  public int minOutputs() {
    return minOutputs;
  }

  public int maxOutputs() {
    return maxOutputs;
  }

  Map<String, AttrSpec> attributes() {
    return attributes;
  }

  /**
   * The op with ONNX name {@code opType}.
   *
   * @throws IllegalArgumentException naming the op if it is not supported
   */
  public static Op fromOnnxName(String opType) {
    for (Op op : values()) {
      if (op.onnxName.equals(opType)) {
        return op;
      }
    }
    throw new IllegalArgumentException(
        "unsupported ONNX op '" + opType + "'; the graph layer supports " + supportedNames());
  }

  private static List<String> supportedNames() {
    return List.of(values()).stream().map(Op::onnxName).toList();
  }

  /** Checks arity and attributes, with messages like "expected 2 inputs but received 3". */
  void checkSignature(String nodeName, int inputs, int outputs, Map<String, Attribute> attrs) {
    if (inputs < minInputs || inputs > maxInputs) {
      throw new IllegalArgumentException(
          where(nodeName)
              + "expected "
              + range(minInputs, maxInputs)
              + " inputs but received "
              + inputs);
    }
    if (outputs < minOutputs || outputs > maxOutputs) {
      throw new IllegalArgumentException(
          where(nodeName)
              + "expected "
              + range(minOutputs, maxOutputs)
              + " outputs but received "
              + outputs);
    }
    for (Map.Entry<String, Attribute> e : attrs.entrySet()) {
      AttrSpec spec = attributes.get(e.getKey());
      if (spec == null) {
        throw new IllegalArgumentException(
            where(nodeName)
                + "unknown attribute '"
                + e.getKey()
                + "'; allowed: "
                + attributes.keySet());
      }
      if (spec.type() != e.getValue().type()) {
        throw new IllegalArgumentException(
            where(nodeName)
                + "attribute '"
                + e.getKey()
                + "' must be "
                + spec.type()
                + " but was "
                + e.getValue().type());
      }
    }
    for (AttrSpec spec : attributes.values()) {
      if (spec.required() && !attrs.containsKey(spec.name())) {
        throw new IllegalArgumentException(
            where(nodeName) + "missing required attribute '" + spec.name() + "'");
      }
    }
  }

  private String where(String nodeName) {
    return onnxName + " node '" + nodeName + "': ";
  }

  private static String range(int min, int max) {
    if (min == max) {
      return Integer.toString(min);
    }
    return max == Integer.MAX_VALUE ? "at least " + min : min + " to " + max;
  }
}
