package dev.im4j.onnx.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@link LoraAdapter}'s PEFT directory: what it writes, that it reads it back, what it refuses. */
final class LoraAdapterTest {
  @TempDir Path dir;

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

  private static LoraAdapter random(LoraConfig lora, CausalLmConfig config, long seed) {
    Random random = new Random(seed);
    List<Tensor> tensors = new ArrayList<>();
    for (LoraConfig.Adapter a : lora.adapters(config)) {
      tensors.add(
          Tensor.of(
              a.aName(), new long[] {lora.rank(), a.in()}, floats(random, a.in() * lora.rank())));
      tensors.add(
          Tensor.of(
              a.bName(), new long[] {a.out(), lora.rank()}, floats(random, a.out() * lora.rank())));
    }
    return new LoraAdapter(lora, config, Weights.of(tensors));
  }

  private static float[] floats(Random random, long n) {
    float[] v = new float[Math.toIntExact(n)];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) random.nextGaussian();
    }
    return v;
  }

  @Test
  void savesPeftsFilesAndReadsThemBack() throws IOException {
    LoraConfig lora = LoraConfig.of(4).withAlpha(16).withRsLora(true).withDropout(0.05);
    LoraAdapter adapter = random(lora, LLAMA, 1);
    adapter.save(dir, "my/base-model");

    JsonNode config = new ObjectMapper().readTree(dir.resolve("adapter_config.json").toFile());
    assertEquals("LORA", config.get("peft_type").asText());
    assertEquals("CAUSAL_LM", config.get("task_type").asText());
    assertEquals("my/base-model", config.get("base_model_name_or_path").asText());
    assertEquals(4, config.get("r").asInt());
    assertEquals(16.0, config.get("lora_alpha").asDouble());
    assertTrue(config.get("use_rslora").asBoolean());
    assertEquals(0.05, config.get("lora_dropout").asDouble());
    assertEquals(7, config.get("target_modules").size());
    assertEquals("none", config.get("bias").asText());
    assertEquals(false, config.get("fan_in_fan_out").asBoolean());

    TreeSet<String> stored;
    try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("adapter_model.safetensors"))) {
      stored = new TreeSet<>(f.readAll().names());
    }
    assertEquals(2 * 2 * 7, stored.size());
    assertTrue(
        stored.contains("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"),
        stored.toString());

    LoraAdapter back = LoraAdapter.load(dir, LLAMA);
    assertEquals(lora.withTargets(LoraConfig.defaultTargets(ModelType.LLAMA)), back.lora());
    assertEquals(adapter.weights(), back.weights());
    assertEquals(4, back.lora().rank());
    assertEquals(16.0, back.lora().alpha());
    assertTrue(back.lora().rsLora());
    assertEquals(0.05, back.lora().dropout());
  }

  @Test
  void gpt2AdaptersSayFanInFanOut() throws IOException {
    random(LoraConfig.of(2), GPT2, 2).save(dir, "gpt2");
    JsonNode config = new ObjectMapper().readTree(dir.resolve("adapter_config.json").toFile());
    assertTrue(config.get("fan_in_fan_out").asBoolean());
    assertEquals(
        random(LoraConfig.of(2), GPT2, 2).weights(), LoraAdapter.load(dir, GPT2).weights());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "\"peft_type\": \"LORA\"|\"peft_type\": \"IA3\"|field \"peft_type\" must be \"LORA\" but is \"IA3\"",
        "\"use_dora\": false|\"use_dora\": true|field \"use_dora\" DoRA is not supported but is true",
        "\"bias\": \"none\"|\"bias\": \"all\"|field \"bias\" only \"none\" but is \"all\"",
        "\"modules_to_save\": null|\"modules_to_save\": [\"lm_head\"]|field \"modules_to_save\" extra trained modules are not supported"
      })
  void unsupportedConfigurationsAreRefusedNamingFileAndField(
      String written, String replaced, String message) throws IOException {
    random(LoraConfig.of(2), LLAMA, 3).save(dir, "base");
    Path file = dir.resolve("adapter_config.json");
    String json = Files.readString(file).replace(written.replace("\": ", "\" : "), replaced);
    Files.writeString(file, json);
    ModelConfigException e =
        assertThrows(ModelConfigException.class, () -> LoraAdapter.load(dir, LLAMA));
    assertTrue(e.getMessage().startsWith(file + ": " + message), e.getMessage());
  }

  @Test
  void aFolderWithoutAnAdapterIsNamed() {
    ModelConfigException e =
        assertThrows(ModelConfigException.class, () -> LoraAdapter.load(dir, LLAMA));
    assertEquals(
        dir.resolve("adapter_config.json")
            + ": not found; a PEFT adapter directory holds adapter_config.json and"
            + " adapter_model.safetensors",
        e.getMessage());
  }

  @Test
  void aRegexTargetAndAdaptersOfAnotherModelAreRefused() throws IOException {
    random(LoraConfig.of(2), LLAMA, 4).save(dir, "base");
    Path file = dir.resolve("adapter_config.json");
    String json = Files.readString(file);
    int start = json.indexOf("\"target_modules\"");
    int end = json.indexOf(']', start) + 1;
    Files.writeString(
        file, json.substring(0, start) + "\"target_modules\": \".*proj\"" + json.substring(end));
    ModelConfigException regex =
        assertThrows(ModelConfigException.class, () -> LoraAdapter.load(dir, LLAMA));
    assertTrue(
        regex.getMessage().contains("\"target_modules\" must be a list"), regex.getMessage());

    random(LoraConfig.of(2), LLAMA, 4).save(dir, "base");
    CausalLmConfig wider =
        CausalLmConfig.parse(
            "{\"model_type\": \"llama\", \"vocab_size\": 50, \"hidden_size\": 32,"
                + " \"intermediate_size\": 24, \"num_hidden_layers\": 2,"
                + " \"num_attention_heads\": 4, \"num_key_value_heads\": 2}",
            "wider");
    SafetensorsException other =
        assertThrows(SafetensorsException.class, () -> LoraAdapter.load(dir, wider));
    assertTrue(other.getMessage().contains("misshaped"), other.getMessage());
  }
}
