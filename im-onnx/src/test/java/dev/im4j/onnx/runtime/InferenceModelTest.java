package dev.im4j.onnx.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.im4j.onnx.model.CausalLmConfig;
import dev.im4j.onnx.model.ModelDirectory;
import dev.im4j.onnx.model.SafetensorsFile;
import dev.im4j.onnx.model.Weights;
import dev.im4j.onnx.testing.TestResources;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link InferenceModel} on the golden decoders of {@code model/graphs/generate_golden.py}: row 0
 * of {@code inputs.json} is one segment at positions 0..7, the layout {@code logits} feeds, so its
 * logits must equal PyTorch's row 0.
 */
final class InferenceModelTest {
  private static ModelDirectory golden(String variant) {
    String dir = "model/graphs/" + variant + "/";
    return ModelDirectory.of(
        CausalLmConfig.read(TestResources.path(dir + "config.json")),
        weights(dir + "model.safetensors"),
        Map.of());
  }

  private static Weights weights(String resource) {
    try (SafetensorsFile f = SafetensorsFile.open(TestResources.path(resource))) {
      return f.readAll();
    }
  }

  /** Row 0 of the golden input ids. */
  private static int[] firstRow() {
    JsonNode row = TestResources.json("model/graphs/inputs.json").get("input_ids").get(0);
    int[] ids = new int[row.size()];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = row.get(i).asInt();
    }
    return ids;
  }

  @ParameterizedTest
  @ValueSource(strings = {"llama", "qwen2", "gpt2"})
  void logitsOfOneSequenceEqualPyTorch(String variant) {
    int[] ids = firstRow();
    float[] expected =
        weights("model/graphs/" + variant + "/expected.safetensors")
            .get("logits")
            .toArray(); // [3, 8, V]; row 0 first
    try (InferenceModel model = InferenceModel.open(golden(variant))) {
      int vocab = model.vocabSize();
      float[][] logits = model.logits(ids); // [T, V]
      assertEquals(ids.length, logits.length);
      double scale = 0;
      for (int i = 0; i < ids.length * vocab; i++) {
        scale = Math.max(scale, Math.abs(expected[i]));
      }
      // The golden test's measure: relative error, floored at 1% of the largest magnitude.
      double worst = 0;
      for (int t = 0; t < ids.length; t++) {
        assertEquals(vocab, logits[t].length);
        for (int v = 0; v < vocab; v++) {
          double want = expected[t * vocab + v];
          double error = Math.abs(logits[t][v] - want) / Math.max(Math.abs(want), 0.01 * scale);
          worst = Math.max(worst, error);
        }
      }
      assertTrue(worst <= 1e-4, variant + " differs from PyTorch by " + worst);
      assertArrayEquals(logits[ids.length - 1], model.nextTokenLogits(ids));
      int[] prefix = {ids[0], ids[1], ids[2]};
      assertArrayEquals(
          logits[2], model.nextTokenLogits(prefix), 1e-5f, "causal: later ids unseen");
    }
  }

  @Test
  void rejectsEmptySequencesAndIdsOutsideTheVocabulary() {
    try (InferenceModel model = InferenceModel.open(golden("llama"))) {
      int vocab = model.vocabSize();
      IllegalArgumentException empty =
          assertThrows(IllegalArgumentException.class, () -> model.logits(new int[0]));
      assertEquals("ids must hold at least one token but was empty", empty.getMessage());
      IllegalArgumentException outside =
          assertThrows(IllegalArgumentException.class, () -> model.logits(new int[] {1, vocab}));
      assertEquals("ids[1] must be in [0, " + vocab + ") but was " + vocab, outside.getMessage());
      assertThrows(IllegalArgumentException.class, () -> model.nextTokenLogits(new int[] {-1}));
    }
  }

  @Test
  void closeIsIdempotentAndAClosedModelRefusesToRun() {
    InferenceModel model = InferenceModel.open(golden("llama"));
    java.nio.file.Path folder = model.folder();
    assertTrue(
        java.nio.file.Files.isRegularFile(folder.resolve("model.onnx.data")),
        "the weights are external data while the model is open");
    model.close();
    assertTrue(!java.nio.file.Files.exists(folder), "close deletes the export");
    model.close();
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> model.logits(new int[] {1}));
    assertEquals("the inference model is closed", e.getMessage());
  }
}
