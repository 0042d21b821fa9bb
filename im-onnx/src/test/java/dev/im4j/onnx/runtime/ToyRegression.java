package dev.im4j.onnx.runtime;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.im4j.onnx.model.Tensor;
import dev.im4j.onnx.train.AdamWConfig;
import dev.im4j.onnx.train.checkpoint.TrainingCheckpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The four ORT training artifacts of a weighted linear regression, hand-built as ONNX protobuf (a
 * stand-in until the graph IR and autodiff land).
 *
 * <p>Model: {@code pred = x W + b}, loss {@code L = sum_i c_i (pred_i - y_i)^2} with per-row
 * coefficients {@code c} fed as an input (as the real loss receives its step-wide coefficients), so
 * accumulating micro-batches equals one step on their concatenation. Shapes: {@code x [N, D]},
 * {@code y, c, pred [N, 1]}, {@code W [D, 1]}, {@code b [1]}, {@code N} symbolic.
 *
 * <p>Gradients, written with standard ops: {@code g = 2 c (pred - y)} ({@code [N, 1]}), {@code
 * dL/dW = x^T g}, {@code dL/db = sum_i g_i}. Each is added in place into {@code
 * <p>_grad.accumulation.buffer} by {@code com.microsoft} InPlaceAccumulatorV2, controlled by {@code
 * lazy_reset_grad}.
 */
final class ToyRegression {
  static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;
  static final int INT64 = TensorProto.DataType.INT64_VALUE;
  static final int BOOL = TensorProto.DataType.BOOL_VALUE;
  static final String MS = "com.microsoft";

  private ToyRegression() {}

  /**
   * Writes the training, eval and optimizer graphs (AdamW with all of {@code adamW} but its
   * learning rate, which the runtime sets) and a checkpoint holding {@code w0} ({@code [d, 1]}) and
   * {@code b0} into {@code dir}.
   */
  static TrainingArtifacts write(Path dir, int d, float[] w0, float b0, AdamWConfig adamW)
      throws IOException {
    Files.createDirectories(dir);
    Files.write(dir.resolve("training_model.onnx"), trainingModel(d).toByteArray());
    Files.write(dir.resolve("eval_model.onnx"), evalModel(d).toByteArray());
    Files.write(dir.resolve("optimizer_model.onnx"), optimizerModel(adamW).toByteArray());
    TrainingCheckpoint.of(
            List.of(
                Tensor.of("W", new long[] {d, 1}, w0),
                Tensor.of("b", new long[] {1}, new float[] {b0})),
            List.of())
        .write(dir.resolve("checkpoint"));
    return TrainingArtifacts.inDirectory(dir);
  }

  static ModelProto trainingModel(int d) {
    GraphProto.Builder g = GraphProto.newBuilder().setName("toy_regression_training");
    forward(g, d);
    g.addNode(node("Constant", List.of(), List.of("two"), floatTensorAttr("value", 2f)));
    g.addNode(node("Mul", List.of("diff", "c"), List.of("c_diff")));
    g.addNode(node("Mul", List.of("c_diff", "two"), List.of("g")));
    g.addNode(node("Transpose", List.of("x"), List.of("x_t"), intsAttr("perm", 1, 0)));
    g.addNode(node("MatMul", List.of("x_t", "g"), List.of("W_grad")));
    g.addNode(node("Constant", List.of(), List.of("axis0"), longTensorAttr("value", 0)));
    g.addNode(node("ReduceSum", List.of("g", "axis0"), List.of("b_grad"), intAttr("keepdims", 0)));
    for (String p : List.of("W", "b")) {
      g.addNode(
          msNode(
              "InPlaceAccumulatorV2",
              List.of(p + "_grad.accumulation.buffer", p + "_grad", "lazy_reset_grad"),
              List.of(p + "_grad.accumulation.out")));
    }
    g.addInput(tensor("W_grad.accumulation.buffer", FLOAT, d, 1));
    g.addInput(tensor("b_grad.accumulation.buffer", FLOAT, 1));
    g.addInput(tensor("lazy_reset_grad", BOOL, 1));
    g.addOutput(tensor("loss", FLOAT));
    g.addOutput(tensor("W_grad.accumulation.out", BOOL, 1));
    g.addOutput(tensor("b_grad.accumulation.out", BOOL, 1));
    return model(g, true);
  }

  static ModelProto evalModel(int d) {
    GraphProto.Builder g = GraphProto.newBuilder().setName("toy_regression_eval");
    forward(g, d);
    g.addOutput(tensor("loss", FLOAT));
    g.addOutput(tensor("pred", FLOAT, -1, 1));
    return model(g, false);
  }

  static ModelProto optimizerModel(AdamWConfig a) {
    GraphProto.Builder g = GraphProto.newBuilder().setName("toy_regression_optimizer");
    g.addInput(tensor("learning_rate", FLOAT, 1));
    g.addInput(tensor("step", INT64, 1));
    for (String s : List.of("params", "gradients", "first_order_moments", "second_order_moments")) {
      g.addInput(floatSequence(s));
    }
    g.addNode(
        msNode(
                "AdamWOptimizer",
                List.of(
                    "learning_rate",
                    "step",
                    "params",
                    "gradients",
                    "first_order_moments",
                    "second_order_moments"),
                List.of("updated_flag"))
            .toBuilder()
            .addAttribute(floatAttr("alpha", a.beta1()))
            .addAttribute(floatAttr("beta", a.beta2()))
            .addAttribute(floatAttr("epsilon", a.epsilon()))
            .addAttribute(floatAttr("weight_decay", a.weightDecay()))
            .addAttribute(intAttr("correct_bias", 1))
            .addAttribute(intAttr("adam_mode", a.variant().adamMode()))
            .build());
    g.addOutput(tensor("updated_flag", BOOL, 1));
    return model(g, true);
  }

  /** Inputs x, y, c, W, b and the nodes up to pred, diff and loss. */
  private static void forward(GraphProto.Builder g, int d) {
    g.addInput(tensor("x", FLOAT, -1, d));
    g.addInput(tensor("y", FLOAT, -1, 1));
    g.addInput(tensor("c", FLOAT, -1, 1));
    g.addInput(tensor("W", FLOAT, d, 1));
    g.addInput(tensor("b", FLOAT, 1));
    g.addNode(node("MatMul", List.of("x", "W"), List.of("xW")));
    g.addNode(node("Add", List.of("xW", "b"), List.of("pred")));
    g.addNode(node("Sub", List.of("pred", "y"), List.of("diff")));
    g.addNode(node("Mul", List.of("diff", "diff"), List.of("sq")));
    g.addNode(node("Mul", List.of("sq", "c"), List.of("c_sq")));
    g.addNode(node("ReduceSum", List.of("c_sq"), List.of("loss"), intAttr("keepdims", 0)));
  }

  private static ModelProto model(GraphProto.Builder g, boolean microsoftDomain) {
    ModelProto.Builder m =
        ModelProto.newBuilder()
            .setIrVersion(8)
            .setProducerName("im4j-test")
            .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17));
    if (microsoftDomain) {
      m.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(MS).setVersion(1));
    }
    return m.setGraph(g).build();
  }

  private static NodeProto node(
      String op, List<String> inputs, List<String> outputs, AttributeProto... attributes) {
    NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(outputs.get(0) + "_" + op);
    inputs.forEach(n::addInput);
    outputs.forEach(n::addOutput);
    for (AttributeProto a : attributes) {
      n.addAttribute(a);
    }
    return n.build();
  }

  private static NodeProto msNode(String op, List<String> inputs, List<String> outputs) {
    return node(op, inputs, outputs).toBuilder().setDomain(MS).build();
  }

  /** A tensor value; -1 marks the symbolic batch dimension N; no dims means a scalar. */
  private static ValueInfoProto tensor(String name, int elemType, long... dims) {
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
    for (long dim : dims) {
      TensorShapeProto.Dimension.Builder dimension = TensorShapeProto.Dimension.newBuilder();
      if (dim < 0) {
        dimension.setDimParam("N");
      } else {
        dimension.setDimValue(dim);
      }
      shape.addDim(dimension);
    }
    return ValueInfoProto.newBuilder()
        .setName(name)
        .setType(
            TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape)))
        .build();
  }

  private static ValueInfoProto floatSequence(String name) {
    TypeProto element =
        TypeProto.newBuilder()
            .setTensorType(TypeProto.Tensor.newBuilder().setElemType(FLOAT))
            .build();
    return ValueInfoProto.newBuilder()
        .setName(name)
        .setType(
            TypeProto.newBuilder()
                .setSequenceType(TypeProto.Sequence.newBuilder().setElemType(element)))
        .build();
  }

  private static AttributeProto floatAttr(String name, float value) {
    return AttributeProto.newBuilder()
        .setName(name)
        .setType(AttributeProto.AttributeType.FLOAT)
        .setF(value)
        .build();
  }

  private static AttributeProto intAttr(String name, long value) {
    return AttributeProto.newBuilder()
        .setName(name)
        .setType(AttributeProto.AttributeType.INT)
        .setI(value)
        .build();
  }

  private static AttributeProto intsAttr(String name, long... values) {
    AttributeProto.Builder a =
        AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
    for (long v : values) {
      a.addInts(v);
    }
    return a.build();
  }

  private static AttributeProto floatTensorAttr(String name, float scalar) {
    return AttributeProto.newBuilder()
        .setName(name)
        .setType(AttributeProto.AttributeType.TENSOR)
        .setT(TensorProto.newBuilder().setDataType(FLOAT).addFloatData(scalar))
        .build();
  }

  private static AttributeProto longTensorAttr(String name, long value) {
    return AttributeProto.newBuilder()
        .setName(name)
        .setType(AttributeProto.AttributeType.TENSOR)
        .setT(TensorProto.newBuilder().setDataType(INT64).addDims(1).addInt64Data(value))
        .build();
  }
}
