package dev.im4j.onnx.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.graph.Tensor;
import dev.im4j.onnx.graph.Value;
import dev.im4j.onnx.testing.Ort;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link CausalLmGraphs} on ONNX Runtime against PyTorch references ({@code
 * model/graphs/generate_golden.py}): logits of six tiny variants, loss and every parameter gradient
 * of four (invariant 19), packed rows equal to the examples run one by one (invariant 14).
 *
 * <p>Error measure: {@code max_i |a_i - b_i| / max(|b_i|, 0.01 * max_j |b_j|)}, the element-wise
 * relative error with a floor at 1% of the tensor's largest magnitude, so values that are
 * cancellation noise in both implementations do not dominate; the bound is 1e-4.
 */
final class CausalLmGraphsGoldenTest {
  private static final double TOLERANCE = 1e-4;
  private static final JsonNode INPUTS = Fixtures.json("graphs/inputs.json");

  /** One golden variant: config, weights and PyTorch's outputs. */
  record Golden(CausalLmConfig config, Weights weights, Weights expected) {
    static Golden load(String variant) {
      CausalLmConfig config =
          CausalLmConfig.read(Fixtures.resource("graphs/" + variant + "/config.json"));
      Weights weights;
      try (SafetensorsFile f =
          SafetensorsFile.open(Fixtures.resource("graphs/" + variant + "/model.safetensors"))) {
        weights = f.readAll();
      }
      Weights expected;
      try (SafetensorsFile f =
          SafetensorsFile.open(Fixtures.resource("graphs/" + variant + "/expected.safetensors"))) {
        expected = f.readAll();
      }
      return new Golden(config, weights, expected);
    }
  }

  static long[][] matrix(String field) {
    JsonNode rows = INPUTS.get(field);
    long[][] out = new long[rows.size()][];
    for (int i = 0; i < out.length; i++) {
      out[i] = new long[rows.get(i).size()];
      for (int j = 0; j < out[i].length; j++) {
        out[i][j] = rows.get(i).get(j).asLong();
      }
    }
    return out;
  }

  static Tensor longs(long[][] m) {
    int b = m.length;
    int t = m[0].length;
    long[] flat = new long[b * t]; // [B, T]
    for (int i = 0; i < b; i++) {
      System.arraycopy(m[i], 0, flat, i * t, t);
    }
    return Tensor.ofLongs(new long[] {b, t}, flat);
  }

  static Tensor floats(double[][] m) {
    int b = m.length;
    int t = m[0].length;
    float[] flat = new float[b * t]; // [B, T]
    for (int i = 0; i < b; i++) {
      for (int j = 0; j < t; j++) {
        flat[i * t + j] = (float) m[i][j];
      }
    }
    return Tensor.ofFloats(new long[] {b, t}, flat);
  }

  static Map<String, Tensor> batchInputs() {
    Map<String, Tensor> in = new LinkedHashMap<>();
    in.put(CausalLmGraphs.INPUT_IDS, longs(matrix("input_ids")));
    in.put(CausalLmGraphs.POSITION_IDS, longs(matrix("position_ids")));
    in.put(CausalLmGraphs.SEGMENT_IDS, longs(matrix("segment_ids")));
    return in;
  }

  static Map<String, Tensor> parameters(Weights w) {
    Map<String, Tensor> in = new LinkedHashMap<>();
    for (var t : w.tensors()) {
      in.put(t.name(), Tensor.ofFloats(t.shape(), t.toArray()));
    }
    return in;
  }

  static double[] doubles(dev.im4j.onnx.model.Tensor t) {
    float[] f = t.toArray();
    double[] d = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      d[i] = f[i];
    }
    return d;
  }

  /** The error measure of the class comment. */
  static double relativeError(double[] actual, double[] expected) {
    assertEquals(expected.length, actual.length, "element count");
    double scale = 0;
    for (double e : expected) {
      scale = Math.max(scale, Math.abs(e));
    }
    double floor = Math.max(0.01 * scale, 1e-12);
    double worst = 0;
    for (int i = 0; i < actual.length; i++) {
      assertTrue(Double.isFinite(actual[i]), "element " + i + " is not finite: " + actual[i]);
      worst =
          Math.max(
              worst, Math.abs(actual[i] - expected[i]) / Math.max(Math.abs(expected[i]), floor));
    }
    return worst;
  }

  static double[] forward(Graph graph, Map<String, Tensor> inputs) {
    try (Ort ort = Ort.session(graph)) {
      return ort.run(inputs, List.of(CausalLmGraphs.LOGITS)).get(CausalLmGraphs.LOGITS);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"llama", "llama3_tied", "qwen2", "mistral", "llama_bias_headdim", "gpt2"})
  void logitsMatchPyTorch(String variant) {
    Golden gold = Golden.load(variant);
    Map<String, Tensor> in = batchInputs();
    in.putAll(parameters(gold.weights()));
    double[] logits = forward(CausalLmGraphs.forward(gold.config(), false), in); // [B, T, V]
    double err = relativeError(logits, doubles(gold.expected().get("logits")));
    System.out.printf("%s logits max relative error %.3g%n", variant, err);
    assertTrue(err <= TOLERANCE, variant + " logits relative error " + err);
  }

  @ParameterizedTest
  @ValueSource(strings = {"llama3_tied", "qwen2", "mistral", "gpt2"})
  void lossAndEveryGradientMatchAutograd(String variant) {
    Golden gold = Golden.load(variant);
    checkTraining(variant, gold, CausalLmGraphs.training(gold.config(), Set.of(), false, false));
  }

  /**
   * Chunked loss: blocks of 3 positions over T = 8, including a block sized for a longer sequence
   * (maxSeqLen 9 gives blocks [0, 3), [3, 6), [6, end)); tied and untied heads.
   */
  @ParameterizedTest
  @ValueSource(strings = {"llama3_tied", "mistral", "gpt2"})
  void chunkedLossGivesTheSameLossAndGradients(String variant) {
    Golden gold = Golden.load(variant);
    checkTraining(
        variant + " chunked",
        gold,
        CausalLmGraphs.trainingChunked(gold.config(), Set.of(), false, 3, 9, false));
  }

  @Test
  void chunkedLossWithOneBlockLongerThanTheSequence() {
    Golden gold = Golden.load("qwen2");
    checkTraining(
        "qwen2 one block",
        gold,
        CausalLmGraphs.trainingChunked(gold.config(), Set.of(), false, 16, 16, false));
  }

  /**
   * Gradient checkpointing: recomputing every decoder layer in the backward pass gives the plain
   * graph's loss and gradients (within 1e-6 relative; the same ops on the same values), both
   * chunked and full-logits, and still matches autograd.
   */
  @ParameterizedTest
  @ValueSource(strings = {"llama3_tied", "qwen2", "mistral", "gpt2"})
  void recomputedLayersGiveThePlainGraphsGradients(String variant) {
    Golden gold = Golden.load(variant);
    CausalLmConfig c = gold.config();
    List<Graph[]> pairs =
        List.of(
            new Graph[] {
              CausalLmGraphs.training(c, Set.of(), false, false),
              CausalLmGraphs.training(c, Set.of(), false, true)
            },
            new Graph[] {
              CausalLmGraphs.trainingChunked(c, Set.of(), false, 3, 9, false),
              CausalLmGraphs.trainingChunked(c, Set.of(), false, 3, 9, true)
            });
    for (Graph[] pair : pairs) {
      Map<String, double[]> plain = runTraining(gold, pair[0]);
      Map<String, double[]> recomputed = runTraining(gold, pair[1]);
      assertEquals(plain.keySet(), recomputed.keySet());
      double worst = 0;
      for (String name : plain.keySet()) {
        worst = Math.max(worst, relativeError(recomputed.get(name), plain.get(name)));
      }
      System.out.printf(
          "%s %s recomputed vs plain: worst error %.3g%n", variant, pair[0].name(), worst);
      assertTrue(worst <= 1e-6, variant + " " + pair[0].name() + " recomputed vs plain " + worst);
      checkTraining(variant + " recomputed", gold, pair[1]);
    }
  }

  /**
   * ONNX Runtime's optimisers keep the recomputation: after all of them, the recomputing graph runs
   * every layer's attention softmax twice (forward, then again before the layer's backward), where
   * common-subexpression elimination would have merged identical copies into one.
   */
  @Test
  void onnxRuntimeDoesNotFoldTheRecomputationAway(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
    CausalLmConfig c = Golden.load("llama3_tied").config();
    int plain =
        Ort.optimizedOpCounts(CausalLmGraphs.trainingChunked(c, Set.of(), false, 3, 9, false), dir)
            .getOrDefault("Softmax", 0);
    int recomputed =
        Ort.optimizedOpCounts(CausalLmGraphs.trainingChunked(c, Set.of(), false, 3, 9, true), dir)
            .getOrDefault("Softmax", 0);
    assertEquals(c.numLayers(), plain, "one attention softmax per layer");
    assertEquals(2 * c.numLayers(), recomputed, "each layer's softmax once more in the backward");
  }

  private static void checkTraining(String variant, Golden gold, Graph graph) {
    Map<String, double[]> out = runTraining(gold, graph);
    double lossErr =
        relativeError(out.get(CausalLmGraphs.LOSS), doubles(gold.expected().get("loss")));
    assertTrue(lossErr <= TOLERANCE, variant + " loss relative error " + lossErr);
    double worst = 0;
    String worstName = "";
    for (String name : gold.weights().names()) {
      double e =
          relativeError(
              out.get(name + CausalLmGraphs.GRAD_SUFFIX),
              doubles(gold.expected().get("grad." + name)));
      if (e > worst) {
        worst = e;
        worstName = name;
      }
    }
    System.out.printf(
        "%s loss error %.3g, worst gradient error %.3g (%s)%n", variant, lossErr, worst, worstName);
    assertTrue(
        worst <= TOLERANCE, variant + " gradient of " + worstName + " relative error " + worst);
  }

  /** Loss and every gradient of the golden batch through {@code graph}. */
  private static Map<String, double[]> runTraining(Golden gold, Graph graph) {
    Map<String, Tensor> in = batchInputs();
    in.put(CausalLmGraphs.TARGETS, longs(matrix("targets")));
    double[][] coefficients = new double[3][];
    JsonNode c = INPUTS.get("coefficients");
    for (int i = 0; i < coefficients.length; i++) {
      coefficients[i] = new double[c.get(i).size()];
      for (int j = 0; j < coefficients[i].length; j++) {
        coefficients[i][j] = c.get(i).get(j).asDouble();
      }
    }
    in.put(CausalLmGraphs.COEFFICIENTS, floats(coefficients));
    in.putAll(parameters(gold.weights()));
    List<String> outputs = new ArrayList<>();
    outputs.add(CausalLmGraphs.LOSS);
    for (String name : gold.weights().names()) {
      outputs.add(name + CausalLmGraphs.GRAD_SUFFIX);
    }
    try (Ort ort = Ort.session(graph)) {
      return ort.run(in, outputs);
    }
  }

  /** Invariant 14: each packed segment's logits equal those of its example run alone. */
  @ParameterizedTest
  @ValueSource(strings = {"llama3_tied", "mistral", "gpt2"})
  void packedRowsEqualExamplesRunOneByOne(String variant) {
    Golden gold = Golden.load(variant);
    Graph graph = CausalLmGraphs.forward(gold.config(), false);
    Map<String, Tensor> params = parameters(gold.weights());
    Map<String, Tensor> in = batchInputs();
    in.putAll(params);
    int vocab = gold.config().vocabSize();
    long[][] ids = matrix("input_ids");
    long[][] segments = matrix("segment_ids");
    int t = ids[0].length;
    try (Ort ort = Ort.session(graph)) {
      double[] batch = ort.run(in, List.of(CausalLmGraphs.LOGITS)).get(CausalLmGraphs.LOGITS);
      for (int row = 0; row < ids.length; row++) {
        int start = 0;
        while (start < t && segments[row][start] != 0) {
          int end = start;
          while (end < t && segments[row][end] == segments[row][start]) {
            end++;
          }
          int len = end - start;
          long[] one = new long[len];
          long[] pos = new long[len];
          long[] seg = new long[len];
          for (int i = 0; i < len; i++) {
            one[i] = ids[row][start + i];
            pos[i] = i;
            seg[i] = 1;
          }
          Map<String, Tensor> single = new LinkedHashMap<>(params);
          single.put(CausalLmGraphs.INPUT_IDS, Tensor.ofLongs(new long[] {1, len}, one));
          single.put(CausalLmGraphs.POSITION_IDS, Tensor.ofLongs(new long[] {1, len}, pos));
          single.put(CausalLmGraphs.SEGMENT_IDS, Tensor.ofLongs(new long[] {1, len}, seg));
          double[] alone =
              ort.run(single, List.of(CausalLmGraphs.LOGITS)).get(CausalLmGraphs.LOGITS);
          double[] packed = new double[len * vocab];
          System.arraycopy(batch, (row * t + start) * vocab, packed, 0, len * vocab);
          double err = relativeError(packed, alone);
          assertTrue(
              err <= 1e-5, variant + " row " + row + " segment at " + start + " differs by " + err);
          start = end;
        }
      }
    }
  }

  @Test
  void bakedInferenceGraphGivesTheSameLogits() {
    Golden gold = Golden.load("qwen2");
    Graph graph = CausalLmGraphs.inference(gold.config(), gold.weights());
    assertEquals(3, graph.inputs().size(), "only the id tensors are inputs");
    assertEquals(
        CausalLmParameters.expected(gold.config()).size(),
        graph.streamedInitializers().size(),
        "every weight is streamed from its source, none copied into the graph");
    double[] logits = forward(graph, batchInputs());
    assertTrue(relativeError(logits, doubles(gold.expected().get("logits"))) <= TOLERANCE);
  }

  @Test
  void zeroEmbeddingNoiseChangesNothingAndNoiseChangesLogits() {
    Golden gold = Golden.load("llama");
    Graph graph = CausalLmGraphs.forward(gold.config(), true);
    Map<String, Tensor> in = batchInputs();
    in.putAll(parameters(gold.weights()));
    int h = gold.config().hiddenSize();
    float[] noise = new float[3 * 8 * h]; // [B, T, H]
    in.put(CausalLmGraphs.EMBEDDING_NOISE, Tensor.ofFloats(new long[] {3, 8, h}, noise));
    double[] expected = doubles(gold.expected().get("logits"));
    assertTrue(relativeError(forward(graph, in), expected) <= TOLERANCE);
    java.util.Arrays.fill(noise, 0.5f);
    in.put(CausalLmGraphs.EMBEDDING_NOISE, Tensor.ofFloats(new long[] {3, 8, h}, noise));
    assertTrue(relativeError(forward(graph, in), expected) > 1e-2);
  }

  @Test
  void frozenParametersGetNoGradientOutput() {
    CausalLmConfig config = Golden.load("gpt2").config();
    String frozen = "transformer.wpe.weight";
    Graph graph = CausalLmGraphs.training(config, Set.of(frozen), false, false);
    List<String> outputs = graph.outputs().stream().map(Value::name).toList();
    assertFalse(outputs.contains(frozen + CausalLmGraphs.GRAD_SUFFIX));
    assertTrue(outputs.contains("transformer.wte.weight" + CausalLmGraphs.GRAD_SUFFIX));
    assertTrue(graph.inputs().stream().anyMatch(v -> v.name().equals(frozen)));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> CausalLmGraphs.training(config, Set.of("lm_head.weight"), false, false));
    assertTrue(e.getMessage().contains("lm_head.weight"), e.getMessage());
  }
}
