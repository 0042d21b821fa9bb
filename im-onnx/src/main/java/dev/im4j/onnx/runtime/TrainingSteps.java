package dev.im4j.onnx.runtime;

import java.util.List;

/**
 * The training steps both runtimes take, {@link TrainingApiRuntime} and {@link PortableRuntime}:
 * gradient accumulation over k micro-batches is {@link #lazyResetGrad}, k {@link #trainStep}s, one
 * {@link #optimizerStep}.
 */
public interface TrainingSteps extends AutoCloseable {
  /** The user inputs a training step takes (the rest are the runtime's own). */
  List<String> trainInputNames();

  /** Sets the learning rate of the following optimizer steps; finite and {@code >= 0}. */
  void setLearningRate(float learningRate);

  /** Makes the next {@link #trainStep} replace the accumulated gradients instead of adding. */
  void lazyResetGrad();

  /**
   * One micro-batch: its gradients added to the accumulated ones; returns its loss.
   *
   * @param inputs one tensor per name of {@link #trainInputNames()}, any order
   */
  float trainStep(List<HostTensor> inputs);

  /** AdamW with the accumulated gradients, then counts the step. */
  void optimizerStep();

  @Override
  void close();
}
