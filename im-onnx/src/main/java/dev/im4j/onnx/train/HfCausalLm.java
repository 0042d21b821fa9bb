package dev.im4j.onnx.train;

import static com.google.common.base.Preconditions.checkArgument;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.model.CausalLmConfig;
import dev.im4j.onnx.model.CausalLmGraphs;
import dev.im4j.onnx.model.CausalLmParameters;
import dev.im4j.onnx.model.LoraConfig;
import dev.im4j.onnx.model.Tensor;
import dev.im4j.onnx.model.Weights;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * A Hugging Face causal LM (LLaMA family or GPT-2, see {@link CausalLmGraphs}) as a trainer model:
 * its training graph with the NEFTune input and its weights, trained in float32.
 *
 * <p><b>Chunked loss.</b> By default the trainer's graph ({@link #trainingGraph(Set, int)}) runs
 * the LM head, the loss and the head's backward over blocks of {@link #lossChunk()} positions
 * ({@link CausalLmGraphs#trainingChunked}), so the {@code [B, T, V]} logits and their gradient are
 * never materialised whole: the head's tensors hold {@code B · chunk · V} elements instead of
 * {@code B · T · V}. Loss and gradients equal the full-logits graph's up to float summation order.
 * {@link #withLossChunk withLossChunk(0)} selects the full-logits graph.
 */
public final class HfCausalLm implements CausalLmSource {
  /**
   * Default positions per loss block: 64. A block's head and loss then hold about {@code 4 · B · 64
   * · V} floats for a micro-batch of B rows (33 MB per row at V = 32k) instead of the whole {@code
   * [B, T, V]} logits; docs/benchmarks.md records the peak memory this saves at the same speed.
   */
  public static final int DEFAULT_LOSS_CHUNK = 64;

  private final CausalLmConfig config;
  private final Weights weights;
  private final int lossChunk;
  private final LoraConfig lora; // null: full fine-tuning
  private final Weights adapters; // null without lora

  private HfCausalLm(
      CausalLmConfig config, Weights weights, int lossChunk, LoraConfig lora, Weights adapters) {
    this.config = config;
    this.weights = weights;
    this.lossChunk = lossChunk;
    this.lora = lora;
    this.adapters = adapters;
  }

  /**
   * A model of {@code config} starting from {@code weights} (any float dtype; trained in float32),
   * with the loss chunked in blocks of {@link #DEFAULT_LOSS_CHUNK} positions.
   *
   * @throws IllegalArgumentException if the weights do not match the config
   */
  public static HfCausalLm of(CausalLmConfig config, Weights weights) {
    checkArgument(config != null && weights != null, "config and weights must be non-null");
    return new HfCausalLm(
        config,
        CausalLmParameters.validate(config, weights, "initial weights"),
        DEFAULT_LOSS_CHUNK,
        null,
        null);
  }

  /**
   * This model with the LM head and loss computed in blocks of {@code positions} positions per row;
   * 0 computes the full {@code [B, T, V]} logits at once.
   *
   * @throws IllegalArgumentException if {@code positions < 0}
   */
  public HfCausalLm withLossChunk(int positions) {
    checkArgument(
        positions >= 0, "loss chunk must be >= 0 (0 = full logits) but was %s", positions);
    return new HfCausalLm(config, weights, positions, lora, adapters);
  }

  /**
   * This model with LoRA adapters on the projections {@code lora} targets, starting from {@code
   * adapterWeights} (fresh ones from {@link LoraConfig#initialize}, or a PEFT adapter's): the
   * trainer then trains the adapters only, and the base weights, frozen, get no gradient and no
   * optimizer state.
   *
   * @throws IllegalArgumentException if the adapter weights do not match {@code lora} on this model
   */
  public HfCausalLm withLora(LoraConfig lora, Weights adapterWeights) {
    checkArgument(lora != null, "lora must not be null");
    Weights checked = lora.validate(config, adapterWeights, "initial adapters");
    return new HfCausalLm(config, weights, lossChunk, lora, checked);
  }

  /** The LoRA adapters' configuration, if this model trains adapters. */
  public Optional<LoraConfig> lora() {
    return Optional.ofNullable(lora);
  }

  /** For a LoRA model, every base parameter (only its adapters train); none otherwise. */
  @Override
  public Set<String> frozenParameters() {
    return lora == null ? Set.of() : Set.copyOf(weights.names());
  }

  /** The model's configuration. */
  public CausalLmConfig config() {
    return config;
  }

  /** Positions per loss block; 0 means full logits. */
  public int lossChunk() {
    return lossChunk;
  }

  /**
   * The full-logits training graph ({@link CausalLmGraphs#training}): without a sequence length
   * there is no block count for the chunked graph.
   */
  @Override
  public TrainingGraph trainingGraph(Set<String> frozen) {
    return trainingGraph(frozen, Integer.MAX_VALUE, true, false, true);
  }

  /**
   * The chunked-loss training graph for rows of up to {@code maxSeqLen} positions ({@code
   * ceil(maxSeqLen / lossChunk)} blocks; longer rows are still correct, their excess goes to the
   * last block); the full-logits graph when {@link #lossChunk()} is 0 or {@code maxSeqLen <=
   * lossChunk()} (one block would be the same computation).
   */
  @Override
  public TrainingGraph trainingGraph(Set<String> frozen, int maxSeqLen) {
    return trainingGraph(frozen, maxSeqLen, true);
  }

  /**
   * As {@link #trainingGraph(Set, int)}; without the noise input if {@code embeddingNoise} is off.
   */
  @Override
  public TrainingGraph trainingGraph(Set<String> frozen, int maxSeqLen, boolean embeddingNoise) {
    return trainingGraph(frozen, maxSeqLen, embeddingNoise, false);
  }

  /**
   * As {@link #trainingGraph(Set, int, boolean)}, recomputing each decoder layer's forward pass in
   * the backward pass if {@code gradientCheckpointing}.
   */
  @Override
  public TrainingGraph trainingGraph(
      Set<String> frozen, int maxSeqLen, boolean embeddingNoise, boolean gradientCheckpointing) {
    return trainingGraph(frozen, maxSeqLen, embeddingNoise, gradientCheckpointing, false);
  }

  private TrainingGraph trainingGraph(
      Set<String> frozen,
      int maxSeqLen,
      boolean embeddingNoise,
      boolean gradientCheckpointing,
      boolean fullLogits) {
    checkArgument(maxSeqLen > 0, "maxSeqLen must be > 0 but was %s", maxSeqLen);
    Set<String> all = new HashSet<>(frozen);
    all.addAll(frozenParameters());
    Graph graph;
    if (fullLogits || lossChunk == 0 || maxSeqLen <= lossChunk) {
      graph =
          lora == null
              ? CausalLmGraphs.training(config, frozen, embeddingNoise, gradientCheckpointing)
              : CausalLmGraphs.training(
                  config, lora, frozen, embeddingNoise, gradientCheckpointing);
    } else {
      graph =
          lora == null
              ? CausalLmGraphs.trainingChunked(
                  config, frozen, embeddingNoise, lossChunk, maxSeqLen, gradientCheckpointing)
              : CausalLmGraphs.trainingChunked(
                  config,
                  lora,
                  frozen,
                  embeddingNoise,
                  lossChunk,
                  maxSeqLen,
                  gradientCheckpointing);
    }
    return TrainingGraph.fromOutputs(graph, CausalLmGraphs.LOSS, CausalLmGraphs.GRAD_SUFFIX, all);
  }

  /** The base weights, then the adapters if any; float32 (the same values, not a copy). */
  @Override
  public List<Tensor> initialWeights() {
    List<Tensor> out = new ArrayList<>(weights.withDtype(DType.FLOAT).tensors());
    if (adapters != null) {
      out.addAll(adapters.withDtype(DType.FLOAT).tensors());
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

  /** The fields of the model's {@code config.json}, as it would be written. */
  @Override
  public Map<String, String> identity() {
    Map<String, String> fields = new TreeMap<>();
    try {
      JsonNode json = new ObjectMapper().readTree(config.toJson());
      json.properties().forEach(e -> fields.put(e.getKey(), e.getValue().toString()));
      if (lora != null) {
        fields.put("lora", lora.toString());
      }
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("CausalLmConfig.toJson wrote invalid JSON", e);
    }
    return fields;
  }
}
