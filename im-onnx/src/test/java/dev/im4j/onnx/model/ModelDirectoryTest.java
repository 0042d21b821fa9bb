package dev.im4j.onnx.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.onnx.graph.DType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelDirectoryTest {
  @TempDir Path tmp;

  private static final Map<String, byte[]> AUX =
      Map.of(
          "tokenizer.json", "{\"model\": {\"type\": \"BPE\"}}\n".getBytes(StandardCharsets.UTF_8),
          "tokenizer_config.json",
              "{\"chat_template\": \"{% for m in messages %}{{ m.content }}{% endfor %}\"}"
                  .getBytes(StandardCharsets.UTF_8),
          "generation_config.json", new byte[] {'{', '}', '\r', '\n'});

  private static List<String> listing(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void saveThenLoadIsBitExactForEachArchitecture() throws IOException {
    int n = 0;
    for (CausalLmConfig c :
        List.of(
            TinyConfigs.llama(), TinyConfigs.qwen2(), TinyConfigs.mistral(), TinyConfigs.gpt2())) {
      for (DType dtype : List.of(DType.FLOAT, DType.BFLOAT16, DType.FLOAT16)) {
        ModelDirectory model =
            ModelDirectory.of(c, CausalLmParameters.initialize(c, 11, dtype), AUX);
        Path dir = tmp.resolve("m" + n++);
        model.save(dir);
        ModelDirectory loaded = ModelDirectory.load(dir);
        assertEquals(model, loaded, c.modelType() + " " + dtype);
        assertEquals(
            List.of(
                "config.json",
                "generation_config.json",
                "model.safetensors",
                "tokenizer.json",
                "tokenizer_config.json"),
            listing(dir));
        assertArrayEquals(
            AUX.get("generation_config.json"),
            Files.readAllBytes(dir.resolve("generation_config.json")));
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
          assertEquals(Map.of("format", "pt"), f.metadata());
          assertTrue(f.tensors().stream().allMatch(t -> t.dtype() == dtype));
        }
      }
    }
    assertEquals(
        List.of("m0", "m1", "m10", "m11", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"),
        listing(tmp),
        "no temporary directories left");
  }

  @Test
  void withDtypeRoundsEveryWeightAndNamesItInTheConfig() throws IOException {
    CausalLmConfig c = TinyConfigs.llama();
    ModelDirectory f32 =
        ModelDirectory.of(c, CausalLmParameters.initialize(c, 3, DType.FLOAT), AUX);
    for (DType dtype : List.of(DType.BFLOAT16, DType.FLOAT16, DType.FLOAT)) {
      ModelDirectory narrowed = f32.withDtype(dtype);
      Path dir = tmp.resolve("as-" + dtype);
      narrowed.save(dir);
      ModelDirectory loaded = ModelDirectory.load(dir);
      String expected =
          dtype == DType.BFLOAT16 ? "bfloat16" : dtype == DType.FLOAT16 ? "float16" : "float32";
      assertEquals(java.util.Optional.of(expected), loaded.config().torchDtype());
      assertTrue(
          Files.readString(dir.resolve("config.json"))
              .contains("\"torch_dtype\": \"" + expected + "\""));
      assertEquals(AUX.keySet(), loaded.auxiliaryFileNames());
      for (Tensor t : f32.weights().tensors()) {
        Tensor stored = loaded.weights().get(t.name());
        assertEquals(dtype, stored.dtype(), t.name());
        for (int i = 0; i < t.numel(); i++) {
          assertEquals(
              HalfFloats.roundTo(dtype, t.get(i)), stored.get(i), t.name() + "[" + i + "]");
        }
      }
    }
    assertThrows(IllegalArgumentException.class, () -> f32.withDtype(DType.INT64));
  }

  @Test
  void shardedSaveLoads() throws IOException {
    CausalLmConfig c = TinyConfigs.llama();
    ModelDirectory model =
        ModelDirectory.of(c, CausalLmParameters.initialize(c, 5, DType.FLOAT), Map.of());
    Path dir = tmp.resolve("sharded");
    model.save(dir, 1000);
    List<String> files = listing(dir);
    assertTrue(files.contains("model.safetensors.index.json"), files.toString());
    assertFalse(files.contains("model.safetensors"));
    assertTrue(files.contains("model-00001-of-00006.safetensors"), files.toString());
    assertEquals(model, ModelDirectory.load(dir));
  }

  @Test
  void saveReplacesAnExistingDirectory() throws IOException {
    CausalLmConfig c = TinyConfigs.gpt2();
    Path dir = tmp.resolve("model");
    ModelDirectory first =
        ModelDirectory.of(c, CausalLmParameters.initialize(c, 1, DType.FLOAT), AUX);
    first.save(dir, 1000);
    assertTrue(listing(dir).contains("model.safetensors.index.json"));
    ModelDirectory second =
        ModelDirectory.of(c, CausalLmParameters.initialize(c, 2, DType.FLOAT), Map.of());
    second.save(dir);
    assertEquals(List.of("config.json", "model.safetensors"), listing(dir), "no stale shards");
    assertEquals(second, ModelDirectory.load(dir));
    assertEquals(List.of("model"), listing(tmp));
  }

  @Test
  void loadErrorsNameTheFile() throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("empty"));
    ModelConfigException noConfig =
        assertThrows(ModelConfigException.class, () -> ModelDirectory.load(dir));
    assertEquals(
        dir.resolve("config.json") + ": not found; a model directory needs config.json",
        noConfig.getMessage());
    TinyConfigs.llama().write(dir.resolve("config.json"));
    SafetensorsException noWeights =
        assertThrows(SafetensorsException.class, () -> ModelDirectory.load(dir));
    assertEquals(
        dir
            + ": has neither model.safetensors nor model.safetensors.index.json; save the weights first",
        noWeights.getMessage());
    // weights of another architecture
    Safetensors.write(
        dir.resolve("model.safetensors"),
        Map.of(),
        CausalLmParameters.initialize(TinyConfigs.mistral(), 1, DType.FLOAT));
    SafetensorsException mismatch =
        assertThrows(SafetensorsException.class, () -> ModelDirectory.load(dir));
    assertTrue(
        mismatch
            .getMessage()
            .startsWith(
                dir
                    + ": weights do not match config.json (llama, 2 layers); misshaped 4: [model.layers.0.self_attn.k_proj.weight is [2, 8], expected [4, 8]"),
        mismatch.getMessage());
  }

  @Test
  void indexNamingAMissingShardIsReported() throws IOException {
    CausalLmConfig c = TinyConfigs.llama();
    Path dir = tmp.resolve("model");
    ModelDirectory.of(c, CausalLmParameters.initialize(c, 5, DType.FLOAT), Map.of())
        .save(dir, 1000);
    Files.delete(dir.resolve("model-00002-of-00006.safetensors"));
    SafetensorsException e =
        assertThrows(SafetensorsException.class, () -> ModelDirectory.load(dir));
    assertTrue(
        e.getMessage()
            .contains("field \"weight_map\" names shard \"model-00002-of-00006.safetensors\""),
        e.getMessage());
    assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
  }

  @Test
  void auxiliaryNamesAreChecked() {
    CausalLmConfig c = TinyConfigs.gpt2();
    Weights w = CausalLmParameters.initialize(c, 1, DType.FLOAT);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> ModelDirectory.of(c, w, Map.of("x.bin", new byte[0])));
    assertTrue(
        e.getMessage().startsWith("auxiliary file x.bin is not one of [tokenizer.json"),
        e.getMessage());
  }
}
