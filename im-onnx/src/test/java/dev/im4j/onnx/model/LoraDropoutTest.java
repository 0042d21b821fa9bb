package dev.im4j.onnx.model;

import static dev.im4j.onnx.model.CausalLmGraphsGoldenTest.parameters;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.graph.Shape;
import dev.im4j.onnx.graph.Tensor;
import dev.im4j.onnx.graph.Value;
import dev.im4j.onnx.testing.Ort;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * LoRA dropout in the training graphs: the masks' statistics, their dependence on seed and module
 * only, and gradients that follow the dropped forward pass.
 */
final class LoraDropoutTest {
  private static final int N = 3 * 4096;

  /** The masks of {@code modules} for one seed and probability, each over N elements. */
  private static double[][] masks(double p, long seed, int... modules) {
    Graph g = Graph.create("masks");
    Value x = g.input("x", DType.FLOAT, Shape.of(3, 4096));
    Value prob = g.input(CausalLmGraphs.LORA_DROPOUT, DType.FLOAT, Shape.of(1));
    Value s = g.input(CausalLmGraphs.LORA_DROPOUT_SEED, DType.INT64, Shape.of(1));
    List<String> names = new ArrayList<>();
    Value indexHash = CausalLmGraphs.loraDropoutIndexHash(g, x);
    for (int m : modules) {
      Value mask = CausalLmGraphs.loraDropoutMask(g, indexHash, prob, s, m);
      g.output("mask" + m, mask);
      names.add("mask" + m);
    }
    Map<String, Tensor> in = new LinkedHashMap<>();
    in.put("x", Tensor.filled(DType.FLOAT, new long[] {3, 4096}, 1));
    in.put(CausalLmGraphs.LORA_DROPOUT, Tensor.ofFloats(new long[] {1}, (float) p));
    in.put(CausalLmGraphs.LORA_DROPOUT_SEED, Tensor.ofLongs(new long[] {1}, seed));
    Map<String, double[]> out;
    try (Ort ort = Ort.session(g)) {
      out = ort.run(in, names);
    }
    double[][] result = new double[modules.length][];
    for (int k = 0; k < modules.length; k++) {
      result[k] = out.get(names.get(k));
    }
    return result;
  }

  @Test
  void masksDropAboutPAndScaleTheRest() {
    for (double p : new double[] {0.1, 0.5}) {
      double[] mask = masks(p, 12345, 0)[0];
      float keep = (float) (1 / (1 - p));
      int dropped = 0;
      double[] centred = new double[N];
      for (int i = 0; i < N; i++) {
        assertTrue(mask[i] == 0 || (float) mask[i] == keep, "value " + mask[i]);
        dropped += mask[i] == 0 ? 1 : 0;
        centred[i] = (mask[i] == 0 ? 1 : 0) - p;
      }
      double sigma = Math.sqrt(p * (1 - p) / N);
      assertEquals(p, (double) dropped / N, 4 * sigma, "fraction dropped at p=" + p);
      // neighbours independent: the lag-1 and lag-4096 (next row) correlations are near zero
      for (int lag : new int[] {1, 4096}) {
        double c = 0;
        for (int i = 0; i + lag < N; i++) {
          c += centred[i] * centred[i + lag];
        }
        double corr = c / ((N - lag) * p * (1 - p));
        assertTrue(Math.abs(corr) < 0.05, "lag " + lag + " correlation " + corr + " at p=" + p);
      }
    }
  }

  @Test
  void masksAreAFunctionOfSeedAndModuleAndPZeroKeepsAll() {
    double[][] a = masks(0.3, 7, 0, 1);
    assertArrayEquals(a[0], masks(0.3, 7, 0)[0], 0.0, "same seed and module, same mask");
    assertFalse(java.util.Arrays.equals(a[0], a[1]), "modules draw different masks");
    assertFalse(java.util.Arrays.equals(a[0], masks(0.3, 8, 0)[0]), "seeds draw different masks");
    double[] none = masks(0, 7, 0)[0];
    for (double v : none) {
      assertEquals(1.0, v, 0.0);
    }
  }

  @Test
  void probabilityZeroIsTheGraphWithoutDropoutAndASeedGivesOneLoss() {
    CausalLmGraphsGoldenTest.Golden gold = CausalLmGraphsGoldenTest.Golden.load("llama");
    CausalLmConfig c = gold.config();
    LoraConfig lora = LoraConfig.of(3).withAlpha(6);
    Weights ab = CausalLmGraphsLoraTest.randomAdapters(lora.adapters(c), 11);
    Map<String, Tensor> in = CausalLmGraphsLoraTest.trainingInputs();
    in.putAll(parameters(gold.weights()));
    in.putAll(parameters(ab));
    List<String> outputs = new ArrayList<>(List.of(CausalLmGraphs.LOSS));
    ab.names().forEach(n -> outputs.add(n + CausalLmGraphs.GRAD_SUFFIX));
    Map<String, double[]> plain =
        CausalLmGraphsLoraTest.run(
            CausalLmGraphs.training(c, lora, Set.of(), false, false), in, outputs);

    Graph dropped = CausalLmGraphs.training(c, lora.withDropout(0.3), Set.of(), false, false);
    Map<String, double[]> off = run(dropped, in, outputs, 0, 99);
    for (String o : outputs) {
      assertArrayEquals(plain.get(o), off.get(o), 0.0, o + " with p fed as 0");
    }
    Map<String, double[]> on = run(dropped, in, outputs, 0.3, 99);
    assertArrayEquals(
        on.get(CausalLmGraphs.LOSS), run(dropped, in, outputs, 0.3, 99).get(CausalLmGraphs.LOSS));
    assertTrue(on.get(CausalLmGraphs.LOSS)[0] != plain.get(CausalLmGraphs.LOSS)[0], "dropout acts");
    assertTrue(
        on.get(CausalLmGraphs.LOSS)[0]
            != run(dropped, in, outputs, 0.3, 100).get(CausalLmGraphs.LOSS)[0],
        "another seed, another loss");
  }

  /**
   * With dropout on and the seed fixed, each adapter's gradient predicts the loss change along a
   * random direction (central differences in float32, so a loose tolerance: a mask missing from the
   * backward pass would be off by about p).
   */
  @Test
  void gradientsFollowTheDroppedForwardPass() {
    CausalLmGraphsGoldenTest.Golden gold = CausalLmGraphsGoldenTest.Golden.load("llama");
    CausalLmConfig c = gold.config();
    LoraConfig lora = LoraConfig.of(3).withAlpha(6).withDropout(0.4);
    Weights ab = CausalLmGraphsLoraTest.randomAdapters(lora.adapters(c), 11);
    Graph graph = CausalLmGraphs.training(c, lora, Set.of(), false, false);
    Map<String, Tensor> in = CausalLmGraphsLoraTest.trainingInputs();
    in.putAll(parameters(gold.weights()));
    in.putAll(parameters(ab));
    java.util.Random random = new java.util.Random(3);
    for (String name : List.of(ab.names().get(0), ab.names().get(1))) {
      float[] values = ab.get(name).toArray();
      float[] direction = new float[values.length];
      for (int i = 0; i < values.length; i++) {
        direction[i] = (float) random.nextGaussian();
      }
      double[] grad =
          run(graph, in, List.of(name + CausalLmGraphs.GRAD_SUFFIX), 0.4, 5)
              .get(name + CausalLmGraphs.GRAD_SUFFIX);
      double predicted = 0;
      for (int i = 0; i < values.length; i++) {
        predicted += grad[i] * direction[i];
      }
      double eps = 1e-2;
      double[] losses = new double[2];
      for (int side = 0; side < 2; side++) {
        float[] moved = values.clone();
        for (int i = 0; i < moved.length; i++) {
          moved[i] += (float) ((side == 0 ? eps : -eps) * direction[i]);
        }
        Map<String, Tensor> shifted = new LinkedHashMap<>(in);
        shifted.put(name, Tensor.ofFloats(ab.get(name).shape(), moved));
        losses[side] =
            run(graph, shifted, List.of(CausalLmGraphs.LOSS), 0.4, 5).get(CausalLmGraphs.LOSS)[0];
      }
      double measured = (losses[0] - losses[1]) / (2 * eps);
      assertEquals(predicted, measured, 0.02 * Math.abs(predicted) + 1e-4, name);
    }
  }

  private static Map<String, double[]> run(
      Graph graph, Map<String, Tensor> inputs, List<String> outputs, double p, long seed) {
    Map<String, Tensor> in = new LinkedHashMap<>(inputs);
    in.put(CausalLmGraphs.LORA_DROPOUT, Tensor.ofFloats(new long[] {1}, (float) p));
    in.put(CausalLmGraphs.LORA_DROPOUT_SEED, Tensor.ofLongs(new long[] {1}, seed));
    return CausalLmGraphsLoraTest.run(graph, in, outputs);
  }
}
