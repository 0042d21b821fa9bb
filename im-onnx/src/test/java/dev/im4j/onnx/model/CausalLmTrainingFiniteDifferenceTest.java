package dev.im4j.onnx.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.graph.Tensor;
import dev.im4j.onnx.testing.Ort;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The training graph's gradients against central finite differences of its own loss, on the
 * two-layer {@link TinyConfigs} models, for three random elements of every parameter. The graph is
 * fp32, so the step is large (1e-2) and the bound loose: {@code |fd - g| <= 2e-2 · max|g| + 2e-4}
 * per parameter tensor; the tight comparison is against PyTorch autograd in {@link
 * CausalLmGraphsGoldenTest}.
 */
final class CausalLmTrainingFiniteDifferenceTest {

  @ParameterizedTest
  @ValueSource(strings = {"llama", "qwen2", "mistral", "gpt2"})
  void gradientsMatchFiniteDifferences(String variant) {
    CausalLmConfig config =
        switch (variant) {
          case "llama" -> TinyConfigs.llama();
          case "qwen2" -> TinyConfigs.qwen2();
          case "mistral" -> TinyConfigs.mistral();
          default -> TinyConfigs.gpt2();
        };
    SplittableRandom r = new SplittableRandom(variant.hashCode());
    Map<String, float[]> values = new LinkedHashMap<>();
    Map<String, long[]> shapes = new LinkedHashMap<>();
    for (var t : CausalLmParameters.initialize(config, 5, DType.FLOAT).tensors()) {
      float[] v = t.toArray();
      for (int i = 0; i < v.length; i++) {
        v[i] += (float) (0.3 * (r.nextDouble() - 0.5)); // away from the near-zero init
      }
      values.put(t.name(), v);
      shapes.put(t.name(), t.shape());
    }
    long[] dims = {2, 5};
    Map<String, Tensor> batch = new LinkedHashMap<>();
    batch.put(CausalLmGraphs.INPUT_IDS, Tensor.ofLongs(dims, 3, 1, 4, 1, 5, 9, 2, 6, 0, 0));
    batch.put(CausalLmGraphs.POSITION_IDS, Tensor.ofLongs(dims, 0, 1, 2, 3, 4, 0, 1, 0, 0, 0));
    batch.put(CausalLmGraphs.SEGMENT_IDS, Tensor.ofLongs(dims, 1, 1, 1, 1, 1, 1, 1, 2, 0, 0));
    batch.put(
        CausalLmGraphs.TARGETS, Tensor.ofLongs(dims, 1, 4, 1, 5, -100, 2, -100, -100, -100, -100));
    batch.put(
        CausalLmGraphs.COEFFICIENTS,
        Tensor.ofFloats(dims, 0.5f, 1f, 0.25f, 2f, 0f, 1.5f, 0f, 0f, 0f, 0f));
    List<String> names = List.copyOf(values.keySet());
    try (Ort ort = Ort.session(CausalLmGraphs.training(config, Set.of(), false, false))) {
      List<String> outputs = new java.util.ArrayList<>();
      outputs.add(CausalLmGraphs.LOSS);
      names.forEach(n -> outputs.add(n + CausalLmGraphs.GRAD_SUFFIX));
      Map<String, double[]> analytic = ort.run(feed(batch, values, shapes), outputs);
      double h = 1e-2;
      for (String name : names) {
        double[] g = analytic.get(name + CausalLmGraphs.GRAD_SUFFIX);
        double scale = 0;
        for (double x : g) {
          scale = Math.max(scale, Math.abs(x));
        }
        float[] v = values.get(name);
        for (int k = 0; k < 3; k++) {
          int i = r.nextInt(v.length);
          float saved = v[i];
          v[i] = (float) (saved + h);
          double plus = loss(ort, batch, values, shapes);
          v[i] = (float) (saved - h);
          double minus = loss(ort, batch, values, shapes);
          v[i] = saved;
          double fd = (plus - minus) / (2 * h);
          assertTrue(
              Math.abs(fd - g[i]) <= 2e-2 * scale + 2e-4,
              variant + " " + name + "[" + i + "]: finite difference " + fd + " vs " + g[i]);
        }
      }
    }
  }

  private static double loss(
      Ort ort, Map<String, Tensor> batch, Map<String, float[]> values, Map<String, long[]> shapes) {
    return ort.run(feed(batch, values, shapes), List.of(CausalLmGraphs.LOSS))
        .get(CausalLmGraphs.LOSS)[0];
  }

  private static Map<String, Tensor> feed(
      Map<String, Tensor> batch, Map<String, float[]> values, Map<String, long[]> shapes) {
    Map<String, Tensor> in = new LinkedHashMap<>(batch);
    values.forEach((n, v) -> in.put(n, Tensor.ofFloats(shapes.get(n), v)));
    return in;
  }
}
