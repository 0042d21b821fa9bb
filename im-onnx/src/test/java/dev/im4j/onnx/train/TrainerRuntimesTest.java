package dev.im4j.onnx.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.core.collate.CollatorConfig;
import dev.im4j.core.mask.ClassifiedExample;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.model.CausalLmConfig;
import dev.im4j.onnx.model.CausalLmParameters;
import dev.im4j.onnx.model.Tensor;
import dev.im4j.onnx.runtime.RuntimeOptions;
import dev.im4j.onnx.testing.Errors;
import dev.im4j.onnx.train.checkpoint.TrainingCheckpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * One trainer, two runtimes ({@link Trainer.Builder#runtime}): the same run on the portable runtime
 * ends within 1e-5 of the training API's (weights, losses, held-out losses), and a run checkpointed
 * on one runtime resumes on the other.
 */
class TrainerRuntimesTest {
  @TempDir Path dir;

  private static final List<ClassifiedExample> DATA =
      Examples.classified(Examples.random(LossPolicy.instructionModelling(), 12, 13, 21));
  private static final List<ClassifiedExample> HELD_OUT =
      Examples.classified(Examples.random(LossPolicy.instructionModelling(), 4, 13, 22));

  /** ε 1e-4: see PortableRuntimeDifferentialTest (GPT-2's key bias has a zero gradient). */
  private static Trainer.Builder run(String type, Path out, Trainer.Runtime runtime) {
    CausalLmConfig config = HfCausalLmTest.config(type);
    HfCausalLm lm = HfCausalLm.of(config, CausalLmParameters.initialize(config, 5, DType.FLOAT));
    return Trainer.builder(lm, DATA, out)
        .runtime(runtime)
        .collator(CollatorConfig.builder(24).packing(true).build())
        .batch(2, 2)
        .maxSteps(5)
        .shuffle(false)
        .maxGradNorm(1f)
        .adamW(new AdamWConfig(0.01f, 0.9f, 0.999f, 1e-4f, 0.01f))
        .evaluation(HELD_OUT, 5)
        .runtimeOptions(RuntimeOptions.defaults().withThreads(1, 1));
  }

  @ParameterizedTest
  @CsvSource({"llama", "gpt2"})
  void thePortableRuntimeTrainsLikeTheTrainingApi(String type) throws IOException {
    Trainer.Result api = run(type, dir.resolve("api"), Trainer.Runtime.TRAINING_API).build().run();
    Trainer.Result portable =
        run(type, dir.resolve("portable"), Trainer.Runtime.PORTABLE).build().run();
    assertClose(api.weights(), portable.weights(), type);
    assertEquals(api.lastLoss(), portable.lastLoss(), 1e-5 * Math.abs(api.lastLoss()));
    List<String> apiMetrics = Files.readAllLines(dir.resolve("api/metrics.jsonl"));
    List<String> portableMetrics = Files.readAllLines(dir.resolve("portable/metrics.jsonl"));
    assertEquals(apiMetrics.size(), portableMetrics.size(), "steps and evaluations");
    assertTrue(portableMetrics.get(portableMetrics.size() - 1).contains("instructionLoss"));
  }

  @ParameterizedTest
  @CsvSource({"TRAINING_API,PORTABLE", "PORTABLE,TRAINING_API"})
  void aCheckpointOfOneRuntimeResumesOnTheOther(Trainer.Runtime first, Trainer.Runtime second) {
    Trainer.Result whole = run("llama", dir.resolve("whole"), first).build().run();
    Path out = dir.resolve("resumed");
    RuntimeException stop = new RuntimeException("stop");
    RuntimeException thrown =
        assertThrows(
            RuntimeException.class,
            () ->
                run("llama", out, first)
                    .checkpoints(2, 1)
                    .listener(TrainerTest.stopAt(3, stop))
                    .build()
                    .run());
    assertEquals(stop, thrown);
    Trainer.Result resumed = run("llama", out, second).checkpoints(2, 1).resume(true).build().run();
    assertEquals(5, resumed.steps());
    assertClose(whole.weights(), resumed.weights(), first + " then " + second);
  }

  /** A finished run's final checkpoint holds no optimizer state; resuming it trains no step. */
  @ParameterizedTest
  @CsvSource({"TRAINING_API", "PORTABLE"})
  void resumingAFinishedRunTrainsNothingMore(Trainer.Runtime runtime) {
    Path out = dir.resolve("finished");
    Trainer.Result done = run("llama", out, Trainer.Runtime.TRAINING_API).build().run();
    List<Long> steps = new ArrayList<>();
    Trainer.Result again =
        run("llama", out, runtime)
            .resume(true)
            .listener(
                new TrainingListener() {
                  @Override
                  public void onStep(StepMetrics m) {
                    steps.add(m.step());
                  }
                })
            .build()
            .run();
    assertEquals(List.of(), steps);
    assertEquals(done.steps(), again.steps());
    assertClose(done.weights(), again.weights(), "resumed after the end on " + runtime);
  }

  @Test
  void portableLoraTrainsTheAdaptersOnly() {
    TrainingCheckpoint end = loraRun(Trainer.Runtime.PORTABLE, 0, "lora").weights();
    List<String> trainable = new ArrayList<>();
    end.trainable().forEach(t -> trainable.add(t.name()));
    assertEquals(2 * 7, trainable.size(), trainable.toString()); // one layer, A and B of 7
    assertTrue(trainable.stream().allMatch(n -> n.contains(".lora_")), trainable.toString());
  }

  /** With LoRA dropout the runtimes draw the same masks: they reach the same adapters. */
  @Test
  void loraDropoutTrainsAlikeOnBothRuntimes() {
    TrainingCheckpoint api = loraRun(Trainer.Runtime.TRAINING_API, 0.3, "api").weights();
    TrainingCheckpoint portable = loraRun(Trainer.Runtime.PORTABLE, 0.3, "portable").weights();
    assertClose(api, portable, "LoRA dropout 0.3");
  }

  private Trainer.Result loraRun(Trainer.Runtime runtime, double dropout, String out) {
    CausalLmConfig config = HfCausalLmTest.config("llama");
    HfCausalLm lm = HfCausalLm.of(config, CausalLmParameters.initialize(config, 5, DType.FLOAT));
    return Trainer.builder(lm, DATA, dir.resolve(out))
        .runtime(runtime)
        .lora(dev.im4j.onnx.model.LoraConfig.of(2).withDropout(dropout))
        .collator(CollatorConfig.builder(24).packing(true).build())
        .batch(2, 1)
        .maxSteps(3)
        .adamW(AdamWConfig.defaults().withLearningRate(0.05f))
        .runtimeOptions(RuntimeOptions.defaults().withThreads(1, 1))
        .build()
        .run();
  }

  /** Every parameter within 1e-5, norm-wise relative. */
  private static void assertClose(
      TrainingCheckpoint expected, TrainingCheckpoint actual, String at) {
    List<Tensor> all = new ArrayList<>(expected.trainable());
    all.addAll(expected.frozen());
    for (Tensor e : all) {
      double error =
          Errors.normwise(actual.parameter(e.name()).orElseThrow().toArray(), e.toArray());
      assertTrue(error <= 1e-5, at + ": " + e.name() + " differs by " + error);
    }
  }
}
