package dev.im4j.onnx.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.onnx.graph.DType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class CausalLmParametersTest {

  private static List<String> described(CausalLmConfig c) {
    List<String> out = new ArrayList<>();
    for (ParameterSpec p : CausalLmParameters.expected(c)) {
      out.add(p.name() + " " + Arrays.toString(p.shape()));
    }
    return out;
  }

  private static List<String> llamaLayer(int i, boolean bias, int kv) {
    String l = "model.layers." + i + ".";
    List<String> out = new ArrayList<>();
    out.add(l + "input_layernorm.weight [8]");
    out.add(l + "self_attn.q_proj.weight [8, 8]");
    if (bias) {
      out.add(l + "self_attn.q_proj.bias [8]");
    }
    out.add(l + "self_attn.k_proj.weight [" + kv + ", 8]");
    if (bias) {
      out.add(l + "self_attn.k_proj.bias [" + kv + "]");
    }
    out.add(l + "self_attn.v_proj.weight [" + kv + ", 8]");
    if (bias) {
      out.add(l + "self_attn.v_proj.bias [" + kv + "]");
    }
    out.add(l + "self_attn.o_proj.weight [8, 8]");
    out.add(l + "post_attention_layernorm.weight [8]");
    out.add(l + "mlp.gate_proj.weight [12, 8]");
    out.add(l + "mlp.up_proj.weight [12, 8]");
    out.add(l + "mlp.down_proj.weight [8, 12]");
    return out;
  }

  @Test
  void llamaNames() {
    List<String> expected = new ArrayList<>();
    expected.add("model.embed_tokens.weight [11, 8]");
    expected.addAll(llamaLayer(0, false, 4));
    expected.addAll(llamaLayer(1, false, 4));
    expected.add("model.norm.weight [8]");
    expected.add("lm_head.weight [11, 8]");
    assertEquals(expected, described(TinyConfigs.llama()));
  }

  @Test
  void qwen2NamesHaveQkvBiasesAndNoHeadWhenTied() {
    List<String> expected = new ArrayList<>();
    expected.add("model.embed_tokens.weight [11, 8]");
    expected.addAll(llamaLayer(0, true, 4));
    expected.addAll(llamaLayer(1, true, 4));
    expected.add("model.norm.weight [8]");
    assertEquals(expected, described(TinyConfigs.qwen2()));
  }

  @Test
  void mistralNamesWithOneKvHead() {
    List<String> expected = new ArrayList<>();
    expected.add("model.embed_tokens.weight [11, 8]");
    expected.addAll(llamaLayer(0, false, 2));
    expected.addAll(llamaLayer(1, false, 2));
    expected.add("model.norm.weight [8]");
    expected.add("lm_head.weight [11, 8]");
    assertEquals(expected, described(TinyConfigs.mistral()));
  }

  @Test
  void gpt2NamesUseConv1dLayoutAndThePrefix() {
    List<String> expected = new ArrayList<>();
    expected.add("transformer.wte.weight [11, 8]");
    expected.add("transformer.wpe.weight [6, 8]");
    for (int i = 0; i < 2; i++) {
      String l = "transformer.h." + i + ".";
      expected.addAll(
          List.of(
              l + "ln_1.weight [8]",
              l + "ln_1.bias [8]",
              l + "attn.c_attn.weight [8, 24]",
              l + "attn.c_attn.bias [24]",
              l + "attn.c_proj.weight [8, 8]",
              l + "attn.c_proj.bias [8]",
              l + "ln_2.weight [8]",
              l + "ln_2.bias [8]",
              l + "mlp.c_fc.weight [8, 32]",
              l + "mlp.c_fc.bias [32]",
              l + "mlp.c_proj.weight [32, 8]",
              l + "mlp.c_proj.bias [8]"));
    }
    expected.add("transformer.ln_f.weight [8]");
    expected.add("transformer.ln_f.bias [8]");
    assertEquals(expected, described(TinyConfigs.gpt2()));
  }

  @Test
  void initializationIsSeededCompleteAndShaped() {
    CausalLmConfig c = TinyConfigs.qwen2();
    Weights a = CausalLmParameters.initialize(c, 7, DType.FLOAT);
    assertEquals(a, CausalLmParameters.initialize(c, 7, DType.FLOAT));
    assertNotEquals(a, CausalLmParameters.initialize(c, 8, DType.FLOAT));
    assertEquals(CausalLmParameters.expected(c).size(), a.size());
    assertEquals(a, CausalLmParameters.validate(c, a, "init"));
    float[] norm = a.get("model.norm.weight").toArray();
    float[] bias = a.get("model.layers.1.self_attn.k_proj.bias").toArray();
    for (float x : norm) {
      assertEquals(1f, x);
    }
    for (float x : bias) {
      assertEquals(0f, x);
    }
    float[] embed = a.get("model.embed_tokens.weight").toArray();
    double sum = 0;
    double sq = 0;
    for (float x : embed) {
      sum += x;
      sq += x * x;
    }
    double std = Math.sqrt(sq / embed.length - Math.pow(sum / embed.length, 2));
    assertTrue(std > 0.012 && std < 0.03, "std " + std);
    Weights bf16 = CausalLmParameters.initialize(c, 7, DType.BFLOAT16);
    for (float x : bf16.get("model.embed_tokens.weight").toArray()) {
      assertEquals(x, HalfFloats.bf16ToF32(HalfFloats.f32ToBf16(x)), "values representable");
    }
  }

  @Test
  void validationListsMissingUnexpectedAndMisshaped() {
    CausalLmConfig c = TinyConfigs.llama();
    List<Tensor> tensors =
        new ArrayList<>(CausalLmParameters.initialize(c, 1, DType.FLOAT).tensors());
    tensors.removeIf(
        t -> t.name().equals("lm_head.weight") || t.name().equals("model.norm.weight"));
    tensors.replaceAll(
        t ->
            t.name().equals("model.layers.0.mlp.up_proj.weight")
                ? Tensor.of(t.name(), DType.FLOAT, new long[] {8, 12}, t.toArray())
                : t);
    tensors.add(Tensor.of("model.extra", DType.FLOAT, new long[] {1}, new float[] {0}));
    SafetensorsException e =
        assertThrows(
            SafetensorsException.class,
            () -> CausalLmParameters.validate(c, Weights.of(tensors), "/models/x"));
    assertEquals(
        "/models/x: weights do not match config.json (llama, 2 layers); missing 2: [lm_head.weight,"
            + " model.norm.weight]; unexpected 1: [model.extra]; misshaped 1:"
            + " [model.layers.0.mlp.up_proj.weight is [8, 12], expected [12, 8]]; check that"
            + " config.json belongs to these weights",
        e.getMessage());
  }

  @Test
  void tiedHeadMayBePresentAndLegacyBuffersAreDropped() {
    CausalLmConfig c = TinyConfigs.gpt2();
    Weights init = CausalLmParameters.initialize(c, 3, DType.FLOAT);
    List<Tensor> unprefixed = new ArrayList<>();
    for (Tensor t : init.tensors()) {
      unprefixed.add(t.withName(t.name().substring("transformer.".length())));
    }
    unprefixed.add(Tensor.of("h.0.attn.bias", DType.FLOAT, new long[] {1, 1, 6, 6}, new float[36]));
    unprefixed.add(Tensor.of("h.1.attn.masked_bias", DType.FLOAT, new long[] {}, new float[1]));
    unprefixed.add(init.get("transformer.wte.weight").withName("lm_head.weight"));
    assertEquals(init, CausalLmParameters.validate(c, Weights.of(unprefixed), "gpt2"));
  }

  /** Parameter counts that transformers reports for the published models these configs copy. */
  @Test
  void parameterCountsMatchThePublishedModels() {
    assertEquals(124_439_808L, count("gpt2.json"));
    assertEquals(494_032_768L, count("qwen2-0.5b.json"));
    assertEquals(1_235_814_400L, count("llama-3.2-1b.json"));
    assertEquals(7_241_732_096L, count("mistral-7b-v0.1.json"));
  }

  private static long count(String config) {
    long n = 0;
    for (ParameterSpec p :
        CausalLmParameters.expected(CausalLmConfig.read(Fixtures.resource("configs/" + config)))) {
      n += p.numel();
    }
    return n;
  }
}
