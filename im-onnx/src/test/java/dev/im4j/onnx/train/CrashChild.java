package dev.im4j.onnx.train;

import dev.im4j.core.collate.CollatorConfig;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.onnx.runtime.RuntimeOptions;
import java.nio.file.Path;

/** The training run that {@link CrashSafetyTest} kills: a child JVM resuming from its folder. */
final class CrashChild {
  static final int STEPS = 160;

  private CrashChild() {}

  /**
   * The run in {@code out}: resumed from its newest checkpoint if it has one, else started afresh
   * (replacing the metrics of a run killed before its first checkpoint).
   */
  static Trainer.Builder trainer(Path out) {
    boolean hasCheckpoint = new CheckpointStore(out.resolve("checkpoints"), 2).latest().isPresent();
    return Trainer.builder(
            TinyCausalLm.of(17, 8, true, 3),
            Examples.classified(Examples.random(LossPolicy.instructionModelling(), 24, 17, 8)),
            out)
        .collator(CollatorConfig.of(16))
        .batch(2, 2)
        .maxSteps(STEPS)
        .neftuneAlpha(5)
        .adamW(AdamWConfig.defaults().withLearningRate(0.01f))
        .schedule(new LearningRateSchedule(LearningRateSchedule.Kind.COSINE, 0.1))
        .checkpoints(1, 2)
        .resume(hasCheckpoint)
        .overwrite(!hasCheckpoint)
        .runtimeOptions(RuntimeOptions.defaults().withThreads(1, 1));
  }

  /** Trains into {@code args[0]}, resuming from the newest checkpoint there. */
  public static void main(String[] args) {
    trainer(Path.of(args[0])).build().run();
  }
}
