package dev.im4j.onnx.model;

import static dev.im4j.onnx.model.CausalLmGraphsGoldenTest.batchInputs;
import static dev.im4j.onnx.model.CausalLmGraphsGoldenTest.floats;
import static dev.im4j.onnx.model.CausalLmGraphsGoldenTest.longs;
import static dev.im4j.onnx.model.CausalLmGraphsGoldenTest.matrix;
import static dev.im4j.onnx.model.CausalLmGraphsGoldenTest.parameters;
import static dev.im4j.onnx.model.CausalLmGraphsGoldenTest.relativeError;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.graph.Op;
import dev.im4j.onnx.testing.Ort;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * LoRA in {@link CausalLmGraphs} against the merged model, whose graphs the golden test checks
 * against PyTorch. With {@code W' = W + s·B·A} (Linear layout; GPT-2's Conv1D weights take its
 * transpose), the adapted model must give the merged model's logits and loss, and, with {@code G}
 * the merged model's gradient for {@code W'}, the adapters' gradients {@code dB = s·G·Aᵀ} and
 * {@code dA = s·Bᵀ·G}. Adapters start with {@code B = 0}: the base model's logits exactly.
 */
final class CausalLmGraphsLoraTest {
  private static final double TOLERANCE = 1e-4;

  /** Rank 3 with rsLoRA (s = 6/√3) on the default targets: odd sizes, a scaling that is not 1. */
  private static final LoraConfig LORA = LoraConfig.of(3).withAlpha(6).withRsLora(true);

  @ParameterizedTest
  @ValueSource(strings = {"llama", "qwen2", "gpt2"})
  void freshAdaptersGiveTheBaseModelsLogitsExactly(String variant) {
    CausalLmGraphsGoldenTest.Golden gold = CausalLmGraphsGoldenTest.Golden.load(variant);
    Map<String, dev.im4j.onnx.graph.Tensor> in = batchInputs();
    in.putAll(parameters(gold.weights()));
    double[] base =
        CausalLmGraphsGoldenTest.forward(CausalLmGraphs.forward(gold.config(), false), in);
    in.putAll(parameters(LORA.initialize(gold.config(), 5)));
    double[] adapted =
        CausalLmGraphsGoldenTest.forward(CausalLmGraphs.forward(gold.config(), LORA, false), in);
    assertArrayEquals(base, adapted, 0.0);
  }

  @ParameterizedTest
  @ValueSource(strings = {"llama", "qwen2", "gpt2"})
  void adaptedLogitsLossAndGradientsFollowTheMergedModel(String variant) {
    CausalLmGraphsGoldenTest.Golden gold = CausalLmGraphsGoldenTest.Golden.load(variant);
    CausalLmConfig c = gold.config();
    boolean conv1d = c.modelType() == ModelType.GPT2;
    List<LoraConfig.Adapter> adapters = LORA.adapters(c);
    Weights ab = randomAdapters(adapters, 11);
    Weights merged = merge(gold.weights(), ab, adapters, conv1d);

    Map<String, dev.im4j.onnx.graph.Tensor> base = trainingInputs();
    base.putAll(parameters(gold.weights()));
    Map<String, dev.im4j.onnx.graph.Tensor> adaptedIn = new LinkedHashMap<>(base);
    adaptedIn.putAll(parameters(ab));
    Map<String, dev.im4j.onnx.graph.Tensor> mergedIn = trainingInputs();
    mergedIn.putAll(parameters(merged));

    // logits
    Map<String, dev.im4j.onnx.graph.Tensor> adaptedForward = batchInputs();
    adaptedForward.putAll(parameters(gold.weights()));
    adaptedForward.putAll(parameters(ab));
    Map<String, dev.im4j.onnx.graph.Tensor> mergedForward = batchInputs();
    mergedForward.putAll(parameters(merged));
    double[] adaptedLogits =
        CausalLmGraphsGoldenTest.forward(CausalLmGraphs.forward(c, LORA, false), adaptedForward);
    double[] mergedLogits =
        CausalLmGraphsGoldenTest.forward(CausalLmGraphs.forward(c, false), mergedForward);
    double logitsErr = normwiseError(adaptedLogits, mergedLogits);
    assertTrue(logitsErr <= 1e-5, variant + " logits error " + logitsErr);
    Map<String, dev.im4j.onnx.graph.Tensor> baseForward = batchInputs();
    baseForward.putAll(parameters(gold.weights()));
    double[] baseLogits =
        CausalLmGraphsGoldenTest.forward(CausalLmGraphs.forward(c, false), baseForward);
    assertTrue(
        normwiseError(adaptedLogits, baseLogits) > 1e-3, variant + ": the adapters must act");

    // loss and gradients: the LoRA graph trains the adapters only
    Graph loraTraining = CausalLmGraphs.training(c, LORA, Set.of(), false, false);
    Set<String> outputs = new HashSet<>();
    loraTraining.outputs().forEach(v -> outputs.add(v.name()));
    Set<String> expectedOutputs = new HashSet<>(Set.of(CausalLmGraphs.LOSS));
    ab.names().forEach(n -> expectedOutputs.add(n + CausalLmGraphs.GRAD_SUFFIX));
    assertEquals(expectedOutputs, outputs, "outputs: the loss and the adapters' gradients");
    // a weight gradient of x·Wᵀ is one Gemm with transA (dW = dYᵀ·x): one per adapter tensor,
    // none for the frozen base weights
    long weightGradients =
        loraTraining.nodes().stream()
            .filter(n -> n.op() == Op.GEMM && n.intAttr("transA", 0) == 1)
            .count();
    assertEquals(ab.names().size(), weightGradients, "weight-gradient Gemms");
    Map<String, double[]> lora = run(loraTraining, adaptedIn, new ArrayList<>(outputs));

    List<String> full = new ArrayList<>(List.of(CausalLmGraphs.LOSS));
    adapters.forEach(a -> full.add(a.module() + ".weight" + CausalLmGraphs.GRAD_SUFFIX));
    Map<String, double[]> reference =
        run(CausalLmGraphs.training(c, Set.of(), false, false), mergedIn, full);

    double lossErr =
        relativeError(lora.get(CausalLmGraphs.LOSS), reference.get(CausalLmGraphs.LOSS));
    assertTrue(lossErr <= 1e-5, variant + " loss relative error " + lossErr);
    System.out.printf("%s: logits error %.3g, loss error %.3g%n", variant, logitsErr, lossErr);
    double s = LORA.scaling();
    int r = LORA.rank();
    for (LoraConfig.Adapter a : adapters) {
      int in = (int) a.in();
      int out = (int) a.out();
      double[] g = reference.get(a.module() + ".weight" + CausalLmGraphs.GRAD_SUFFIX);
      double[] gLinear = conv1d ? transpose(g, in, out) : g; // [out, in]
      float[] aValues = ab.get(a.aName()).toArray(); // [r, in]
      float[] bValues = ab.get(a.bName()).toArray(); // [out, r]
      double[] dB = new double[out * r];
      double[] dA = new double[r * in];
      for (int o = 0; o < out; o++) {
        for (int k = 0; k < r; k++) {
          for (int i = 0; i < in; i++) {
            dB[o * r + k] += s * gLinear[o * in + i] * aValues[k * in + i];
            dA[k * in + i] += s * bValues[o * r + k] * gLinear[o * in + i];
          }
        }
      }
      double errB = relativeError(lora.get(a.bName() + CausalLmGraphs.GRAD_SUFFIX), dB);
      double errA = relativeError(lora.get(a.aName() + CausalLmGraphs.GRAD_SUFFIX), dA);
      assertTrue(errB <= TOLERANCE, variant + " " + a.bName() + " gradient error " + errB);
      assertTrue(errA <= TOLERANCE, variant + " " + a.aName() + " gradient error " + errA);
    }
  }

  /** LoraAdapter.merge: the merged Hugging Face model's logits equal the adapted model's. */
  @ParameterizedTest
  @ValueSource(strings = {"llama", "qwen2", "gpt2"})
  void theMergedDirectoryGivesTheAdaptedLogits(String variant) {
    CausalLmGraphsGoldenTest.Golden gold = CausalLmGraphsGoldenTest.Golden.load(variant);
    CausalLmConfig c = gold.config();
    Weights ab = randomAdapters(LORA.adapters(c), 17);
    ModelDirectory merged =
        new LoraAdapter(LORA, c, ab).merge(ModelDirectory.of(c, gold.weights(), Map.of()));

    Map<String, dev.im4j.onnx.graph.Tensor> adaptedIn = batchInputs();
    adaptedIn.putAll(parameters(gold.weights()));
    adaptedIn.putAll(parameters(ab));
    Map<String, dev.im4j.onnx.graph.Tensor> mergedIn = batchInputs();
    mergedIn.putAll(parameters(merged.weights()));
    double[] adapted =
        CausalLmGraphsGoldenTest.forward(CausalLmGraphs.forward(c, LORA, false), adaptedIn);
    double[] fromMerged =
        CausalLmGraphsGoldenTest.forward(CausalLmGraphs.forward(c, false), mergedIn);
    double err = normwiseError(fromMerged, adapted);
    assertTrue(err <= 1e-5, variant + " merged logits error " + err);
  }

  @ParameterizedTest
  @ValueSource(strings = {"llama", "gpt2"})
  void theChunkedGraphGivesTheSameAdapterGradients(String variant) {
    CausalLmGraphsGoldenTest.Golden gold = CausalLmGraphsGoldenTest.Golden.load(variant);
    CausalLmConfig c = gold.config();
    Weights ab = randomAdapters(LORA.adapters(c), 13);
    Map<String, dev.im4j.onnx.graph.Tensor> in = trainingInputs();
    in.putAll(parameters(gold.weights()));
    in.putAll(parameters(ab));
    List<String> outputs = new ArrayList<>(List.of(CausalLmGraphs.LOSS));
    ab.names().forEach(n -> outputs.add(n + CausalLmGraphs.GRAD_SUFFIX));
    Map<String, double[]> whole =
        run(CausalLmGraphs.training(c, LORA, Set.of(), false, false), in, outputs);
    Map<String, double[]> chunked =
        run(CausalLmGraphs.trainingChunked(c, LORA, Set.of(), false, 3, 9, true), in, outputs);
    for (String o : outputs) {
      double err = relativeError(chunked.get(o), whole.get(o));
      assertTrue(err <= 1e-5, variant + " " + o + " chunked and recomputed: error " + err);
    }
  }

  /**
   * Adapters with A and B drawn uniformly from [-0.05, 0.05): B not zero, so the adapters act, and
   * s·B·A of the order of the base weights (initializer range 0.02), as after some training.
   */
  static Weights randomAdapters(List<LoraConfig.Adapter> adapters, long seed) {
    Random random = new Random(seed);
    List<Tensor> tensors = new ArrayList<>();
    int r = LORA.rank();
    for (LoraConfig.Adapter a : adapters) {
      tensors.add(Tensor.of(a.aName(), new long[] {r, a.in()}, uniform(random, r * a.in())));
      tensors.add(Tensor.of(a.bName(), new long[] {a.out(), r}, uniform(random, a.out() * r)));
    }
    return Weights.of(tensors);
  }

  private static float[] uniform(Random random, long n) {
    float[] v = new float[Math.toIntExact(n)];
    for (int i = 0; i < v.length; i++) {
      v[i] = 0.1f * (random.nextFloat() - 0.5f);
    }
    return v;
  }

  /** The base weights with {@code s·B·A} added to each adapted weight (transposed for Conv1D). */
  private static Weights merge(
      Weights base, Weights ab, List<LoraConfig.Adapter> adapters, boolean conv1d) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    base.tensors().forEach(t -> out.put(t.name(), t));
    double s = LORA.scaling();
    int r = LORA.rank();
    for (LoraConfig.Adapter a : adapters) {
      int in = (int) a.in();
      int o = (int) a.out();
      Tensor w = base.get(a.module() + ".weight");
      float[] values = w.toArray();
      float[] aValues = ab.get(a.aName()).toArray();
      float[] bValues = ab.get(a.bName()).toArray();
      for (int row = 0; row < o; row++) {
        for (int col = 0; col < in; col++) {
          double delta = 0;
          for (int k = 0; k < r; k++) {
            delta += bValues[row * r + k] * (double) aValues[k * in + col];
          }
          int at = conv1d ? col * o + row : row * in + col;
          values[at] = (float) (values[at] + s * delta);
        }
      }
      out.put(w.name(), Tensor.of(w.name(), w.shape(), values));
    }
    return Weights.of(out.values());
  }

  /**
   * {@code max_i |a_i − b_i| / max_i |b_i|}: two float32 evaluations of the same function in
   * different orders differ by rounding relative to the tensor's scale, not to each element's.
   */
  private static double normwiseError(double[] actual, double[] expected) {
    assertEquals(expected.length, actual.length, "element count");
    double diff = 0;
    double scale = 0;
    for (int i = 0; i < actual.length; i++) {
      diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
      scale = Math.max(scale, Math.abs(expected[i]));
    }
    return diff / scale;
  }

  private static double[] transpose(double[] m, int rows, int cols) {
    double[] t = new double[m.length];
    for (int i = 0; i < rows; i++) {
      for (int j = 0; j < cols; j++) {
        t[j * rows + i] = m[i * cols + j];
      }
    }
    return t;
  }

  /** The golden batch with its targets and coefficients. */
  static Map<String, dev.im4j.onnx.graph.Tensor> trainingInputs() {
    Map<String, dev.im4j.onnx.graph.Tensor> in = batchInputs();
    in.put(CausalLmGraphs.TARGETS, longs(matrix("targets")));
    long[][] ids = matrix("input_ids");
    double[][] coefficients = new double[ids.length][ids[0].length];
    long[][] segments = matrix("segment_ids");
    for (int i = 0; i < ids.length; i++) {
      for (int j = 0; j < ids[i].length; j++) {
        coefficients[i][j] = segments[i][j] == 0 ? 0 : 0.1 + 0.01 * (i + j);
      }
    }
    in.put(CausalLmGraphs.COEFFICIENTS, floats(coefficients));
    return in;
  }

  static Map<String, double[]> run(
      Graph graph, Map<String, dev.im4j.onnx.graph.Tensor> inputs, List<String> outputs) {
    try (Ort ort = Ort.session(graph)) {
      return ort.run(inputs, outputs);
    }
  }
}
