package dev.im4j.onnx.train;

import java.nio.file.Path;

/** Receives progress from a {@link Trainer}, on the training thread; every method is optional. */
public interface TrainingListener {
  /** Once a run's native session is open, before its first step. */
  default void onStart(StartMetrics metrics) {}

  /** After each optimizer step. */
  default void onStep(StepMetrics metrics) {}

  /** After each evaluation. */
  default void onEval(EvalMetrics metrics) {}

  /** After a checkpoint directory is complete and renamed into place. */
  default void onCheckpoint(long step, Path directory) {}

  /**
   * Where a run's time before its first step went, in seconds.
   *
   * @param graphSeconds building the training graph (forward, loss, backward)
   * @param artifactsSeconds writing the training, eval and optimizer models and the initial
   *     checkpoint, and reading the checkpoint back for the weights' norm
   * @param sessionSeconds ONNX Runtime opening the training session on them
   */
  record StartMetrics(double graphSeconds, double artifactsSeconds, double sessionSeconds) {}

  /**
   * One optimizer step.
   *
   * @param step 1-based number of optimizer steps done
   * @param epoch 0-based epoch of the step's first example
   * @param loss the step loss {@code Σ c · nll} over its micro-batches
   * @param learningRate the rate the step used
   * @param targetWeight Σ of the loss weights of the step's predicted targets
   * @param targets positions the step trains; 0 means the step had no target (loss 0, no gradient)
   */
  record StepMetrics(
      String type,
      long step,
      int epoch,
      double loss,
      float learningRate,
      double targetWeight,
      long targets) {}

  /**
   * A held-out evaluation: token-mean loss over the whole held-out set under the output-only (IT)
   * and the instruction-modelling (IM) policy.
   */
  record EvalMetrics(String type, long step, double outputOnlyLoss, double instructionLoss) {}
}
