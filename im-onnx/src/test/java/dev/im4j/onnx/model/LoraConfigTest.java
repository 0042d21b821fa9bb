package dev.im4j.onnx.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.onnx.graph.DType;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link LoraConfig}: PEFT's defaults, scaling, the adapted modules and their initialisation. */
final class LoraConfigTest {
  private static final CausalLmConfig LLAMA =
      CausalLmConfig.parse(
          "{\"model_type\": \"llama\", \"vocab_size\": 50, \"hidden_size\": 16,"
              + " \"intermediate_size\": 24, \"num_hidden_layers\": 2,"
              + " \"num_attention_heads\": 4, \"num_key_value_heads\": 2}",
          "test");
  private static final CausalLmConfig GPT2 =
      CausalLmConfig.parse(
          "{\"model_type\": \"gpt2\", \"vocab_size\": 50, \"n_embd\": 16, \"n_inner\": 24,"
              + " \"n_layer\": 1, \"n_head\": 4, \"n_positions\": 32}",
          "test");

  @Test
  void defaultsArePefts() {
    LoraConfig lora = LoraConfig.defaults();
    assertEquals(8, lora.rank());
    assertEquals(8.0, lora.alpha());
    assertFalse(lora.rsLora());
    assertEquals(1.0, lora.scaling());
    assertEquals(
        List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
        lora.targets(ModelType.LLAMA));
    assertEquals(List.of("c_attn", "c_proj", "c_fc"), lora.targets(ModelType.GPT2));
  }

  /**
   * The base's dtype defaults to float32, is kept by every other setter, tells configs apart (so a
   * resume with another one is refused) and accepts floating types only.
   */
  @Test
  void theBaseDTypeIsFloatByDefaultAndHalfOnRequest() {
    assertEquals(DType.FLOAT, LoraConfig.defaults().baseDType());
    LoraConfig half = LoraConfig.of(4).withBaseDType(DType.BFLOAT16).withAlpha(2);
    assertEquals(DType.BFLOAT16, half.withDropout(0.1).baseDType());
    assertFalse(half.equals(LoraConfig.of(4).withAlpha(2)));
    assertEquals(half, LoraConfig.of(4).withAlpha(2).withBaseDType(DType.BFLOAT16));
    assertTrue(half.toString().contains("base=BFLOAT16"), half.toString());
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> LoraConfig.of(4).withBaseDType(DType.INT64));
    assertTrue(e.getMessage().contains("INT64"), e.getMessage());
  }

  @Test
  void scalingIsAlphaOverRankOrOverItsRootWithRsLora() {
    assertEquals(2.0, LoraConfig.of(16).withAlpha(32).scaling());
    assertEquals(8.0, LoraConfig.of(16).withAlpha(32).withRsLora(true).scaling());
  }

  @Test
  void llamaAdaptersHaveLinearShapesPerProjection() {
    List<LoraConfig.Adapter> adapters = LoraConfig.of(4).adapters(LLAMA);
    assertEquals(2 * 7, adapters.size());
    assertEquals(
        new LoraConfig.Adapter("model.layers.0.self_attn.q_proj", 16, 16), adapters.get(0));
    assertEquals(new LoraConfig.Adapter("model.layers.0.self_attn.k_proj", 16, 8), adapters.get(1));
    assertEquals(new LoraConfig.Adapter("model.layers.0.mlp.down_proj", 24, 16), adapters.get(6));
    assertEquals("model.layers.1.mlp.up_proj.lora_A.weight", adapters.get(12).aName());
    assertEquals("model.layers.1.mlp.up_proj.lora_B.weight", adapters.get(12).bName());
  }

  @Test
  void theParameterCountIsThatOfTheAdapters() {
    LoraConfig lora = LoraConfig.of(4);
    // per layer q, k, v, o: 4 · (16 + 16, 16 + 8, 16 + 8, 16 + 16); gate, up, down: 4 · (16 + 24)
    assertEquals(2 * (128 + 96 + 96 + 128 + 3 * 160), lora.parameterCount(LLAMA));
    assertEquals(lora.initialize(LLAMA, 1).parameterCount(), lora.parameterCount(LLAMA));
  }

  @Test
  void gpt2AdaptersReadConv1dWeightsAsInByOutAndCProjMatchesBoth() {
    List<LoraConfig.Adapter> adapters = LoraConfig.of(4).adapters(GPT2);
    assertEquals(
        List.of(
            new LoraConfig.Adapter("transformer.h.0.attn.c_attn", 16, 48),
            new LoraConfig.Adapter("transformer.h.0.attn.c_proj", 16, 16),
            new LoraConfig.Adapter("transformer.h.0.mlp.c_fc", 16, 24),
            new LoraConfig.Adapter("transformer.h.0.mlp.c_proj", 24, 16)),
        adapters);
  }

  @Test
  void targetsMatchByNameSuffixOrFullName() {
    assertEquals(
        List.of(
            new LoraConfig.Adapter("model.layers.0.self_attn.v_proj", 16, 8),
            new LoraConfig.Adapter("model.layers.1.self_attn.q_proj", 16, 16),
            new LoraConfig.Adapter("model.layers.1.self_attn.v_proj", 16, 8)),
        LoraConfig.of(2)
            .withTargets(List.of("v_proj", "model.layers.1.self_attn.q_proj"))
            .adapters(LLAMA));
  }

  @Test
  void aTargetThatMatchesNoProjectionIsRefusedNamingTheProjections() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> LoraConfig.of(2).withTargets(List.of("q_proj", "lm_head")).adapters(LLAMA));
    assertEquals(
        "LoRA targets [lm_head] match no projection of this llama model; its"
            + " projections are [down_proj, gate_proj, k_proj, o_proj, q_proj, up_proj, v_proj]",
        e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> LoraConfig.of(0));
    assertThrows(IllegalArgumentException.class, () -> LoraConfig.of(2).withAlpha(0));
    assertThrows(IllegalArgumentException.class, () -> LoraConfig.of(2).withTargets(List.of(" ")));
  }

  @Test
  void freshAdaptersAreKaimingUniformAAndZeroBSeeded() {
    LoraConfig lora = LoraConfig.of(4);
    Weights w = lora.initialize(LLAMA, 7);
    assertEquals(2 * 2 * 7, w.names().size());
    float[] a = w.get("model.layers.0.mlp.down_proj.lora_A.weight").toArray(); // [4, 24]
    assertArrayEquals(
        new long[] {4, 24}, w.get("model.layers.0.mlp.down_proj.lora_A.weight").shape());
    double bound = 1 / Math.sqrt(24);
    double min = Double.MAX_VALUE;
    double max = -Double.MAX_VALUE;
    for (float v : a) {
      assertTrue(Math.abs(v) <= bound, v + " outside ±1/√in");
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    assertTrue(max - min > bound, "spread over the range, not constant: " + min + ".." + max);
    float[] b = w.get("model.layers.0.mlp.down_proj.lora_B.weight").toArray(); // [16, 4]
    assertArrayEquals(new float[16 * 4], b);
    assertArrayEquals(
        a, lora.initialize(LLAMA, 7).get("model.layers.0.mlp.down_proj.lora_A.weight").toArray());
    assertFalse(
        Arrays.equals(
            a,
            lora.initialize(LLAMA, 8).get("model.layers.0.mlp.down_proj.lora_A.weight").toArray()),
        "another seed, other values");
    assertFalse(
        Arrays.equals(
            w.get("model.layers.0.self_attn.q_proj.lora_A.weight").toArray(),
            w.get("model.layers.1.self_attn.q_proj.lora_A.weight").toArray()),
        "each tensor its own generator");
  }
}
