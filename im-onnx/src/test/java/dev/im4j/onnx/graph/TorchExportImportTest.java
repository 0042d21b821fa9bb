package dev.im4j.onnx.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import com.fasterxml.jackson.databind.JsonNode;
import dev.im4j.onnx.autodiff.Autodiff;
import dev.im4j.onnx.autodiff.WeightedCrossEntropy;
import dev.im4j.onnx.testing.Ort;
import dev.im4j.onnx.testing.TestResources;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Graphs exported by PyTorch's ONNX exporter ({@code graph/torch_export/generate.py}: a GPT-2-like
 * and a LLaMA-like decoder, each at opset 14 with static shapes and at opset 17 with dynamic batch
 * and sequence axes) load, run on ONNX Runtime CPU and differentiate: logits, the weighted
 * cross-entropy {@code L = Σ c_i · nll_i} and dL/dp for every parameter (the initializers) match
 * PyTorch's float64 autograd.
 *
 * <p>Error measures, both bounded by 1e-4 for every tensor: the norm-wise relative error {@code ||a
 * - b||_2 / ||b||_2}, and the element-wise relative error with an absolute floor, {@code max_i |a_i
 * - b_i| / max(|b_i|, 0.01 * max_j |b_j|)}, so elements that are cancellation noise in both
 * implementations do not dominate.
 */
final class TorchExportImportTest {
  private static final double TOLERANCE = 1e-4;
  private static final String DIR = "graph/torch_export/";
  private static final String LOGITS = "logits";

  static Path resource(String name) {
    return TestResources.path(DIR + name);
  }

  /** The golden file of a fixture ({@code gpt2_opset14} reads {@code gpt2.json}). */
  static JsonNode golden(String fixture) {
    return TestResources.json(DIR + fixture.substring(0, fixture.indexOf('_')) + ".json");
  }

  static Tensor longs(JsonNode rows) {
    int b = rows.size();
    int t = rows.get(0).size();
    long[] flat = new long[b * t]; // [B, T]
    for (int i = 0; i < b; i++) {
      for (int j = 0; j < t; j++) {
        flat[i * t + j] = rows.get(i).get(j).asLong();
      }
    }
    return Tensor.ofLongs(new long[] {b, t}, flat);
  }

  static Tensor floats(JsonNode rows) {
    int b = rows.size();
    int t = rows.get(0).size();
    float[] flat = new float[b * t]; // [B, T]
    for (int i = 0; i < b; i++) {
      for (int j = 0; j < t; j++) {
        flat[i * t + j] = (float) rows.get(i).get(j).asDouble();
      }
    }
    return Tensor.ofFloats(new long[] {b, t}, flat);
  }

  static double[] values(JsonNode tensor) {
    JsonNode v = tensor.get("values");
    double[] out = new double[v.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = v.get(i).asDouble();
    }
    return out;
  }

  /**
   * Both error measures of the class comment, failing past the tolerance.
   *
   * @return the larger of the two
   */
  static double assertClose(String what, double[] actual, double[] expected) {
    assertEquals(expected.length, actual.length, what + " element count");
    double scale = 0;
    double diff2 = 0;
    double norm2 = 0;
    for (int i = 0; i < expected.length; i++) {
      assertTrue(Double.isFinite(actual[i]), what + " element " + i + " is " + actual[i]);
      scale = Math.max(scale, Math.abs(expected[i]));
      diff2 += (actual[i] - expected[i]) * (actual[i] - expected[i]);
      norm2 += expected[i] * expected[i];
    }
    double floor = Math.max(0.01 * scale, 1e-12);
    double worst = 0;
    int at = 0;
    for (int i = 0; i < expected.length; i++) {
      double e = Math.abs(actual[i] - expected[i]) / Math.max(Math.abs(expected[i]), floor);
      if (e > worst) {
        worst = e;
        at = i;
      }
    }
    double normwise = Math.sqrt(diff2) / Math.max(Math.sqrt(norm2), 1e-30);
    assertTrue(
        normwise <= TOLERANCE,
        what + ": norm-wise relative error " + normwise + " exceeds " + TOLERANCE);
    assertTrue(
        worst <= TOLERANCE,
        what
            + ": element "
            + at
            + " is "
            + actual[at]
            + " but PyTorch gives "
            + expected[at]
            + " (relative error "
            + worst
            + " exceeds "
            + TOLERANCE
            + ")");
    return Math.max(normwise, worst);
  }

  @ParameterizedTest
  @ValueSource(strings = {"gpt2_opset14", "gpt2_opset17", "llama_opset14", "llama_opset17"})
  void logitsMatchPyTorchAndTheExportedFile(String fixture) {
    Path file = resource(fixture + ".onnx");
    JsonNode gold = golden(fixture);
    Graph g = OnnxIo.read(file);
    Map<String, Tensor> in = Map.of("input_ids", longs(gold.get("input_ids")));
    double[] logits;
    try (Ort ort = Ort.session(g)) {
      logits = ort.run(in, List.of(LOGITS)).get(LOGITS);
    }
    double err = assertClose(fixture + " logits", logits, values(gold.get(LOGITS)));
    System.out.printf("%s logits: relative error %.3g%n", fixture, err);
    // the file as exported, run by ONNX Runtime at its own opset, agrees with the import
    try (Ort ort = Ort.session(file)) {
      double[] direct = ort.run(in, List.of(LOGITS)).get(LOGITS);
      assertArrayEquals(direct, logits, 1e-5, fixture + " imported vs exported file");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"gpt2_opset14", "gpt2_opset17", "llama_opset14", "llama_opset17"})
  void lossAndEveryParameterGradientMatchAutograd(String fixture) {
    JsonNode gold = golden(fixture);
    Graph g = OnnxIo.read(resource(fixture + ".onnx"));
    Value logits = g.value(LOGITS); // [B, T, V]
    Shape bt = new Shape(logits.shape().dims().subList(0, 2));
    Value targets = g.input("targets", DType.INT64, bt);
    Value coefficients = g.input("coefficients", DType.FLOAT, bt);
    WeightedCrossEntropy.Result ce = WeightedCrossEntropy.build(g, logits, targets, coefficients);
    g.output("loss", ce.loss());
    List<Value> params = new ArrayList<>(g.initializers().keySet());
    params.removeIf(v -> !v.dtype().isFloatingPoint());
    JsonNode grads = gold.get("gradients");
    assertEquals(grads.size(), params.size(), fixture + ": one golden gradient per parameter");
    Map<Value, Value> d =
        Autodiff.gradients(g, Map.of(logits, ce.logitsGradient()), params); // like each param
    List<String> outputs = new ArrayList<>(List.of("loss"));
    for (Value p : params) {
      outputs.add(g.output(p.name() + "_grad", d.get(p)).name());
    }

    Map<String, Tensor> in = new LinkedHashMap<>();
    in.put("input_ids", longs(gold.get("input_ids")));
    in.put("targets", longs(gold.get("targets")));
    in.put("coefficients", floats(gold.get("coefficients")));
    Map<String, double[]> out;
    try (Ort ort = Ort.session(g)) {
      out = ort.run(in, outputs);
    }
    double loss = gold.get("loss").asDouble();
    double worst = assertClose(fixture + " loss", out.get("loss"), new double[] {loss});
    for (Iterator<String> names = grads.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      Value p = g.value(name);
      assertTrue(p != null && params.contains(p), fixture + ": no initializer " + name);
      JsonNode expected = grads.get(name);
      List<Long> dims = new ArrayList<>();
      expected.get("shape").forEach(x -> dims.add(x.asLong()));
      assertEquals(dims, p.shape().dims().stream().map(Dim::size).toList(), name + " shape");
      worst =
          Math.max(
              worst,
              assertClose(fixture + " dL/d" + name, out.get(name + "_grad"), values(expected)));
    }
    System.out.printf(
        "%s: loss and %d gradients, worst relative error %.3g%n", fixture, params.size(), worst);
  }

  @ParameterizedTest
  @ValueSource(strings = {"gpt2_opset14", "gpt2_opset17", "llama_opset14", "llama_opset17"})
  void importedGraphRoundTripsThroughProtobufUnchanged(String fixture) throws IOException {
    Graph g = OnnxIo.fromBytes(Files.readAllBytes(resource(fixture + ".onnx")));
    byte[] bytes = OnnxIo.toBytes(g);
    Graph back = OnnxIo.fromBytes(bytes);
    OnnxIoTest.assertSameGraph(g, back);
    assertArrayEquals(bytes, OnnxIo.toBytes(back));
  }

  @Test
  void initializersListedAsInputsAndValueInfoAreAccepted() throws IOException {
    // keep_initializers_as_inputs=True lists every weight as a graph input too; shape inference
    // adds value_info; neither changes the graph read
    OnnxMl.ModelProto m = proto("gpt2_opset17");
    OnnxMl.GraphProto.Builder gp = m.getGraph().toBuilder();
    for (OnnxMl.TensorProto t : m.getGraph().getInitializerList()) {
      OnnxMl.TensorShapeProto.Builder s = OnnxMl.TensorShapeProto.newBuilder();
      t.getDimsList()
          .forEach(d -> s.addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(d)));
      OnnxMl.ValueInfoProto vi =
          OnnxMl.ValueInfoProto.newBuilder()
              .setName(t.getName())
              .setType(
                  OnnxMl.TypeProto.newBuilder()
                      .setTensorType(
                          OnnxMl.TypeProto.Tensor.newBuilder()
                              .setElemType(t.getDataType())
                              .setShape(s)))
              .build();
      gp.addInput(vi);
      gp.addValueInfo(vi.toBuilder().setName(t.getName() + "_unused_info"));
    }
    Graph plain = OnnxIo.fromBytes(m.toByteArray());
    Graph listed = OnnxIo.fromBytes(m.toBuilder().setGraph(gp).build().toByteArray());
    assertEquals(List.of("input_ids"), listed.inputs().stream().map(Value::name).toList());
    OnnxIoTest.assertSameGraph(plain, listed);
  }

  static OnnxMl.ModelProto proto(String fixture) {
    try {
      return OnnxMl.ModelProto.parseFrom(Files.readAllBytes(resource(fixture + ".onnx")));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The model with node {@code index} replaced by {@code edit}'s result. */
  static byte[] withNode(
      OnnxMl.ModelProto m,
      int index,
      java.util.function.UnaryOperator<OnnxMl.NodeProto.Builder> edit) {
    OnnxMl.GraphProto.Builder gp = m.getGraph().toBuilder();
    gp.setNode(index, edit.apply(gp.getNode(index).toBuilder()));
    return m.toBuilder().setGraph(gp).build().toByteArray();
  }

  static int indexOf(OnnxMl.ModelProto m, String opType) {
    for (int i = 0; i < m.getGraph().getNodeCount(); i++) {
      if (m.getGraph().getNode(i).getOpType().equals(opType)) {
        return i;
      }
    }
    throw new IllegalStateException("no " + opType + " node");
  }

  @Test
  void unsupportedOpIsRejectedNamingOpAndNode() {
    OnnxMl.ModelProto m = proto("llama_opset17");
    int i = indexOf(m, "Sigmoid");
    String node = m.getGraph().getNode(i).getName();
    byte[] edited = withNode(m, i, n -> n.setOpType("HardSigmoid"));
    var e = assertThrows(ModelFormatException.class, () -> OnnxIo.fromBytes(edited));
    assertTrue(e.getMessage().contains("HardSigmoid node '" + node + "'"), e.getMessage());
    assertTrue(e.getMessage().contains("unsupported ONNX op 'HardSigmoid'"), e.getMessage());
  }

  @Test
  void nodeOfAnotherDomainIsRejectedNamingOpAndNode() {
    OnnxMl.ModelProto m = proto("gpt2_opset17");
    int i = indexOf(m, "LayerNormalization");
    String node = m.getGraph().getNode(i).getName();
    byte[] edited = withNode(m, i, n -> n.setDomain("com.microsoft"));
    var e = assertThrows(ModelFormatException.class, () -> OnnxIo.fromBytes(edited));
    assertTrue(
        e.getMessage().contains("LayerNormalization node '" + node + "' is in domain"),
        e.getMessage());
    assertTrue(e.getMessage().contains("'com.microsoft'"), e.getMessage());
  }

  @Test
  void unsupportedOpsetsAndDomainImportsAreRejected() {
    OnnxMl.ModelProto m = proto("gpt2_opset14");
    OnnxMl.OperatorSetIdProto old = m.getOpsetImport(0).toBuilder().setVersion(12).build();
    byte[] opset12 = m.toBuilder().setOpsetImport(0, old).build().toByteArray();
    var e = assertThrows(ModelFormatException.class, () -> OnnxIo.fromBytes(opset12));
    assertTrue(e.getMessage().contains("default-domain opset 12; supported: 13 to 18"));

    OnnxMl.OperatorSetIdProto ms =
        OnnxMl.OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1).build();
    byte[] contrib = m.toBuilder().addOpsetImport(ms).build().toByteArray();
    e = assertThrows(ModelFormatException.class, () -> OnnxIo.fromBytes(contrib));
    assertTrue(e.getMessage().contains("domain 'com.microsoft'"), e.getMessage());
  }

  @Test
  void opset13To17FormsAreRejectedAtOpset18() {
    // ReduceMean takes its axes as an input from opset 18 on; the attribute form is invalid there
    OnnxMl.ModelProto m = proto("gpt2_opset14");
    OnnxMl.OperatorSetIdProto v18 = m.getOpsetImport(0).toBuilder().setVersion(18).build();
    OnnxMl.ModelProto at18 = m.toBuilder().setOpsetImport(0, v18).build();
    int i = indexOf(at18, "ReduceMean");
    String node = at18.getGraph().getNode(i).getName();
    var e = assertThrows(ModelFormatException.class, () -> OnnxIo.fromBytes(at18.toByteArray()));
    assertTrue(e.getMessage().contains("ReduceMean node '" + node + "'"), e.getMessage());
    assertTrue(e.getMessage().contains("unknown attribute 'axes'"), e.getMessage());
  }
}
