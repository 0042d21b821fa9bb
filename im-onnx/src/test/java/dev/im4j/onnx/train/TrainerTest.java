package dev.im4j.onnx.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.core.collate.Batch;
import dev.im4j.core.collate.Collator;
import dev.im4j.core.collate.CollatorConfig;
import dev.im4j.core.loss.Reduction;
import dev.im4j.core.loss.StepCoefficients;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.mask.TokenClass;
import dev.im4j.core.mask.TokenizedExample;
import dev.im4j.onnx.model.Tensor;
import dev.im4j.onnx.runtime.RuntimeOptions;
import dev.im4j.onnx.train.checkpoint.TrainingCheckpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class TrainerTest {
  static final int V = 13;
  static final int H = 6;

  @TempDir Path dir;

  static Trainer.Builder tiny(List<TokenizedExample> data, Path out) {
    return Trainer.builder(TinyCausalLm.of(V, H, false, 5), Examples.classified(data), out)
        .collator(CollatorConfig.of(16))
        .adamW(AdamWConfig.defaults().withLearningRate(0.05f))
        .schedule(new LearningRateSchedule(LearningRateSchedule.Kind.CONSTANT, 0))
        .runtimeOptions(RuntimeOptions.defaults().withThreads(1, 1));
  }

  /** A listener that throws {@code stop} when step {@code step} ends: a run killed there. */
  static TrainingListener stopAt(long step, RuntimeException stop) {
    return new TrainingListener() {
      @Override
      public void onStep(StepMetrics m) {
        if (m.step() == step) {
          throw stop;
        }
      }
    };
  }

  static List<TokenizedExample> data(int n, long seed) {
    return Examples.random(LossPolicy.instructionModelling(), n, V, seed);
  }

  @Test
  void lossDecreasesAndMetricsAreWritten() throws IOException {
    List<Double> losses = new ArrayList<>();
    Trainer.Result r =
        tiny(data(8, 1), dir)
            .batch(4, 1)
            .maxSteps(30)
            .evaluation(Examples.classified(data(4, 2)), 10)
            .listener(
                new TrainingListener() {
                  @Override
                  public void onStep(StepMetrics m) {
                    losses.add(m.loss());
                  }
                })
            .build()
            .run();
    assertEquals(30, r.steps());
    assertTrue(losses.get(29) < 0.7 * losses.get(0), "loss should fall but was " + losses);
    List<String> lines = Files.readAllLines(dir.resolve("metrics.jsonl"));
    assertEquals(33, lines.size());
    assertTrue(lines.get(0).contains("\"type\":\"train\""), lines.get(0));
    assertTrue(lines.get(10).contains("\"type\":\"eval\""), lines.get(10));
  }

  /** Invariant 15: one step over 4 rows equals 4 x 1 and 2 x 2 accumulated micro-batches. */
  @ParameterizedTest
  @EnumSource(
      value = Reduction.class,
      names = {"SEQUENCE_MEAN", "TOKEN_MEAN"})
  void accumulationInvariance(Reduction reduction) {
    List<TokenizedExample> d = data(8, 3);
    float[][] reference = null;
    for (int[] split : new int[][] {{4, 1}, {2, 2}, {1, 4}}) {
      Path out = dir.resolve(reduction + "-" + split[0]);
      TrainingCheckpoint w =
          tiny(d, out)
              .reduction(reduction)
              .shuffle(false)
              .batch(split[0], split[1])
              .maxSteps(3)
              .build()
              .run()
              .weights();
      float[][] flat = w.trainable().stream().map(Tensor::toArray).toArray(float[][]::new);
      if (reference == null) {
        reference = flat;
      } else {
        for (int p = 0; p < flat.length; p++) {
          assertArrayEquals(reference[p], flat[p], 2e-5f, "split " + split[0] + " param " + p);
        }
      }
    }
  }

  /**
   * Padded, grouped-by-length and packed layouts of the same steps give the same weights (the tiny
   * LM does not mix positions, so only the loss normalisation or the micro-batch an example lands
   * in could make a difference, and neither may).
   */
  @Test
  void layoutsGiveEqualWeights() {
    List<TokenizedExample> d = data(8, 9);
    // The data's lengths differ, so grouping does reorder rows (and change the micro-batches).
    CollatorConfig padded = CollatorConfig.builder(24).groupByLength(false).build();
    CollatorConfig grouped = CollatorConfig.of(24);
    assertTrue(
        Collator.of(padded).collate(d, 2).batches().get(0).segmentExampleId(0)
            != Collator.of(grouped).collate(d, 2).batches().get(0).segmentExampleId(0));
    float[][] reference = null;
    for (String layout : new String[] {"padded", "grouped", "packed"}) {
      TrainingCheckpoint w =
          tiny(d, dir.resolve(layout))
              .collator(
                  CollatorConfig.builder(24)
                      .packing(layout.equals("packed"))
                      .groupByLength(!layout.equals("padded"))
                      .build())
              .batch(2, 2)
              .maxSteps(3)
              .build()
              .run()
              .weights();
      float[][] flat = w.trainable().stream().map(Tensor::toArray).toArray(float[][]::new);
      if (reference == null) {
        reference = flat;
      } else {
        for (int p = 0; p < flat.length; p++) {
          assertArrayEquals(reference[p], flat[p], 2e-5f, layout + ", param " + p);
        }
      }
    }
  }

  /**
   * Invariant 16: a step with no target has loss 0 and, with weight decay 0, no update. The set's
   * only example with a target comes after the two steps (a set without any target is refused).
   */
  @Test
  void stepWithoutTargetChangesNothing() {
    List<TokenizedExample> d = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      int[] ids = {2 + i % 3, 3, 4, 5};
      byte[] classes = new byte[4];
      java.util.Arrays.fill(classes, (byte) TokenClass.TEMPLATE.ordinal());
      d.add(new TokenizedExample(ids, new float[4], classes, new int[] {-1, -1, -1, -1}));
    }
    d.add(data(1, 99).get(0));
    List<Double> losses = new ArrayList<>();
    Trainer.Result r =
        tiny(d, dir)
            .batch(3, 1)
            .shuffle(false)
            .maxSteps(2)
            .listener(
                new TrainingListener() {
                  @Override
                  public void onStep(StepMetrics m) {
                    losses.add(m.loss());
                  }
                })
            .build()
            .run();
    assertEquals(List.of(0.0, 0.0), losses);
    TinyCausalLm model = TinyCausalLm.of(V, H, false, 5);
    for (Tensor t : model.initialWeights()) {
      assertEquals(t, r.weights().parameter(t.name()).orElseThrow());
    }
  }

  /** Invariant 20: stopped after step 4 and resumed, the run ends bit-identical. */
  @Test
  void resumeGivesIdenticalWeights() throws IOException {
    List<TokenizedExample> d = data(10, 4);
    Trainer.Result whole =
        tiny(d, dir.resolve("whole")).batch(2, 2).maxSteps(7).neftuneAlpha(5).build().run();
    Path out = dir.resolve("resumed");
    RuntimeException stop = new RuntimeException("stop");
    RuntimeException thrown =
        assertThrows(
            RuntimeException.class,
            () ->
                tiny(d, out)
                    .batch(2, 2)
                    .maxSteps(7)
                    .neftuneAlpha(5)
                    .checkpoints(2, 1)
                    .listener(stopAt(5, stop))
                    .build()
                    .run());
    assertEquals(stop, thrown);
    assertEquals(
        List.of(out.resolve("checkpoints").resolve("step-00000004")),
        new CheckpointStore(out.resolve("checkpoints"), 1).list());
    IllegalArgumentException changed =
        assertThrows(
            IllegalArgumentException.class,
            () -> tiny(d, out).batch(1, 2).maxSteps(7).resume(true).build().run());
    assertTrue(changed.getMessage().contains("same"), changed.getMessage());
    IllegalArgumentException otherFormula =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                tiny(d, out)
                    .batch(2, 2)
                    .maxSteps(7)
                    .neftuneAlpha(5)
                    .adamW(
                        AdamWConfig.defaults()
                            .withLearningRate(0.05f)
                            .withVariant(AdamWConfig.Variant.HUGGING_FACE_LEGACY))
                    .resume(true)
                    .build()
                    .run());
    assertTrue(
        otherFormula
            .getMessage()
            .contains("adamW: the checkpoint's run had TORCH, this run has HUGGING_FACE_LEGACY"),
        otherFormula.getMessage());
    List<Long> resumedSteps = new ArrayList<>();
    Trainer.Result resumed =
        tiny(d, out)
            .batch(2, 2)
            .maxSteps(7)
            .neftuneAlpha(5)
            .checkpoints(2, 1)
            .resume(true)
            .listener(
                new TrainingListener() {
                  @Override
                  public void onStep(StepMetrics m) {
                    resumedSteps.add(m.step());
                  }
                })
            .build()
            .run();
    assertEquals(List.of(5L, 6L, 7L), resumedSteps);
    List<String> metrics = Files.readAllLines(out.resolve("metrics.jsonl"));
    assertEquals(7, metrics.size(), "one line per step, none repeated: " + metrics);
    for (int i = 0; i < 7; i++) {
      assertTrue(metrics.get(i).contains("\"step\":" + (i + 1) + ","), metrics.get(i));
    }
    assertEquals(whole.weights().trainable(), resumed.weights().trainable());
    assertEquals(whole.weights().optimizerGroups(), resumed.weights().optimizerGroups());
  }

  /** Invariant 22: a NaN/Inf loss stops with the step named; the last good checkpoint stays. */
  @Test
  void nonFiniteLossStopsAndKeepsLastGoodCheckpoint() {
    TrainingDivergedException e =
        assertThrows(
            TrainingDivergedException.class,
            () ->
                tiny(data(6, 5), dir)
                    .batch(2, 1)
                    .maxSteps(10)
                    .adamW(AdamWConfig.defaults().withLearningRate(1e38f))
                    .divergence(DivergenceLimits.off()) // the NaN guard alone
                    .checkpoints(1, 3)
                    .build()
                    .run());
    assertTrue(e.getMessage().contains("step " + e.step()), e.getMessage());
    List<Path> kept = new CheckpointStore(dir.resolve("checkpoints"), 3).list();
    assertEquals(e.step() - 1, CheckpointStore.stepOf(kept.get(kept.size() - 1)));
    TrainingCheckpoint.read(kept.get(kept.size() - 1).resolve(CheckpointStore.ORT_CHECKPOINT));
  }

  /** Invariant 18: evaluation sees no noise: its IT loss equals plain Java with zero noise. */
  @Test
  void evaluationIsNoiseFreeTokenMean() {
    List<TokenizedExample> heldOut = data(5, 6);
    List<TrainingListener.EvalMetrics> evals = new ArrayList<>();
    Trainer.Result r =
        tiny(data(6, 7), dir)
            .batch(3, 1)
            .maxSteps(2)
            .neftuneAlpha(5)
            .evaluation(Examples.classified(heldOut), 2)
            .listener(
                new TrainingListener() {
                  @Override
                  public void onEval(EvalMetrics m) {
                    evals.add(m);
                  }
                })
            .build()
            .run();
    TinyLmReference ref = new TinyLmReference(TinyCausalLm.of(V, H, false, 5));
    for (Tensor t : r.weights().trainable()) {
      ref.params.put(t.name(), t.toArray());
    }
    double[] expected = new double[2];
    List<LossPolicy> policies = List.of(LossPolicy.outputOnly(), LossPolicy.instructionModelling());
    for (int p = 0; p < 2; p++) {
      List<TokenizedExample> set = new ArrayList<>();
      for (TokenizedExample e : heldOut) {
        set.add(policies.get(p).reweigh(e));
      }
      List<Batch> batches = Collator.of(CollatorConfig.of(16)).collate(set, 3).batches();
      StepCoefficients c = StepCoefficients.of(Reduction.TOKEN_MEAN, batches);
      for (int m = 0; m < batches.size(); m++) {
        expected[p] += ref.accumulate(batches.get(m), c.forBatch(m), null);
      }
    }
    assertEquals(1, evals.size());
    assertEquals(expected[0], evals.get(0).outputOnlyLoss(), 1e-4);
    assertEquals(expected[1], evals.get(0).instructionLoss(), 1e-4);
    assertTrue(expected[0] != expected[1]);
  }
}
