package dev.im4j.onnx.train;

import dev.im4j.onnx.model.Tensor;
import dev.im4j.onnx.runtime.PortableRuntime;
import dev.im4j.onnx.train.checkpoint.OptimizerGroup;
import dev.im4j.onnx.train.checkpoint.ParameterOptimizerState;
import dev.im4j.onnx.train.checkpoint.TrainingCheckpoint;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A {@link PortableRuntime}'s state in ONNX Runtime's training checkpoint form (the same group,
 * step and moment names the training-API runtime writes), so that a checkpoint of either runtime is
 * one format.
 */
final class PortableState {
  private PortableState() {}

  /**
   * The runtime's parameters and, if {@code withOptimizerState}, its step and AdamW moments. The
   * tensors read the runtime's buffers: write the checkpoint before the next optimizer step.
   */
  static TrainingCheckpoint checkpoint(
      PortableRuntime rt, float initialLearningRate, boolean withOptimizerState) {
    Set<String> trainableNames = Set.copyOf(rt.trainableNames());
    List<Tensor> trainable = new ArrayList<>();
    List<Tensor> frozen = new ArrayList<>();
    for (Tensor t : rt.parameters()) {
      (trainableNames.contains(t.name()) ? trainable : frozen).add(t);
    }
    TrainingCheckpoint parameters = TrainingCheckpoint.of(trainable, frozen);
    if (!withOptimizerState) {
      return parameters;
    }
    List<ParameterOptimizerState> states = new ArrayList<>();
    for (String name : rt.trainableNames()) {
      states.add(
          new ParameterOptimizerState(
              name,
              List.of(
                  rt.optimizerMoment(name, 0).withName(ParameterOptimizerState.FIRST_MOMENT),
                  rt.optimizerMoment(name, 1).withName(ParameterOptimizerState.SECOND_MOMENT))));
    }
    return parameters.withOptimizerGroups(
        List.of(
            new OptimizerGroup(
                OptimizerGroup.DEFAULT_NAME, rt.step(), initialLearningRate, states)));
  }
}
