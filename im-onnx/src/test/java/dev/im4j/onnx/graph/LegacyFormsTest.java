package dev.im4j.onnx.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.AttributeProto.AttributeType;
import dev.im4j.onnx.testing.Ort;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Opset 13 to 17 forms read into opset-18 nodes ({@link LegacyForms}): each hand-written model is
 * run by ONNX Runtime twice, as written (at its own opset) and as imported and written back at
 * opset 18, and the outputs must be identical; forms that cannot be expressed fail naming the op
 * and node.
 */
final class LegacyFormsTest {
  @TempDir Path dir;

  /** x: FLOAT [2, 6], holding 0.5 * (i - 5) for element i. */
  static final float[] X = new float[12];

  static {
    for (int i = 0; i < X.length; i++) {
      X[i] = 0.5f * (i - 5);
    }
  }

  static OnnxMl.AttributeProto ints(String name, long... v) {
    OnnxMl.AttributeProto.Builder b =
        OnnxMl.AttributeProto.newBuilder().setName(name).setType(AttributeType.INTS);
    for (long x : v) {
      b.addInts(x);
    }
    return b.build();
  }

  static OnnxMl.AttributeProto intAttr(String name, long v) {
    return OnnxMl.AttributeProto.newBuilder()
        .setName(name)
        .setType(AttributeType.INT)
        .setI(v)
        .build();
  }

  static OnnxMl.NodeProto node(
      String op, String name, List<String> in, List<String> out, OnnxMl.AttributeProto... attrs) {
    return OnnxMl.NodeProto.newBuilder()
        .setOpType(op)
        .setName(name)
        .addAllInput(in)
        .addAllOutput(out)
        .addAllAttribute(List.of(attrs))
        .build();
  }

  /** A FLOAT value; with no dims, of unknown shape. */
  static OnnxMl.ValueInfoProto info(String name, long... dims) {
    OnnxMl.TypeProto.Tensor.Builder t =
        OnnxMl.TypeProto.Tensor.newBuilder().setElemType(DType.FLOAT.onnxCode());
    if (dims.length > 0) {
      OnnxMl.TensorShapeProto.Builder s = OnnxMl.TensorShapeProto.newBuilder();
      for (long d : dims) {
        s.addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
      }
      t.setShape(s);
    }
    return OnnxMl.ValueInfoProto.newBuilder()
        .setName(name)
        .setType(OnnxMl.TypeProto.newBuilder().setTensorType(t))
        .build();
  }

  /** A model at {@code opset} with input x [2, 6], the given nodes and outputs. */
  static OnnxMl.ModelProto model(
      int opset, Consumer<OnnxMl.GraphProto.Builder> nodes, OnnxMl.ValueInfoProto... outputs) {
    OnnxMl.GraphProto.Builder g =
        OnnxMl.GraphProto.newBuilder().setName("legacy").addInput(info("x", 2, 6));
    nodes.accept(g);
    g.addAllOutput(List.of(outputs));
    return OnnxMl.ModelProto.newBuilder()
        .setIrVersion(7)
        .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
        .setGraph(g)
        .build();
  }

  /** Imports {@code m} and checks that it computes what ONNX Runtime computes from the original. */
  Graph importsWithSameOutputs(OnnxMl.ModelProto m) throws IOException {
    Graph g = OnnxIo.fromBytes(m.toByteArray());
    Path original = dir.resolve("original.onnx");
    Files.write(original, m.toByteArray());
    List<String> outs = new ArrayList<>();
    m.getGraph().getOutputList().forEach(o -> outs.add(o.getName()));
    Map<String, Tensor> feed = Map.of("x", Tensor.ofFloats(new long[] {2, 6}, X));
    Map<String, double[]> expected;
    try (Ort ort = Ort.session(original)) {
      expected = ort.run(feed, outs);
    }
    try (Ort ort = Ort.session(g)) {
      Map<String, double[]> actual = ort.run(feed, outs);
      for (String o : outs) {
        assertArrayEquals(expected.get(o), actual.get(o), 0.0, o);
      }
    }
    return g;
  }

  static Node only(Graph g, Op op) {
    List<Node> found = g.nodes().stream().filter(n -> n.op() == op).toList();
    assertEquals(1, found.size(), op + " nodes in " + g.nodes());
    return found.get(0);
  }

  @Test
  void reduceAxesAttributesBecomeConstantInputs() throws IOException {
    Graph g =
        importsWithSameOutputs(
            model(
                13,
                gb ->
                    gb.addNode(
                            node(
                                "ReduceMean",
                                "mean",
                                List.of("x"),
                                List.of("m"),
                                ints("axes", -1),
                                intAttr("keepdims", 1)))
                        .addNode(
                            node(
                                "ReduceMax",
                                "max",
                                List.of("x"),
                                List.of("mx"),
                                ints("axes", 0),
                                intAttr("keepdims", 0)))
                        .addNode(node("ReduceProd", "prod", List.of("x"), List.of("p"))),
                info("m", 2, 1),
                info("mx", 6),
                info("p")));
    Node mean = only(g, Op.REDUCE_MEAN);
    assertEquals(2, mean.inputs().size());
    assertArrayEquals(new long[] {-1}, g.constantValue(mean.input(1)).toLongs());
    assertEquals(List.of("keepdims"), List.copyOf(mean.attributes().keySet()));
    assertEquals(1, only(g, Op.REDUCE_PROD).inputs().size(), "no axes: reduce everything");
  }

  @Test
  void splitWithoutSizesSplitsEvenly() throws IOException {
    Graph g =
        importsWithSameOutputs(
            model(
                13,
                gb ->
                    gb.addNode(
                        node(
                            "Split",
                            "split",
                            List.of("x"),
                            List.of("a", "b", "c"),
                            intAttr("axis", 1))),
                info("a", 2, 2),
                info("b", 2, 2),
                info("c", 2, 2)));
    assertEquals(3, only(g, Op.SPLIT).intAttr("num_outputs", -1));

    OnnxMl.ModelProto uneven =
        model(
            13,
            gb ->
                gb.addNode(
                    node(
                        "Split",
                        "uneven",
                        List.of("x"),
                        List.of("a", "b", "c", "d"),
                        intAttr("axis", 1))),
            info("a"));
    var e = assertThrows(ModelFormatException.class, () -> OnnxIo.fromBytes(uneven.toByteArray()));
    assertTrue(e.getMessage().startsWith("Split node 'uneven': axis 1 of size 6"), e.getMessage());
  }

  @Test
  void constantAttributeFormsBecomeTensors() throws IOException {
    Graph g =
        importsWithSameOutputs(
            model(
                13,
                gb ->
                    gb.addNode(
                            node(
                                "Constant",
                                "f",
                                List.of(),
                                List.of("f"),
                                OnnxMl.AttributeProto.newBuilder()
                                    .setName("value_float")
                                    .setType(AttributeType.FLOAT)
                                    .setF(1.5f)
                                    .build()))
                        .addNode(
                            node(
                                "Constant",
                                "fs",
                                List.of(),
                                List.of("fs"),
                                OnnxMl.AttributeProto.newBuilder()
                                    .setName("value_floats")
                                    .setType(AttributeType.FLOATS)
                                    .addAllFloats(List.of(1f, 2f, 3f, 4f, 5f, 6f))
                                    .build()))
                        .addNode(
                            node(
                                "Constant",
                                "shape",
                                List.of(),
                                List.of("shape"),
                                ints("value_ints", 3, 4)))
                        .addNode(
                            node("Constant", "k", List.of(), List.of("k"), intAttr("value_int", 2)))
                        .addNode(node("Mul", "mul", List.of("x", "f"), List.of("xf")))
                        .addNode(node("Add", "add", List.of("xf", "fs"), List.of("y")))
                        .addNode(node("Reshape", "reshape", List.of("y", "shape"), List.of("r")))
                        .addNode(
                            node("Cast", "cast", List.of("k"), List.of("kf"), intAttr("to", 1)))
                        .addNode(node("Mul", "scale", List.of("r", "kf"), List.of("out"))),
                info("out", 3, 4)));
    assertEquals(Shape.of(3, 4), g.value("out").shape());
    assertEquals(DType.INT64, g.value("k").dtype());
    assertEquals(Shape.scalar(), g.value("k").shape());

    OnnxMl.ModelProto text =
        model(
            13,
            gb ->
                gb.addNode(
                    node(
                        "Constant",
                        "s",
                        List.of(),
                        List.of("s"),
                        OnnxMl.AttributeProto.newBuilder()
                            .setName("value_string")
                            .setType(AttributeType.STRING)
                            .setS(com.google.protobuf.ByteString.copyFromUtf8("no"))
                            .build())),
            info("s"));
    var e = assertThrows(ModelFormatException.class, () -> OnnxIo.fromBytes(text.toByteArray()));
    assertTrue(
        e.getMessage().startsWith("Constant node 's': attribute 'value_string' is not supported"),
        e.getMessage());
  }

  @Test
  void emptyOptionalInputsAreOmittedOrFilledIn() throws IOException {
    // Slice(x, starts, ends, "", steps): axes default to 0..n-1; Trilu(x, "") has no k
    Graph g =
        importsWithSameOutputs(
            model(
                14,
                gb ->
                    gb.addNode(
                            node(
                                "Constant",
                                "st",
                                List.of(),
                                List.of("st"),
                                ints("value_ints", 1, 5)))
                        .addNode(
                            node(
                                "Constant",
                                "en",
                                List.of(),
                                List.of("en"),
                                ints("value_ints", 0, 0)))
                        .addNode(
                            node(
                                "Constant",
                                "sp",
                                List.of(),
                                List.of("sp"),
                                ints("value_ints", -1, -2)))
                        .addNode(
                            node(
                                "Slice", "slice", List.of("x", "st", "en", "", "sp"), List.of("s")))
                        .addNode(
                            node(
                                "Trilu",
                                "tril",
                                List.of("x", ""),
                                List.of("t"),
                                intAttr("upper", 0))),
                info("s", 1, 3),
                info("t", 2, 6)));
    Node slice = only(g, Op.SLICE);
    assertArrayEquals(new long[] {0, 1}, g.constantValue(slice.input(3)).toLongs());
    assertEquals(1, only(g, Op.TRILU).inputs().size());

    OnnxMl.ModelProto missingData =
        model(13, gb -> gb.addNode(node("Add", "add", List.of("x", ""), List.of("y"))), info("y"));
    // a trailing empty input is dropped, leaving Add one input short
    var e =
        assertThrows(ModelFormatException.class, () -> OnnxIo.fromBytes(missingData.toByteArray()));
    assertTrue(
        e.getMessage().startsWith("Add node 'add': expected 2 inputs but received 1"),
        e.getMessage());
    OnnxMl.ModelProto gap =
        model(
            13,
            gb -> gb.addNode(node("Where", "w", List.of("", "x", "x"), List.of("y"))),
            info("y"));
    e = assertThrows(ModelFormatException.class, () -> OnnxIo.fromBytes(gap.toByteArray()));
    assertTrue(
        e.getMessage().startsWith("Where node 'w': input 0 has an empty name"), e.getMessage());
  }

  @Test
  void addedConstantsNeverTakeANameTheModelUses() throws IOException {
    // the model itself uses "mean_axes", the name the importer would give the axes constant
    Graph g =
        importsWithSameOutputs(
            model(
                13,
                gb ->
                    gb.addNode(
                            node("ReduceMean", "mean", List.of("x"), List.of("m"), ints("axes", 1)))
                        .addNode(node("Relu", "mean_axes", List.of("m"), List.of("mean_axes_1")))
                        .addNode(node("Neg", "n", List.of("mean_axes_1"), List.of("y"))),
                info("y", 2, 1)));
    assertEquals("mean_axes_2", only(g, Op.REDUCE_MEAN).input(1).name());
  }
}
