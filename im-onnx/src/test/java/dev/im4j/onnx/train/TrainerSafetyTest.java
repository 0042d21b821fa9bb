package dev.im4j.onnx.train;

import static dev.im4j.onnx.train.TrainerTest.V;
import static dev.im4j.onnx.train.TrainerTest.data;
import static dev.im4j.onnx.train.TrainerTest.tiny;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.core.collate.CollatorConfig;
import dev.im4j.core.mask.ClassifiedExample;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.mask.TokenClass;
import dev.im4j.core.mask.TokenizedExample;
import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.model.CausalLmConfig;
import dev.im4j.onnx.model.CausalLmParameters;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the trainer refuses: other runs' folders and checkpoints, data that trains nothing,
 * divergence.
 */
class TrainerSafetyTest {
  @TempDir Path dir;

  @Test
  void aPreviousRunIsNeitherReplacedNorContinuedUnasked() throws IOException {
    List<TokenizedExample> d = data(6, 1);
    tiny(d, dir).batch(2, 1).maxSteps(2).build().run();
    IllegalArgumentException again =
        assertThrows(
            IllegalArgumentException.class,
            () -> tiny(d, dir).batch(2, 1).maxSteps(2).build().run());
    assertTrue(again.getMessage().contains("holds a previous run"), again.getMessage());

    // overwrite: a fresh run, the old metrics are not appended to
    tiny(d, dir).batch(2, 1).maxSteps(3).overwrite(true).build().run();
    assertEquals(3, Files.readAllLines(dir.resolve("metrics.jsonl")).size());
    assertEquals(
        List.of(dir.resolve("checkpoints/step-00000003")),
        new CheckpointStore(dir.resolve("checkpoints"), 2).list());

    Path empty = dir.resolve("empty");
    IllegalArgumentException none =
        assertThrows(
            IllegalArgumentException.class,
            () -> tiny(d, empty).batch(2, 1).maxSteps(2).resume(true).build().run());
    assertTrue(none.getMessage().contains("holds no checkpoint"), none.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> tiny(d, dir).maxSteps(3).resume(true).overwrite(true).build().run());
  }

  @Test
  void checkpointsWhoseMomentsOrtCannotSaveAreRefusedBeforeAnyWork() throws IOException {
    // the Qwen2-0.5B shape: 494 M parameters, 3.7 GiB of AdamW moments; weights stay lazy
    Path config = dir.resolve("config.json");
    Files.writeString(
        config,
        "{\"model_type\": \"qwen2\", \"hidden_size\": 896, \"intermediate_size\": 4864,"
            + " \"num_attention_heads\": 14, \"num_hidden_layers\": 24,"
            + " \"num_key_value_heads\": 2, \"rms_norm_eps\": 1e-06, \"rope_theta\": 1000000.0,"
            + " \"tie_word_embeddings\": true, \"vocab_size\": 151936,"
            + " \"max_position_embeddings\": 32768}");
    CausalLmConfig c = CausalLmConfig.read(config);
    HfCausalLm model = HfCausalLm.of(c, CausalLmParameters.initialize(c, 1, DType.FLOAT));
    List<ClassifiedExample> examples = Examples.classified(data(4, 1));
    Path out = dir.resolve("out");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                Trainer.builder(model, examples, out)
                    .collator(CollatorConfig.of(16))
                    .batch(2, 1)
                    .maxSteps(2)
                    .checkpoints(1, 2)
                    .build()
                    .run());
    assertTrue(e.getMessage().contains("494032768 trainable parameters"), e.getMessage());
    assertTrue(e.getMessage().contains("3769 MiB of AdamW moments"), e.getMessage());
    assertFalse(Files.exists(out.resolve("artifacts")), "nothing was written");
  }

  @Test
  void aResumeWithOtherDataPolicyOrLearningRateIsRefusedNamingTheField() {
    List<TokenizedExample> d = data(6, 2);
    tiny(d, dir).batch(2, 1).maxSteps(4).checkpoints(2, 2).build().run();
    // Steps 3 and 4 are redone from the step-2 checkpoint in each attempt below.
    Path newest = dir.resolve("checkpoints/step-00000004");
    String otherData =
        assertThrows(
                IllegalArgumentException.class,
                () -> tiny(data(6, 3), dir).batch(2, 1).maxSteps(4).resume(true).build().run())
            .getMessage();
    assertTrue(otherData.contains("data.sha256: the checkpoint's run had "), otherData);
    assertTrue(otherData.contains(newest.toString()), otherData);
    String otherPolicy =
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    tiny(d, dir)
                        .lossPolicy(LossPolicy.outputOnly())
                        .batch(2, 1)
                        .maxSteps(4)
                        .resume(true)
                        .build()
                        .run())
            .getMessage();
    assertTrue(
        otherPolicy.contains(
            "policy: the checkpoint's run had LossPolicy[kind=INSTRUCTION_MODELLING"),
        otherPolicy);
    assertTrue(otherPolicy.contains("this run has LossPolicy[kind=OUTPUT_ONLY"), otherPolicy);
    String otherLr =
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    tiny(d, dir)
                        .adamW(AdamWConfig.defaults().withLearningRate(0.01f))
                        .batch(2, 1)
                        .maxSteps(4)
                        .resume(true)
                        .build()
                        .run())
            .getMessage();
    assertTrue(
        otherLr.contains("optimizer: the checkpoint's run had AdamWConfig[learningRate=0.05"),
        otherLr);
    assertTrue(otherLr.contains("this run has AdamWConfig[learningRate=0.01"), otherLr);
    // The same run resumes (from its finished checkpoint: nothing left to do).
    assertEquals(4, tiny(d, dir).batch(2, 1).maxSteps(4).resume(true).build().run().steps());
  }

  private static TokenizedExample templateOnly(int n) {
    int[] ids = new int[n];
    byte[] classes = new byte[n];
    for (int i = 0; i < n; i++) {
      ids[i] = 2 + i % (V - 2);
      classes[i] = (byte) TokenClass.TEMPLATE.ordinal();
    }
    return new TokenizedExample(ids, new float[n], classes, new int[n]);
  }

  @Test
  void aSetWithoutAnyTargetIsRefusedWithCountsPerCause() {
    List<TokenizedExample> d = new ArrayList<>(data(3, 4)); // targets after position 1
    d.add(templateOnly(5));
    d.add(templateOnly(6));
    TrainingDataException e =
        assertThrows(
            TrainingDataException.class,
            () -> tiny(d, dir).collator(CollatorConfig.of(1)).maxSteps(1).build().run());
    assertTrue(e.getMessage().contains("none of the 5 training examples"), e.getMessage());
    assertTrue(e.getMessage().contains("2 have none under the loss policy"), e.getMessage());
    assertTrue(
        e.getMessage().contains("3 lose all of theirs to truncation at max length 1"),
        e.getMessage());
    assertFalse(Files.exists(dir.resolve("checkpoints")), "refused before anything is written");
  }

  @Test
  void idsOutsideTheVocabularyAreRefused() {
    List<TokenizedExample> d = new ArrayList<>(data(2, 5));
    d.add(Examples.of(LossPolicy.instructionModelling(), new int[] {2, V}, new int[] {3}));
    TrainingDataException e =
        assertThrows(TrainingDataException.class, () -> tiny(d, dir).maxSteps(1).build().run());
    assertTrue(
        e.getMessage().contains("training example 2 has token id " + V + " at position 1"),
        e.getMessage());
  }

  @Test
  void stepMetricsCountTheTargets() {
    List<TokenizedExample> d = data(4, 6);
    long expected = d.stream().mapToLong(TokenizedExample::targetCount).sum();
    List<Long> targets = new ArrayList<>();
    tiny(d, dir)
        .batch(4, 1)
        .maxSteps(1)
        .listener(
            new TrainingListener() {
              @Override
              public void onStep(StepMetrics m) {
                targets.add(m.targets());
              }
            })
        .build()
        .run();
    assertEquals(List.of(expected), targets);
  }

  @Test
  void aStepWithoutTargetIsReportedInTheMetrics() throws IOException {
    List<TokenizedExample> d = new ArrayList<>(List.of(templateOnly(4), templateOnly(5)));
    d.addAll(data(2, 9));
    tiny(d, dir).batch(2, 1).shuffle(false).maxSteps(2).build().run();
    List<String> metrics = Files.readAllLines(dir.resolve("metrics.jsonl"));
    assertTrue(
        metrics.get(0).contains("\"loss\":0.0,") && metrics.get(0).contains("\"targets\":0"),
        metrics.get(0));
    assertFalse(metrics.get(1).contains("\"targets\":0"), metrics.get(1));
  }

  /** A learning rate that blows the weights up: no checkpoint with such weights is written. */
  @Test
  void explodingWeightsStopBeforeTheirCheckpointIsWritten() {
    TrainingDivergedException e =
        assertThrows(
            TrainingDivergedException.class,
            () ->
                tiny(data(6, 7), dir)
                    .batch(2, 1)
                    .maxSteps(10)
                    .adamW(AdamWConfig.defaults().withLearningRate(1e4f))
                    .checkpoints(1, 5)
                    .build()
                    .run());
    assertTrue(e.getMessage().contains("the weights' L2 norm grew from"), e.getMessage());
    assertTrue(e.getMessage().contains("this checkpoint was not written"), e.getMessage());
    assertTrue(new CheckpointStore(dir.resolve("checkpoints"), 5).list().isEmpty());
    assertTrue(e.getMessage().contains("No checkpoint from before the divergence"), e.getMessage());
  }

  /** Weights that grow step by step: the checkpoints before the threshold stay and are named. */
  @Test
  void theLastGoodCheckpointIsNamed() {
    TrainingDivergedException e =
        assertThrows(
            TrainingDivergedException.class,
            () ->
                tiny(data(6, 8), dir)
                    .batch(2, 1)
                    .maxSteps(20)
                    .adamW(AdamWConfig.defaults().withLearningRate(0.3f))
                    .checkpoints(1, 50)
                    .divergence(new DivergenceLimits(3, 2, 20))
                    .build()
                    .run());
    List<Path> kept = new CheckpointStore(dir.resolve("checkpoints"), 50).list();
    assertTrue(e.step() > 1, e.getMessage());
    assertEquals(e.step() - 1, CheckpointStore.stepOf(kept.get(kept.size() - 1)));
    assertTrue(
        e.getMessage()
            .contains(
                "The last checkpoint from before the divergence is " + kept.get(kept.size() - 1)),
        e.getMessage());
  }

  @Test
  void lossRuleComparesTheRecentMeanWithTheFirstSteps() {
    LossRiseRule rule = new LossRiseRule(new DivergenceLimits(100, 2, 3));
    // First window (1, 2, 3): mean 2. From step 6 the last three steps' mean is compared with
    // 2 x 2 = 4: (2, 2, 5) = 3, (2, 5, 5) = 4 (not above), (5, 5, 5) = 5 (above).
    double[] losses = {1, 2, 3, 2, 2, 5, 5, 5};
    List<OptionalDouble> out = new ArrayList<>();
    for (double l : losses) {
      out.add(rule.add(l));
    }
    for (int i = 0; i < 7; i++) {
      assertEquals(OptionalDouble.empty(), out.get(i), "step " + (i + 1));
    }
    assertEquals(5.0, out.get(7).orElseThrow(), 1e-12);
    assertEquals(2.0, rule.firstMean(), 1e-12);
  }
}
