package dev.im4j.onnx.model;

import static dev.im4j.onnx.model.CausalLmGraphsGoldenTest.parameters;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.graph.Node;
import dev.im4j.onnx.graph.Op;
import dev.im4j.onnx.graph.Value;
import dev.im4j.onnx.testing.Ort;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A LoRA graph whose frozen base is held in half precision ({@link LoraConfig#withBaseDType})
 * computes what the float32 graph computes from the same weights rounded to that precision: the
 * widening Casts are exact, so loss and adapter gradients must agree to float32 rounding of the
 * same operations. And each widening is made where it is read, so that no float32 copy of a base
 * weight lives from the forward pass into the backward pass.
 */
final class LoraHalfBaseTest {
  private static final LoraConfig LORA = LoraConfig.of(3).withAlpha(6);

  @ParameterizedTest
  @CsvSource({
    "llama, BFLOAT16, false",
    "qwen2, BFLOAT16, false",
    "gpt2, BFLOAT16, false",
    "llama3_tied, FLOAT16, false",
    "qwen2, BFLOAT16, true",
    "gpt2, FLOAT16, true"
  })
  void halfBaseTrainsAsTheRoundedFloatBase(
      String variant, DType dtype, boolean gradientCheckpointing) {
    CausalLmGraphsGoldenTest.Golden gold = CausalLmGraphsGoldenTest.Golden.load(variant);
    CausalLmConfig c = gold.config();
    Weights adapters = CausalLmGraphsLoraTest.randomAdapters(LORA.adapters(c), 7);

    Map<String, dev.im4j.onnx.graph.Tensor> floatIn = CausalLmGraphsLoraTest.trainingInputs();
    Map<String, dev.im4j.onnx.graph.Tensor> halfIn = CausalLmGraphsLoraTest.trainingInputs();
    for (Tensor t : gold.weights().tensors()) {
      float[] v = t.toArray();
      float[] rounded = new float[v.length]; // the values a half-precision file would hold
      ByteBuffer half = ByteBuffer.allocate(2 * v.length).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < v.length; i++) {
        short bits =
            dtype == DType.BFLOAT16 ? HalfFloats.f32ToBf16(v[i]) : HalfFloats.f32ToF16(v[i]);
        rounded[i] =
            dtype == DType.BFLOAT16 ? HalfFloats.bf16ToF32(bits) : HalfFloats.f16ToF32(bits);
        half.putShort(bits);
      }
      half.flip();
      floatIn.put(t.name(), dev.im4j.onnx.graph.Tensor.ofFloats(t.shape(), rounded));
      halfIn.put(t.name(), new dev.im4j.onnx.graph.Tensor(dtype, t.shape(), half));
    }
    floatIn.putAll(parameters(adapters));
    halfIn.putAll(parameters(adapters));

    Graph floatGraph =
        CausalLmGraphs.trainingChunked(c, LORA, Set.of(), false, 3, 9, gradientCheckpointing);
    Graph halfGraph =
        CausalLmGraphs.trainingChunked(
            c, LORA.withBaseDType(dtype), Set.of(), false, 3, 9, gradientCheckpointing);
    List<String> outputs = new ArrayList<>();
    floatGraph.outputs().forEach(v -> outputs.add(v.name()));
    Map<String, double[]> expected = run(floatGraph, floatIn, outputs);
    Map<String, double[]> actual = run(halfGraph, halfIn, outputs);
    for (String name : outputs) {
      double[] e = expected.get(name);
      double scale = 0;
      for (double v : e) {
        scale = Math.max(scale, Math.abs(v));
      }
      assertTrue(scale > 0, name + " must not be all zeros");
      assertArrayEquals(e, actual.get(name), 1e-6 * scale, variant + " " + dtype + " " + name);
    }
  }

  /**
   * In the graph, each base weight's forward widening feeds its forward use only, and the backward
   * pass widens it again; after ONNX Runtime's optimisers (common-subexpression elimination among
   * them) the two widenings are still separate nodes.
   */
  @Test
  void backwardWidensTheWeightsAgain(@TempDir Path dir) {
    CausalLmConfig c = CausalLmGraphsGoldenTest.Golden.load("qwen2").config();
    Graph g =
        CausalLmGraphs.trainingChunked(
            c, LORA.withBaseDType(DType.BFLOAT16), Set.of(), false, 3, 9, false);
    Map<Value, Integer> consumers = new LinkedHashMap<>();
    for (Node n : g.nodes()) {
      n.inputs().forEach(v -> consumers.merge(v, 1, Integer::sum));
    }
    int layerWeights = 0;
    int widenings = 0;
    for (Node n : g.nodes()) {
      Value w = n.op() == Op.CAST ? n.input(0) : null;
      if (w != null
          && w.dtype() == DType.BFLOAT16
          && w.rank() == 2
          && w.name().contains("layers")) {
        widenings++;
        assertEquals(1, consumers.get(n.output(0)), "consumers of the forward widening of " + w);
      }
    }
    for (Value in : g.inputs()) {
      if (in.dtype() == DType.BFLOAT16 && in.rank() == 2 && in.name().contains("layers")) {
        layerWeights++;
      }
    }
    assertEquals(layerWeights, widenings, "one forward widening per layer weight");
    long backwardWidenings =
        g.nodes().stream()
            .filter(n -> n.op() == Op.CAST && g.producer(n.input(0)) != null)
            .filter(n -> g.producer(n.input(0)).op() == Op.RESHAPE)
            .filter(n -> g.producer(n.input(0)).input(0).dtype() == DType.BFLOAT16)
            .count();
    // the backward pass reads a weight where an input gradient flows through its projection: all
    // but the first layer's q, k and v, whose input (the normed embedding lookup) nothing trains
    assertEquals(layerWeights - 3, backwardWidenings, "backward widenings");

    int castsHalf = Ort.optimizedOpCounts(g, dir).getOrDefault("Cast", 0);
    int castsFloat =
        Ort.optimizedOpCounts(
                CausalLmGraphs.trainingChunked(c, LORA, Set.of(), false, 3, 9, false), dir)
            .getOrDefault("Cast", 0);
    System.out.printf(
        "Casts after optimisation: %d with a BF16 base, %d with a float32 base%n",
        castsHalf, castsFloat);
    assertTrue(
        castsHalf - castsFloat >= layerWeights + backwardWidenings,
        "after optimisation: "
            + castsHalf
            + " Casts against "
            + castsFloat
            + "; expected at least "
            + (layerWeights + backwardWidenings)
            + " more");
  }

  private static Map<String, double[]> run(
      Graph graph, Map<String, dev.im4j.onnx.graph.Tensor> in, List<String> outputs) {
    try (Ort ort = Ort.session(graph)) {
      return ort.run(in, outputs);
    }
  }
}
