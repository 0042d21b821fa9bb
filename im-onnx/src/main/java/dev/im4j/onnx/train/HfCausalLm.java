package dev.im4j.onnx.train;

import static com.google.common.base.Preconditions.checkArgument;

import dev.im4j.onnx.model.CausalLmConfig;
import dev.im4j.onnx.model.CausalLmGraphs;
import dev.im4j.onnx.model.CausalLmParameters;
import dev.im4j.onnx.model.DType;
import dev.im4j.onnx.model.Tensor;
import dev.im4j.onnx.model.Weights;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A Hugging Face causal LM (LLaMA family or GPT-2, see {@link CausalLmGraphs}) as a trainer model:
 * its training graph with the NEFTune input and its weights, trained in float32.
 */
public final class HfCausalLm implements CausalLmSource {
  private final CausalLmConfig config;
  private final Weights weights;

  private HfCausalLm(CausalLmConfig config, Weights weights) {
    this.config = config;
    this.weights = CausalLmParameters.validate(config, weights, "initial weights");
  }

  /**
   * A model of {@code config} starting from {@code weights} (any float dtype; trained in float32).
   *
   * @throws IllegalArgumentException if the weights do not match the config
   */
  public static HfCausalLm of(CausalLmConfig config, Weights weights) {
    checkArgument(config != null && weights != null, "config and weights must be non-null");
    return new HfCausalLm(config, weights);
  }

  @Override
  public TrainingGraph trainingGraph(Set<String> frozen) {
    return TrainingGraph.fromOutputs(
        CausalLmGraphs.training(config, frozen, true),
        CausalLmGraphs.LOSS,
        CausalLmGraphs.GRAD_SUFFIX,
        frozen);
  }

  @Override
  public List<CheckpointTensor> initialWeights() {
    List<CheckpointTensor> out = new ArrayList<>();
    for (Tensor t : weights.withDtype(DType.F32).tensors()) {
      out.add(new CheckpointTensor(t.name(), t.shape(), t.toArray()));
    }
    return out;
  }

  @Override
  public int hiddenSize() {
    return config.hiddenSize();
  }

  @Override
  public int vocabSize() {
    return config.vocabSize();
  }
}
