package dev.im4j.onnx.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CausalLmConfigTest {
  @TempDir Path tmp;

  private static CausalLmConfig load(String name) {
    return CausalLmConfig.read(Fixtures.resource("configs/" + name));
  }

  /** The fixture with one field replaced (null value: removed). */
  private static String edited(String name, String field, Object value) {
    ObjectNode o = (ObjectNode) Fixtures.json("configs/" + name);
    if (value == null) {
      o.remove(field);
    } else {
      o.set(field, Fixtures.JSON.valueToTree(value));
    }
    return o.toString();
  }

  private static void fails(String json, String message) {
    ModelConfigException e =
        assertThrows(ModelConfigException.class, () -> CausalLmConfig.parse(json, "config.json"));
    assertEquals(message, e.getMessage());
  }

  @Test
  void llama32() {
    CausalLmConfig c = load("llama-3.2-1b.json");
    assertEquals(ModelType.LLAMA, c.modelType());
    assertEquals(128256, c.vocabSize());
    assertEquals(2048, c.hiddenSize());
    assertEquals(8192, c.intermediateSize());
    assertEquals(16, c.numLayers());
    assertEquals(32, c.numHeads());
    assertEquals(8, c.numKvHeads());
    assertEquals(64, c.headDim());
    assertEquals(131072, c.maxPositionEmbeddings());
    assertEquals(1e-5, c.normEps());
    assertEquals(500000.0, c.ropeTheta());
    assertEquals(Optional.of(new RopeScaling(32, 1, 4, 8192)), c.ropeScaling());
    assertTrue(c.tieWordEmbeddings());
    assertFalse(c.qkvBias());
    assertEquals(List.of(128000), c.bosTokenIds());
    assertEquals(List.of(128001, 128008, 128009), c.eosTokenIds());
    assertEquals(List.of(), c.padTokenIds());
    assertEquals(Optional.of("bfloat16"), c.torchDtype());
    assertEquals(Activation.SILU, c.hiddenAct());
    assertEquals(
        "{\"attention_dropout\":0.0,\"pretraining_tp\":1,\"transformers_version\":\"4.45.0.dev0\",\"use_cache\":true}",
        c.extraJson());
  }

  @Test
  void mistralQwen2Gpt2() {
    CausalLmConfig m = load("mistral-7b-v0.1.json");
    assertEquals(ModelType.MISTRAL, m.modelType());
    assertEquals(OptionalInt.of(4096), m.slidingWindow());
    assertEquals(128, m.headDim());
    assertFalse(m.tieWordEmbeddings());
    assertEquals(
        OptionalInt.empty(),
        CausalLmConfig.parse(
                edited("mistral-7b-v0.1.json", "sliding_window", "null-marker")
                    .replace("\"null-marker\"", "null"),
                "c")
            .slidingWindow());
    assertEquals(
        OptionalInt.of(4096),
        CausalLmConfig.parse(edited("mistral-7b-v0.1.json", "sliding_window", null), "c")
            .slidingWindow());

    CausalLmConfig q = load("qwen2-0.5b.json");
    assertEquals(ModelType.QWEN2, q.modelType());
    assertTrue(q.qkvBias());
    assertFalse(q.outputProjBias());
    assertEquals(64, q.headDim());
    assertEquals(2, q.numKvHeads());
    assertEquals(OptionalInt.empty(), q.slidingWindow());
    assertTrue(q.extraJson().contains("\"sliding_window\":131072"), q.extraJson());

    CausalLmConfig g = load("gpt2.json");
    assertEquals(ModelType.GPT2, g.modelType());
    assertEquals(768, g.hiddenSize());
    assertEquals(3072, g.intermediateSize());
    assertEquals(12, g.numLayers());
    assertEquals(12, g.numKvHeads());
    assertEquals(64, g.headDim());
    assertEquals(1024, g.maxPositionEmbeddings());
    assertEquals(Activation.GELU_NEW, g.hiddenAct());
    assertTrue(g.tieWordEmbeddings(), "GPT-2 ties by default");
    assertEquals(0.0, g.ropeTheta());
    assertTrue(g.extraJson().contains("\"n_ctx\":1024"));
  }

  @Test
  void defaultsWhenOptionalFieldsAreAbsent() {
    String minimal =
        "{\"model_type\":\"llama\",\"vocab_size\":100,\"hidden_size\":16,\"intermediate_size\":40,"
            + "\"num_hidden_layers\":2,\"num_attention_heads\":4}";
    CausalLmConfig c = CausalLmConfig.parse(minimal, "config.json");
    assertEquals(4, c.numKvHeads());
    assertEquals(4, c.headDim());
    assertEquals(2048, c.maxPositionEmbeddings());
    assertEquals(1e-6, c.normEps());
    assertEquals(10000.0, c.ropeTheta());
    assertFalse(c.tieWordEmbeddings());
    assertEquals(0.02, c.initializerRange());
    assertEquals("{}", c.extraJson());
    CausalLmConfig v5 =
        CausalLmConfig.parse(
            minimal.replace(
                "}",
                ",\"rope_parameters\":{\"rope_type\":\"default\",\"rope_theta\":5e5},\"dtype\":\"float16\"}"),
            "config.json");
    assertEquals(500000.0, v5.ropeTheta());
    assertEquals(Optional.empty(), v5.ropeScaling());
    assertEquals(Optional.of("float16"), v5.torchDtype());
  }

  @Test
  void toJsonRoundTrips() {
    for (String name :
        List.of("llama-3.2-1b.json", "mistral-7b-v0.1.json", "qwen2-0.5b.json", "gpt2.json")) {
      CausalLmConfig c = load(name);
      String json = c.toJson();
      assertEquals(c, CausalLmConfig.parse(json, name), name);
      JsonNode original = Fixtures.json("configs/" + name);
      JsonNode written =
          CausalLmConfig.parse(json, name).toJson().isEmpty() ? null : readTree(json);
      // every original field is written back with the same value (transformers would read the same)
      original
          .properties()
          .forEach(
              e ->
                  assertEquals(
                      e.getValue().toString().replace(".0,", ","),
                      written.get(e.getKey()).toString().replace(".0,", ","),
                      name + " " + e.getKey()));
    }
    Path file = tmp.resolve("config.json");
    load("gpt2.json").write(file);
    assertEquals(load("gpt2.json"), CausalLmConfig.read(file));
    assertTrue(
        load("gpt2.json").toJson().startsWith("{\n  \"activation_function\": \"gelu_new\",\n"));
  }

  private static JsonNode readTree(String json) {
    try {
      return Fixtures.JSON.readTree(json);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void errorsNameFileFieldAndValue() {
    String llama = "llama-3.2-1b.json";
    fails("[1]", "config.json: expected a JSON object at the top level");
    fails(
        "{",
        "config.json: not valid JSON: Unexpected end-of-input: expected close marker for Object (start marker at [Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: 1, column: 1])");
    fails(
        edited(llama, "model_type", "bert"),
        "config.json: field \"model_type\": unsupported value \"bert\"; supported: llama, mistral, qwen2, gpt2");
    fails(
        edited(llama, "model_type", null),
        "config.json: field \"model_type\": must be a string but is missing");
    fails(
        edited(llama, "hidden_size", null),
        "config.json: field \"hidden_size\": is required but missing");
    fails(
        edited(llama, "vocab_size", -5),
        "config.json: field \"vocab_size\": must be a positive integer below 2^31 but is -5");
    fails(
        edited(llama, "vocab_size", 1.5),
        "config.json: field \"vocab_size\": must be a positive integer below 2^31 but is 1.5");
    fails(
        edited(llama, "num_key_value_heads", 5),
        "config.json: field \"num_key_value_heads\": value 5 does not divide num_attention_heads (32); grouped-query attention needs a whole number of query heads per key/value head");
    fails(
        edited("mistral-7b-v0.1.json", "hidden_size", 4001),
        "config.json: field \"hidden_size\": value 4001 is not divisible by num_attention_heads (32); set head_dim or fix the sizes");
    fails(
        edited(llama, "rms_norm_eps", 0),
        "config.json: field \"rms_norm_eps\": must be a positive finite number but is 0");
    fails(
        edited(llama, "rope_theta", "big"),
        "config.json: field \"rope_theta\": must be a positive finite number but is \"big\"");
    fails(
        edited(llama, "rope_scaling", java.util.Map.of("rope_type", "yarn", "factor", 4.0)),
        "config.json: field \"rope_scaling.rope_type\": unsupported value \"yarn\"; supported: llama3");
    fails(
        edited(llama, "rope_scaling", java.util.Map.of("type", "linear", "factor", 4.0)),
        "config.json: field \"rope_scaling.type\": unsupported value \"linear\"; supported: llama3");
    fails(
        edited(llama, "rope_scaling", java.util.Map.of("rope_type", "llama3", "factor", 4.0)),
        "config.json: field \"rope_scaling.low_freq_factor\": is required for rope_type llama3 but missing");
    fails(
        edited(llama, "rope_scaling", 3),
        "config.json: field \"rope_scaling\": must be null or an object but is 3");
    fails(
        edited(llama, "hidden_act", "gelu"),
        "config.json: field \"hidden_act\": unsupported value \"gelu\"; supported: silu");
    fails(
        edited(llama, "mlp_bias", true),
        "config.json: field \"mlp_bias\": unsupported value true; supported: false");
    fails(
        edited(llama, "tie_word_embeddings", "yes"),
        "config.json: field \"tie_word_embeddings\": must be true or false but is \"yes\"");
    fails(
        edited(llama, "eos_token_id", List.of(1, -2)),
        "config.json: field \"eos_token_id\": must be a token id (integer >= 0) or a list of them but is [1,-2]");
    fails(
        edited(llama, "bos_token_id", 128256),
        "config.json: field \"bos_token_id\": value 128256 is outside the vocabulary [0, 128256)");
    fails(
        edited(llama, "torch_dtype", "int8"),
        "config.json: field \"torch_dtype\": unsupported value \"int8\"; supported: bfloat16, float16, float32");
    fails(
        edited("mistral-7b-v0.1.json", "attention_bias", true),
        "config.json: field \"attention_bias\": unsupported value true for model_type mistral; only llama takes it (mistral has none)");
    fails(
        edited("mistral-7b-v0.1.json", "sliding_window", 0),
        "config.json: field \"sliding_window\": must be a positive integer below 2^31 but is 0");
    fails(
        edited("qwen2-0.5b.json", "use_sliding_window", true),
        "config.json: field \"use_sliding_window\": unsupported value true; supported: false (Qwen2's per-layer windows are not implemented)");
    fails(
        edited("gpt2.json", "activation_function", "relu"),
        "config.json: field \"activation_function\": unsupported value \"relu\"; supported: gelu_new, gelu_pytorch_tanh");
    fails(
        edited("gpt2.json", "n_head", 7),
        "config.json: field \"n_embd\": value 768 is not divisible by n_head (7); fix the sizes");
    fails(
        edited("gpt2.json", "scale_attn_by_inverse_layer_idx", true),
        "config.json: field \"scale_attn_by_inverse_layer_idx\": unsupported value true; supported: false");
    fails(
        edited("gpt2.json", "layer_norm_epsilon", 2),
        "config.json: field \"layer_norm_epsilon\": value 2.0 must be in (0, 1), typically 1e-5 or 1e-6");
  }

  @Test
  void missingFileIsNamed() {
    Path missing = tmp.resolve("config.json");
    ModelConfigException e =
        assertThrows(ModelConfigException.class, () -> CausalLmConfig.read(missing));
    assertEquals(missing + ": not found; a model directory needs config.json", e.getMessage());
  }

  @Test
  void recordRejectsInconsistentValues() {
    CausalLmConfig c = load("qwen2-0.5b.json");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new CausalLmConfig(
                    c.modelType(),
                    c.vocabSize(),
                    c.hiddenSize(),
                    c.intermediateSize(),
                    c.numLayers(),
                    c.numHeads(),
                    3,
                    c.headDim(),
                    c.maxPositionEmbeddings(),
                    c.normEps(),
                    c.ropeTheta(),
                    c.ropeScaling(),
                    c.tieWordEmbeddings(),
                    c.attentionBias(),
                    c.slidingWindow(),
                    c.hiddenAct(),
                    c.bosTokenIds(),
                    c.eosTokenIds(),
                    c.padTokenIds(),
                    c.torchDtype(),
                    c.initializerRange(),
                    c.extraJson()));
    assertEquals("numKvHeads must be > 0 and divide numHeads (14) but was 3", e.getMessage());
  }
}
