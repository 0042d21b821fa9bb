package dev.im4j.onnx.model;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The architecture hyper-parameters of a causal language model, read from and written to a Hugging
 * Face {@code config.json} ({@code model_type} llama, mistral, qwen2 or gpt2).
 *
 * <p>GPT-2's names ({@code n_embd}, {@code n_layer}, {@code n_head}, {@code n_positions}, {@code
 * n_inner}, {@code layer_norm_epsilon}, {@code activation_function}) map onto the same components.
 * Fields the file leaves out take the default of the transformers config class, except the five
 * sizes (vocabulary, hidden, intermediate for the LLaMA family, layers, heads), which are required.
 * Fields im4j does not interpret are kept verbatim in {@link #extraJson} and written back by {@link
 * #toJson}.
 *
 * @param modelType the architecture
 * @param vocabSize rows of the embedding, {@code > 0}
 * @param hiddenSize model width, {@code > 0}
 * @param intermediateSize MLP width, {@code > 0} (GPT-2: {@code n_inner}, default 4 * hidden)
 * @param numLayers decoder blocks, {@code > 0}
 * @param numHeads query heads, {@code > 0}
 * @param numKvHeads key/value heads (GQA), divides {@code numHeads}; equals it for GPT-2
 * @param headDim width of one head; {@code hiddenSize / numHeads} unless {@code head_dim} is set
 * @param maxPositionEmbeddings longest context, {@code > 0}
 * @param normEps RMSNorm ({@code rms_norm_eps}) or LayerNorm ({@code layer_norm_epsilon}) epsilon
 * @param ropeTheta RoPE base, {@code > 0}; 0 for GPT-2 (learned absolute positions)
 * @param ropeScaling Llama 3 frequency scaling, if any
 * @param tieWordEmbeddings whether the LM head reuses the embedding matrix
 * @param attentionBias LLaMA's {@code attention_bias}: biases on q, k, v and o projections
 * @param slidingWindow Mistral's attention window, if any
 * @param hiddenAct MLP activation
 * @param bosTokenIds beginning-of-sequence ids (empty if none)
 * @param eosTokenIds end-of-sequence ids (empty if none)
 * @param padTokenIds padding ids (empty if none)
 * @param torchDtype {@code torch_dtype} (float32, float16 or bfloat16), if given
 * @param initializerRange standard deviation of the normal initialisation
 * @param extraJson every field im4j does not interpret, as a compact JSON object with sorted keys;
 *     {@link #toJson} overwrites any interpreted field it repeats
 */
public record CausalLmConfig(
    ModelType modelType,
    int vocabSize,
    int hiddenSize,
    int intermediateSize,
    int numLayers,
    int numHeads,
    int numKvHeads,
    int headDim,
    int maxPositionEmbeddings,
    double normEps,
    double ropeTheta,
    Optional<RopeScaling> ropeScaling,
    boolean tieWordEmbeddings,
    boolean attentionBias,
    OptionalInt slidingWindow,
    Activation hiddenAct,
    List<Integer> bosTokenIds,
    List<Integer> eosTokenIds,
    List<Integer> padTokenIds,
    Optional<String> torchDtype,
    double initializerRange,
    String extraJson) {

  /** The file name inside a model directory. */
  public static final String FILE_NAME = "config.json";

  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
          .build();

  /** The {@code torch_dtype} values a config may name. */
  static final Set<String> TORCH_DTYPES = Set.of("float32", "float16", "bfloat16");

  public CausalLmConfig {
    checkNotNull(modelType, "modelType must not be null");
    checkArgument(vocabSize > 0, "vocabSize must be > 0 but was %s", vocabSize);
    checkArgument(hiddenSize > 0, "hiddenSize must be > 0 but was %s", hiddenSize);
    checkArgument(
        intermediateSize > 0, "intermediateSize must be > 0 but was %s", intermediateSize);
    checkArgument(numLayers > 0, "numLayers must be > 0 but was %s", numLayers);
    checkArgument(numHeads > 0, "numHeads must be > 0 but was %s", numHeads);
    checkArgument(
        numKvHeads > 0 && numHeads % numKvHeads == 0,
        "numKvHeads must be > 0 and divide numHeads (%s) but was %s",
        numHeads,
        numKvHeads);
    checkArgument(headDim > 0, "headDim must be > 0 but was %s", headDim);
    checkArgument(
        maxPositionEmbeddings > 0,
        "maxPositionEmbeddings must be > 0 but was %s",
        maxPositionEmbeddings);
    checkArgument(normEps > 0 && normEps < 1, "normEps must be in (0, 1) but was %s", normEps);
    checkNotNull(ropeScaling, "ropeScaling must not be null; use Optional.empty()");
    checkNotNull(slidingWindow, "slidingWindow must not be null; use OptionalInt.empty()");
    checkNotNull(hiddenAct, "hiddenAct must not be null");
    checkNotNull(torchDtype, "torchDtype must not be null; use Optional.empty()");
    torchDtype.ifPresent(
        d ->
            checkArgument(
                TORCH_DTYPES.contains(d),
                "torchDtype must be one of %s but was %s",
                TORCH_DTYPES,
                d));
    checkArgument(
        initializerRange > 0, "initializerRange must be > 0 but was %s", initializerRange);
    bosTokenIds = List.copyOf(bosTokenIds);
    eosTokenIds = List.copyOf(eosTokenIds);
    padTokenIds = List.copyOf(padTokenIds);
    for (List<Integer> ids : List.of(bosTokenIds, eosTokenIds, padTokenIds)) {
      for (int id : ids) {
        checkArgument(
            id >= 0 && id < vocabSize, "token id %s must be in [0, vocabSize=%s)", id, vocabSize);
      }
    }
    checkNotNull(extraJson, "extraJson must not be null; use \"{}\"");
    checkArgument(isJsonObject(extraJson), "extraJson must be a JSON object but was %s", extraJson);
    if (modelType == ModelType.GPT2) {
      checkArgument(
          numKvHeads == numHeads && headDim * numHeads == hiddenSize,
          "GPT-2 has numKvHeads == numHeads and headDim * numHeads == hiddenSize");
      checkArgument(ropeTheta == 0 && ropeScaling.isEmpty(), "GPT-2 has no RoPE (ropeTheta 0)");
      checkArgument(
          !attentionBias && slidingWindow.isEmpty(), "GPT-2 has no attention_bias flag or window");
      checkArgument(
          hiddenAct != Activation.SILU, "GPT-2 uses gelu_new or gelu_pytorch_tanh, not silu");
    } else {
      checkArgument(ropeTheta > 0, "ropeTheta must be > 0 but was %s", ropeTheta);
      checkArgument(
          hiddenAct == Activation.SILU, "the LLaMA family uses silu but got %s", hiddenAct);
      checkArgument(
          !attentionBias || modelType == ModelType.LLAMA,
          "attentionBias is a llama option; %s has a fixed bias layout",
          modelType.hfName());
      checkArgument(
          slidingWindow.isEmpty() || modelType == ModelType.MISTRAL,
          "slidingWindow is a mistral option");
      slidingWindow.ifPresent(w -> checkArgument(w > 0, "slidingWindow must be > 0 but was %s", w));
    }
  }

  /** This config with {@code torch_dtype} set to {@code value} (float32, float16 or bfloat16). */
  public CausalLmConfig withTorchDtype(String value) {
    return new CausalLmConfig(
        modelType,
        vocabSize,
        hiddenSize,
        intermediateSize,
        numLayers,
        numHeads,
        numKvHeads,
        headDim,
        maxPositionEmbeddings,
        normEps,
        ropeTheta,
        ropeScaling,
        tieWordEmbeddings,
        attentionBias,
        slidingWindow,
        hiddenAct,
        bosTokenIds,
        eosTokenIds,
        padTokenIds,
        Optional.of(value),
        initializerRange,
        extraJson);
  }

  private static boolean isJsonObject(String text) {
    try {
      JsonNode node = JSON.readTree(text);
      return node != null && node.isObject();
    } catch (JsonProcessingException e) {
      return false; // reported by the caller's checkArgument with the text itself
    }
  }

  /** Whether q, k and v projections carry a bias (Qwen2 always; LLaMA with attention_bias). */
  public boolean qkvBias() {
    return modelType == ModelType.QWEN2 || attentionBias;
  }

  /** Whether the attention output projection carries a bias (LLaMA with attention_bias). */
  public boolean outputProjBias() {
    return attentionBias;
  }

  // ---------------------------------------------------------------------------------------------
  // config.json (CausalLmConfigJson)

  /**
   * Reads {@code file} (a {@code config.json}).
   *
   * @throws ModelConfigException if it is missing, not JSON, or has an unsupported or inconsistent
   *     value; the message names the file, the field and the value
   */
  public static CausalLmConfig read(Path file) {
    return CausalLmConfigJson.read(file);
  }

  /**
   * Parses config.json text; {@code source} names it in error messages.
   *
   * @throws ModelConfigException as {@link #read}
   */
  public static CausalLmConfig parse(String json, String source) {
    return CausalLmConfigJson.parse(json, source);
  }

  /**
   * A config.json that transformers loads as this architecture: the interpreted fields under the
   * architecture's names (RoPE as {@code rope_theta} + {@code rope_scaling}, which transformers v4
   * and v5 both read), plus every field of {@link #extraJson}. Keys sorted, 2-space indent, final
   * newline, as transformers writes it.
   */
  public String toJson() {
    return CausalLmConfigJson.toJson(this);
  }

  /** Writes {@link #toJson} to {@code file}. */
  public void write(Path file) {
    CausalLmConfigJson.write(this, file);
  }
}
