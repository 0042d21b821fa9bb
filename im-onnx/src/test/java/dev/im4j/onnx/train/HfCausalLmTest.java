package dev.im4j.onnx.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.core.collate.CollatorConfig;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.onnx.model.CausalLmConfig;
import dev.im4j.onnx.model.CausalLmParameters;
import dev.im4j.onnx.model.DType;
import dev.im4j.onnx.runtime.RuntimeOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The LLaMA-family and GPT-2 graphs of CausalLmGraphs train through the Trainer. */
class HfCausalLmTest {
  @TempDir Path dir;

  static CausalLmConfig config(String type) {
    String json =
        switch (type) {
          case "llama" ->
              """
              {"model_type": "llama", "vocab_size": 13, "hidden_size": 8, "intermediate_size": 12,
               "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2,
               "max_position_embeddings": 32, "tie_word_embeddings": false}
              """;
          case "gpt2" ->
              """
              {"model_type": "gpt2", "vocab_size": 13, "n_embd": 8, "n_layer": 1, "n_head": 2,
               "n_positions": 32}
              """;
          default -> throw new IllegalArgumentException(type);
        };
    return CausalLmConfig.parse(json, "tiny-" + type);
  }

  @ParameterizedTest
  @ValueSource(strings = {"llama", "gpt2"})
  void trainsAndLossFalls(String type) {
    CausalLmConfig config = config(type);
    HfCausalLm model = HfCausalLm.of(config, CausalLmParameters.initialize(config, 3, DType.F32));
    List<Double> losses = new ArrayList<>();
    Trainer.Result r =
        Trainer.builder(model, Examples.random(LossPolicy.instructionModelling(), 4, 13, 4), dir)
            .collator(CollatorConfig.builder(24).packing(true).build())
            .batch(4, 1)
            .maxSteps(25)
            .adamW(AdamWConfig.defaults().withLearningRate(0.05f))
            .schedule(new LearningRateSchedule(LearningRateSchedule.Kind.CONSTANT, 0))
            .runtimeOptions(RuntimeOptions.defaults().withThreads(1, 1))
            .listener(
                new TrainingListener() {
                  @Override
                  public void onStep(StepMetrics m) {
                    losses.add(m.loss());
                  }
                })
            .build()
            .run();
    assertEquals(25, r.steps());
    double first = (losses.get(0) + losses.get(1) + losses.get(2)) / 3;
    double last = (losses.get(22) + losses.get(23) + losses.get(24)) / 3;
    assertTrue(last < 0.8 * first, type + " loss should fall: " + losses);
    assertEquals(
        CausalLmParameters.expected(config).size(),
        r.weights().trainable().size() + r.weights().frozen().size());
  }

  /** Invariant 15 on the LLaMA graph: 1 x 4 rows, 4 x 1 and packed give the same weights. */
  @org.junit.jupiter.api.Test
  void llamaAccumulationAndPackingInvariance() {
    CausalLmConfig config = config("llama");
    HfCausalLm model = HfCausalLm.of(config, CausalLmParameters.initialize(config, 5, DType.F32));
    var data = Examples.random(LossPolicy.instructionModelling(), 8, 13, 6);
    List<TrainingCheckpoint> results = new ArrayList<>();
    int k = 0;
    for (Object[] variant : new Object[][] {{4, 1, false}, {1, 4, false}, {2, 2, true}}) {
      results.add(
          Trainer.builder(model, data, dir.resolve("v" + k++))
              .collator(CollatorConfig.builder(24).packing((Boolean) variant[2]).build())
              .batch((Integer) variant[0], (Integer) variant[1])
              .shuffle(false)
              .maxSteps(2)
              .adamW(AdamWConfig.defaults().withLearningRate(0.01f))
              .runtimeOptions(RuntimeOptions.defaults().withThreads(1, 1))
              .build()
              .run()
              .weights());
    }
    for (CheckpointTensor t : results.get(0).trainable()) {
      for (int v = 1; v < results.size(); v++) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(
            t.data(),
            results.get(v).parameter(t.name()).orElseThrow().data(),
            2e-5f,
            t.name() + " variant " + v);
      }
    }
  }
}
