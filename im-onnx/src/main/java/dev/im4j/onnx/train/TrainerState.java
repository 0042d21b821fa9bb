package dev.im4j.onnx.train;

import static com.google.common.base.Preconditions.checkArgument;

/**
 * The trainer's position, saved beside the ORT checkpoint as {@code trainer_state.json}. The data
 * order of epoch {@code e} and the NEFTune noise of step {@code s} are pure functions of {@code
 * seed}, so this is the whole RNG state.
 *
 * @param step optimizer steps done (the next step is 0-based {@code step})
 * @param totalSteps steps of the whole run (the schedule's horizon)
 * @param epoch 0-based epoch of the next step
 * @param positionInEpoch index in the epoch's order of the next step's first example
 * @param seed the run's seed (data order, NEFTune noise, ORT)
 * @param baseLearningRate the schedule's peak rate
 * @param nextLearningRate the rate the next step will use (ORT does not store it)
 * @param adamW the AdamW formula the optimizer state was built with; null in files written before
 *     it was recorded (2026-11-28), which all used {@link AdamWConfig.Variant#HUGGING_FACE_LEGACY}
 * @param run what defines the run ({@link RunIdentity}); null in files written before it was
 *     recorded (2026-12-04), which are resumed without that check
 */
record TrainerState(
    long step,
    long totalSteps,
    int epoch,
    int positionInEpoch,
    long seed,
    float baseLearningRate,
    float nextLearningRate,
    AdamWConfig.Variant adamW,
    java.util.Map<String, String> run) {
  /** The formula of this state's optimizer, reading files from before it was recorded. */
  AdamWConfig.Variant adamWVariant() {
    return adamW == null ? AdamWConfig.Variant.HUGGING_FACE_LEGACY : adamW;
  }

  TrainerState {
    checkArgument(
        step >= 0 && step <= totalSteps, "step must be in [0, %s] but was %s", totalSteps, step);
    checkArgument(
        epoch >= 0 && positionInEpoch >= 0, "epoch %s, position %s", epoch, positionInEpoch);
    run =
        run == null
            ? null
            : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(run));
  }
}
