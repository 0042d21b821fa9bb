package dev.im4j.onnx.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import dev.im4j.onnx.autodiff.Autodiff;
import dev.im4j.onnx.autodiff.WeightedCrossEntropy;
import dev.im4j.onnx.testing.Ort;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxIoTest {

  /** A small training graph: embedding, projection, layer norm, GELU, CE, backward. */
  static Graph trainingGraph() {
    Graph g = Graph.create("train");
    Random rnd = new Random(3);
    int v = 11;
    int d = 8;
    float[] emb = new float[v * d];
    float[] w = new float[d * d];
    for (int i = 0; i < emb.length; i++) {
      emb[i] = (float) rnd.nextGaussian();
    }
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) rnd.nextGaussian();
    }
    Value e = g.initializer("embed", Tensor.ofFloats(new long[] {v, d}, emb)); // [V, D]
    Value wp = g.initializer("proj", Tensor.ofFloats(new long[] {d, d}, w)); // [D, D]
    Value ln = g.initializer("ln", Tensor.filled(DType.FLOAT, new long[] {d}, 1)); // [D]
    Value ids = g.input("ids", DType.INT64, Shape.of(Dim.sym("B"), Dim.sym("T")));
    Value targets = g.input("targets", DType.INT64, Shape.of(Dim.sym("B"), Dim.sym("T")));
    Value c = g.input("coefficients", DType.FLOAT, Shape.of(Dim.sym("B"), Dim.sym("T")));
    Value h = g.gather(e, ids, 0); // [B, T, D]
    h = g.layerNorm(Composite.geluTanh(g, g.matMul(h, wp)), ln, null, -1, 1e-5);
    Value logits = g.matMul(h, g.transpose(e, 1, 0)); // [B, T, V], tied
    WeightedCrossEntropy.Result r = WeightedCrossEntropy.build(g, logits, targets, c);
    g.output("loss", r.loss());
    Map<Value, Value> grads =
        Autodiff.gradients(g, Map.of(logits, r.logitsGradient()), List.of(e, wp, ln));
    grads.forEach((p, gp) -> g.output(p.name() + "_grad", gp));
    return g;
  }

  static void assertSameGraph(Graph a, Graph b) {
    assertEquals(a.name(), b.name());
    assertEquals(names(a.inputs()), names(b.inputs()));
    assertEquals(names(a.outputs()), names(b.outputs()));
    for (int i = 0; i < a.inputs().size(); i++) {
      assertEquals(a.inputs().get(i).toString(), b.inputs().get(i).toString());
    }
    assertEquals(a.initializers().size(), b.initializers().size());
    for (var entry : a.initializers().entrySet()) {
      Value other = b.value(entry.getKey().name());
      assertEquals(entry.getValue(), b.initializers().get(other));
    }
    assertEquals(a.nodes().size(), b.nodes().size());
    for (int i = 0; i < a.nodes().size(); i++) {
      Node x = a.nodes().get(i);
      Node y = b.nodes().get(i);
      assertEquals(x.toString(), y.toString());
      assertEquals(x.attributes(), y.attributes());
      for (int k = 0; k < x.outputs().size(); k++) {
        assertEquals(x.output(k).toString(), y.output(k).toString());
      }
    }
  }

  private static List<String> names(List<Value> vs) {
    List<String> n = new ArrayList<>();
    vs.forEach(v -> n.add(v.name()));
    return n;
  }

  @Test
  void trainingGraphRoundTripsThroughProtobufUnchanged() {
    Graph g = trainingGraph();
    byte[] bytes = OnnxIo.toBytes(g);
    Graph back = OnnxIo.fromBytes(bytes);
    assertSameGraph(g, back);
    assertArrayEquals(bytes, OnnxIo.toBytes(back));
  }

  @Test
  void intermediateValuesAreWrittenWithTheShapesThisIrInfers() throws Exception {
    Graph g = trainingGraph();
    OnnxMl.GraphProto proto = OnnxMl.ModelProto.parseFrom(OnnxIo.toBytes(g)).getGraph();
    Map<String, OnnxMl.ValueInfoProto> declared = new java.util.HashMap<>();
    proto.getValueInfoList().forEach(vi -> declared.put(vi.getName(), vi));
    int intermediates = 0;
    for (Node n : g.nodes()) {
      for (Value v : n.outputs()) {
        if (g.outputs().contains(v)) {
          assertTrue(!declared.containsKey(v.name()), v + " is a graph output");
          continue;
        }
        intermediates++;
        OnnxMl.TypeProto.Tensor t = declared.get(v.name()).getType().getTensorType();
        assertEquals(v.dtype().onnxCode(), t.getElemType(), v.toString());
        List<String> dims = new ArrayList<>();
        t.getShape()
            .getDimList()
            .forEach(
                d ->
                    dims.add(
                        d.hasDimValue()
                            ? Long.toString(d.getDimValue())
                            : d.hasDimParam() ? d.getDimParam() : "?"));
        assertEquals(v.shape().toString(), dims.toString(), v.toString());
      }
    }
    assertEquals(intermediates, declared.size());
  }

  @Test
  void externalDataRoundTripsAndLoadsInOnnxRuntime(@TempDir Path dir) throws java.io.IOException {
    Graph g = trainingGraph();
    Path model = dir.resolve("train.onnx");
    OnnxIo.write(g, model, 256);
    assertTrue(Files.exists(dir.resolve("train.onnx.data")));
    assertTrue(Files.size(model) < OnnxIo.toBytes(g).length);
    Graph back = OnnxIo.read(model);
    assertSameGraph(g, back);
    try (Ort ort = Ort.session(model)) {
      assertEquals(3, ort.inputNames().size());
      assertTrue(ort.outputNames().contains("embed_grad"));
    }
  }

  /**
   * Rewriting a model replaces the pair of files (no stale data file stays beside a model without
   * external data) and removes the temporary folder a killed write left behind.
   */
  @Test
  void rewritingReplacesBothFilesAndRemovesAKilledWritesTemporaries(@TempDir Path dir)
      throws java.io.IOException {
    Path model = dir.resolve("m.onnx");
    OnnxIo.write(trainingGraph(), model, 256);
    assertTrue(Files.exists(dir.resolve("m.onnx.data")));
    Path stale = Files.createDirectories(dir.resolve(".m.onnx.tmp-123"));
    Files.writeString(stale.resolve("m.onnx"), "cut short");
    Graph inline = trainingGraph();
    OnnxIo.write(inline, model, Long.MAX_VALUE);
    assertSameGraph(inline, OnnxIo.read(model));
    assertTrue(!Files.exists(dir.resolve("m.onnx.data")), "no data file of the old model stays");
    try (var left = Files.list(dir)) {
      assertEquals(List.of(model), left.toList(), "only the model is left");
    }
    OnnxIo.write(inline, model, 256);
    try (Ort ort = Ort.session(model)) {
      assertTrue(ort.outputNames().contains("embed_grad"));
    }
  }

  @Test
  void unsupportedOpInAModelIsNamedWithItsNode() {
    Graph g = Graph.create("g");
    Value x = g.input("x", DType.FLOAT, Shape.of(2));
    g.output("y", g.relu(x));
    byte[] bytes = OnnxIo.toBytes(g);
    ai.onnx.proto.OnnxMl.ModelProto p;
    try {
      p = ai.onnx.proto.OnnxMl.ModelProto.parseFrom(bytes);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
    var gp = p.getGraph().toBuilder();
    gp.setNode(0, gp.getNode(0).toBuilder().setOpType("Celu"));
    byte[] edited = p.toBuilder().setGraph(gp).build().toByteArray();
    var e = assertThrows(ModelFormatException.class, () -> OnnxIo.fromBytes(edited));
    assertTrue(e.getMessage().contains("node 'Relu_0'"), e.getMessage());
    assertTrue(e.getMessage().contains("'Celu'"), e.getMessage());
  }

  @Test
  void inliningPastTheLimitIsRefusedWithTheRemedy() {
    Graph g = Graph.create("big");
    g.output("out", g.identity(g.initializer("w", Tensor.filled(DType.FLOAT, new long[] {64}, 1))));
    var e = assertThrows(IllegalArgumentException.class, () -> OnnxIo.toBytes(g, 100));
    assertTrue(e.getMessage().contains("external data"), e.getMessage());
    assertEquals(OnnxIo.toBytes(g).length, OnnxIo.toBytes(g, 256).length);
  }

  /** A [rows, 3] float initializer streamed in chunks of one row: 1, 2, 3, ... row-major. */
  private static StreamedBytes counting(int rows, int extraBytes) {
    return sink -> {
      java.nio.ByteBuffer row =
          java.nio.ByteBuffer.allocate(3 * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      for (int r = 0; r < rows; r++) {
        row.clear();
        for (int k = 0; k < 3; k++) {
          row.putFloat(3 * r + k + 1);
        }
        row.flip();
        sink.accept(row);
      }
      sink.accept(java.nio.ByteBuffer.allocate(extraBytes));
    };
  }

  /** Counting values (1, 2, 3, ...) of length n. */
  private static float[] countingValues(int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = i + 1;
    }
    return v;
  }

  /**
   * A streamed initializer goes to the external data file whatever the threshold, is read back as
   * the values its source produced, runs in ONNX Runtime, and is inlined by toBytes.
   */
  @Test
  void streamedInitializersAreWrittenAsTheirSourceProducesThem(@TempDir Path dir) {
    Graph g = Graph.create("streamed");
    Value w = g.streamedInitializer("w", DType.FLOAT, Shape.of(5, 3), counting(5, 0));
    Value x = g.input("x", DType.FLOAT, Shape.of(Dim.sym("B"), Dim.of(5)));
    g.output("y", g.matMul(x, w));
    assertTrue(g.initializers().isEmpty(), "the graph holds no bytes of it");
    Path model = dir.resolve("s.onnx");
    OnnxIo.write(g, model, Long.MAX_VALUE);
    assertTrue(Files.exists(dir.resolve("s.onnx.data")), "streamed weights are external");
    Graph back = OnnxIo.read(model);
    Tensor expected = Tensor.ofFloats(new long[] {5, 3}, countingValues(15));
    assertEquals(expected, back.initializers().get(back.value("w")));
    Graph inline = OnnxIo.fromBytes(OnnxIo.toBytes(g));
    assertEquals(expected, inline.initializers().get(inline.value("w")));
    try (Ort ort = Ort.session(model)) {
      float[] ones = {1, 1, 1, 1, 1};
      double[] y =
          ort.run(Map.of("x", Tensor.ofFloats(new long[] {1, 5}, ones)), List.of("y")).get("y");
      // column k sums 3r + k + 1 over r = 0..4: 30 + 5(k + 1)
      assertArrayEquals(new double[] {35, 40, 45}, y);
    }
  }

  @Test
  void aStreamedSourceOfTheWrongSizeIsNamed(@TempDir Path dir) {
    Graph g = Graph.create("streamed");
    g.output(
        "y", g.identity(g.streamedInitializer("w", DType.FLOAT, Shape.of(2, 3), counting(2, 4))));
    var e =
        assertThrows(IllegalStateException.class, () -> OnnxIo.write(g, dir.resolve("m.onnx"), 1));
    assertTrue(
        e.getMessage().contains("'w' needs 24 bytes but its source gave 28"), e.getMessage());
    assertThrows(IllegalStateException.class, () -> OnnxIo.toBytes(g));
    var symbolic =
        assertThrows(
            IllegalArgumentException.class,
            () -> g.streamedInitializer("v", DType.FLOAT, Shape.of(Dim.sym("n")), counting(1, 0)));
    assertTrue(symbolic.getMessage().contains("static shape"), symbolic.getMessage());
  }
}
