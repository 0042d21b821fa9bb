package dev.im4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.im4j.core.data.DatasetFormat;
import dev.im4j.core.data.DatasetReader;
import dev.im4j.core.data.OnError;
import dev.im4j.core.mask.ExampleEncoder;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.template.ChatTemplates;
import dev.im4j.core.tokenizer.HfTokenizer;
import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.model.CausalLmConfig;
import dev.im4j.onnx.model.CausalLmParameters;
import dev.im4j.onnx.model.LoraAdapter;
import dev.im4j.onnx.model.LoraConfig;
import dev.im4j.onnx.model.ModelDirectory;
import dev.im4j.onnx.train.FineTune;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's Java snippet, as written there, on a tiny seeded model: it trains the policy it is
 * given (the first step trains exactly the targets that policy selects), and leaves a Hugging Face
 * directory that loads.
 */
class ReadmeSnippetTest {
  @TempDir static Path dir;
  static Path modelDir;
  static Path dataFile;

  @BeforeAll
  static void tinyModelAndData() throws IOException {
    CausalLmConfig config =
        CausalLmConfig.parse(
            "{\"model_type\": \"llama\", \"vocab_size\": 32000, \"hidden_size\": 16,"
                + " \"intermediate_size\": 32, \"num_hidden_layers\": 1,"
                + " \"num_attention_heads\": 2, \"num_key_value_heads\": 1,"
                + " \"max_position_embeddings\": 256, \"tie_word_embeddings\": true}",
            "test");
    modelDir = dir.resolve("tiny-model");
    Map<String, byte[]> tokenizer =
        Map.of(
            "tokenizer.json", resource("tokenizer.json"),
            "tokenizer_config.json", resource("tokenizer_config.json"));
    ModelDirectory.of(config, CausalLmParameters.initialize(config, 7, DType.FLOAT), tokenizer)
        .save(modelDir);
    dataFile = dir.resolve("train.jsonl");
    List<String> rows = new ArrayList<>();
    for (String w : new String[] {"dog", "cat", "tree", "river"}) {
      rows.add(
          "{\"instruction\": \"Define the noun \\\""
              + w
              + "\\\" in one short sentence, as a dictionary would.\", \"output\": \"A "
              + w
              + ".\"}");
    }
    Files.write(dataFile, rows);
  }

  private static byte[] resource(String name) throws IOException {
    try (InputStream in =
        ReadmeSnippetTest.class
            .getClassLoader()
            .getResourceAsStream("im4j/demo/tokenizer/" + name)) {
      return in.readAllBytes();
    }
  }

  /** Targets of the whole data set under {@code policy}, counted on the data side alone. */
  private static long targets(LossPolicy policy) {
    long n = 0;
    try (HfTokenizer tokenizer = HfTokenizer.load(modelDir);
        DatasetReader reader =
            DatasetReader.open(dataFile, DatasetFormat.AUTO, OnError.FAIL_FAST)) {
      ExampleEncoder encoder =
          ExampleEncoder.of(
              ChatTemplates.resolve(null, modelDir, tokenizer.specialTokens()), tokenizer);
      while (reader.hasNext()) {
        n += policy.weigh(encoder.encode(reader.next()).example()).targetCount();
      }
    }
    return n;
  }

  /** The README's snippet with {@code policy} in it; returns the first step's target count. */
  private static long readmeSnippet(LossPolicy policy, Path out) throws IOException {
    Path model = modelDir;
    Path data = dataFile;
    // --- as in the README
    FineTune.Result result = FineTune.of(model, data, policy, out).run();
    System.out.println("trained model in " + result.model());
    // ---
    assertEquals(2, result.training().steps()); // 2 epochs of one step (4 examples < 128)
    assertEquals(16, ModelDirectory.load(result.model()).config().hiddenSize());
    assertTrue(Files.isRegularFile(result.model().resolve("tokenizer.json")));
    String first = Files.readAllLines(out.resolve("metrics.jsonl")).get(0);
    return new ObjectMapper().readTree(first).get("targets").asLong();
  }

  @Test
  void askingForItTrainsItAndAskingForImTrainsIm() throws IOException {
    long it = targets(LossPolicy.outputOnly());
    long im = targets(LossPolicy.instructionModelling());
    assertNotEquals(it, im, "the data must tell the two policies apart");
    assertEquals(it, readmeSnippet(LossPolicy.outputOnly(), dir.resolve("it")));
    assertEquals(im, readmeSnippet(LossPolicy.instructionModelling(), dir.resolve("im")));
  }

  @Test
  void loraWritesThePeftAdapterAndTheMergedModel() {
    FineTune.Result r =
        FineTune.of(modelDir, dataFile, LossPolicy.instructionModelling(), dir.resolve("lora"))
            .lora(LoraConfig.of(2))
            .run();
    Path adapter = r.adapter().orElseThrow();
    assertEquals(dir.resolve("lora/adapter"), adapter);
    ModelDirectory merged = ModelDirectory.load(r.model());
    LoraAdapter loaded = LoraAdapter.load(adapter, merged.config());
    assertEquals(2, loaded.lora().rank());
    assertTrue(Files.isRegularFile(r.model().resolve("tokenizer.json")));
    assertTrue(
        FineTune.of(modelDir, dataFile, LossPolicy.outputOnly(), dir.resolve("full"))
            .trainer(b -> b.maxSteps(1))
            .run()
            .adapter()
            .isEmpty());
  }

  @Test
  void aSecondPolicyInTheTrainerOptionsIsRefused() {
    FineTune conflicting =
        FineTune.of(modelDir, dataFile, LossPolicy.instructionModelling(), dir.resolve("both"))
            .trainer(b -> b.lossPolicy(LossPolicy.outputOnly()));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, conflicting::run);
    assertTrue(e.getMessage().contains("pass the policy to FineTune.of only"), e.getMessage());
  }
}
