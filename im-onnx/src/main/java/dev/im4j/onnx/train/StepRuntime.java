package dev.im4j.onnx.train;

import dev.im4j.onnx.runtime.HostTensor;
import dev.im4j.onnx.runtime.PortableRuntime;
import dev.im4j.onnx.runtime.TrainingApiRuntime;
import java.nio.file.Path;
import java.util.List;

/**
 * What a training run needs of a runtime, so that the {@link Trainer} drives ONNX Runtime's
 * training API ({@link TrainingApiRuntime}) and the {@link PortableRuntime} alike. Both keep their
 * checkpoints in ONNX Runtime's training checkpoint form, so a run resumes on either.
 */
interface StepRuntime extends AutoCloseable {
  /** The step graph's user inputs. */
  List<String> trainInputNames();

  void setLearningRate(float learningRate);

  /** Makes the next {@link #trainStep} replace the accumulated gradients. */
  void lazyResetGrad();

  /** One micro-batch: its gradients added to the accumulated ones; returns its loss. */
  float trainStep(List<HostTensor> inputs);

  /** AdamW with the accumulated gradients. */
  void optimizerStep();

  /** The eval graph's loss on one micro-batch, with the current parameters. */
  float evalLoss(List<HostTensor> inputs);

  /** Writes the parameters, and the optimizer state if asked, as a training checkpoint. */
  void saveCheckpoint(Path file, boolean optimizerState);

  @Override
  void close();

  static StepRuntime of(TrainingApiRuntime rt) {
    return new StepRuntime() {
      @Override
      public List<String> trainInputNames() {
        return rt.trainInputNames();
      }

      @Override
      public void setLearningRate(float learningRate) {
        rt.setLearningRate(learningRate);
      }

      @Override
      public void lazyResetGrad() {
        rt.lazyResetGrad();
      }

      @Override
      public float trainStep(List<HostTensor> inputs) {
        return rt.trainStep(inputs);
      }

      @Override
      public void optimizerStep() {
        rt.optimizerStep();
      }

      @Override
      public float evalLoss(List<HostTensor> inputs) {
        return rt.evalStep(inputs).values().iterator().next()[0];
      }

      @Override
      public void saveCheckpoint(Path file, boolean optimizerState) {
        rt.saveCheckpoint(file, optimizerState);
      }

      @Override
      public void close() {
        rt.close();
      }
    };
  }

  /** {@code initialLearningRate}: what the checkpoint's optimizer group records. */
  static StepRuntime of(PortableRuntime rt, float initialLearningRate) {
    return new StepRuntime() {
      @Override
      public List<String> trainInputNames() {
        return rt.trainInputNames();
      }

      @Override
      public void setLearningRate(float learningRate) {
        rt.setLearningRate(learningRate);
      }

      @Override
      public void lazyResetGrad() {
        rt.lazyResetGrad();
      }

      @Override
      public float trainStep(List<HostTensor> inputs) {
        return rt.trainStep(inputs);
      }

      @Override
      public void optimizerStep() {
        rt.optimizerStep();
      }

      @Override
      public float evalLoss(List<HostTensor> inputs) {
        return rt.evalStep(inputs);
      }

      @Override
      public void saveCheckpoint(Path file, boolean optimizerState) {
        // tensors streamed to the external data file, never built into a flatbuffer on the heap
        PortableState.checkpoint(rt, initialLearningRate, optimizerState)
            .write(file, TrainingArtifactsBuilder.DEFAULT_CHECKPOINT_EXTERNAL_THRESHOLD);
      }

      @Override
      public void close() {
        rt.close();
      }
    };
  }
}
