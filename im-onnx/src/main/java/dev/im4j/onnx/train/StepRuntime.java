package dev.im4j.onnx.train;

import dev.im4j.onnx.runtime.HostTensor;
import dev.im4j.onnx.runtime.PortableRuntime;
import dev.im4j.onnx.runtime.TrainingApiRuntime;
import dev.im4j.onnx.runtime.TrainingSteps;
import java.nio.file.Path;
import java.util.List;

/**
 * What a training run needs of a runtime, so that the {@link Trainer} drives ONNX Runtime's
 * training API ({@link TrainingApiRuntime}) and the {@link PortableRuntime} alike: their shared
 * {@link TrainingSteps}, plus an evaluation loss and a checkpoint, which each runtime provides its
 * own way. Both keep their checkpoints in ONNX Runtime's training checkpoint form, so a run resumes
 * on either.
 */
final class StepRuntime implements AutoCloseable {
  /** The eval graph's loss on one micro-batch, with the current parameters. */
  private interface EvalLoss {
    float of(List<HostTensor> inputs);
  }

  /** Writes the parameters, and the optimizer state if asked, as a training checkpoint. */
  private interface Checkpointer {
    void save(Path file, boolean optimizerState);
  }

  private final TrainingSteps steps;
  private final EvalLoss evalLoss;
  private final Checkpointer checkpointer;

  private StepRuntime(TrainingSteps steps, EvalLoss evalLoss, Checkpointer checkpointer) {
    this.steps = steps;
    this.evalLoss = evalLoss;
    this.checkpointer = checkpointer;
  }

  static StepRuntime of(TrainingApiRuntime rt) {
    return new StepRuntime(
        rt, inputs -> rt.evalStep(inputs).values().iterator().next()[0], rt::saveCheckpoint);
  }

  /** {@code initialLearningRate}: what the checkpoint's optimizer group records. */
  static StepRuntime of(PortableRuntime rt, float initialLearningRate) {
    return new StepRuntime(
        rt,
        rt::evalStep,
        // tensors streamed to the external data file, never built into a flatbuffer on the heap
        (file, optimizerState) ->
            PortableState.checkpoint(rt, initialLearningRate, optimizerState)
                .write(file, TrainingArtifactsBuilder.DEFAULT_CHECKPOINT_EXTERNAL_THRESHOLD));
  }

  /** The step graph's user inputs. */
  List<String> trainInputNames() {
    return steps.trainInputNames();
  }

  void setLearningRate(float learningRate) {
    steps.setLearningRate(learningRate);
  }

  /** Makes the next {@link #trainStep} replace the accumulated gradients. */
  void lazyResetGrad() {
    steps.lazyResetGrad();
  }

  /** One micro-batch: its gradients added to the accumulated ones; returns its loss. */
  float trainStep(List<HostTensor> inputs) {
    return steps.trainStep(inputs);
  }

  /** AdamW with the accumulated gradients. */
  void optimizerStep() {
    steps.optimizerStep();
  }

  /** The eval graph's loss on one micro-batch, with the current parameters. */
  float evalLoss(List<HostTensor> inputs) {
    return evalLoss.of(inputs);
  }

  /** Writes the parameters, and the optimizer state if asked, as a training checkpoint. */
  void saveCheckpoint(Path file, boolean optimizerState) {
    checkpointer.save(file, optimizerState);
  }

  @Override
  public void close() {
    steps.close();
  }
}
