package dev.im4j.onnx.model;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;

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
  private static final Set<String> TORCH_DTYPES = Set.of("float32", "float16", "bfloat16");

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
  // Reading

  /**
   * Reads {@code file} (a {@code config.json}).
   *
   * @throws ModelConfigException if it is missing, not JSON, or has an unsupported or inconsistent
   *     value; the message names the file, the field and the value
   */
  public static CausalLmConfig read(Path file) {
    String text;
    try {
      text = Files.readString(file);
    } catch (NoSuchFileException e) {
      throw new ModelConfigException(file + ": not found; a model directory needs config.json", e);
    } catch (IOException e) {
      throw new ModelConfigException(file + ": cannot be read: " + e, e);
    }
    return parse(text, file.toString());
  }

  /**
   * Parses config.json text; {@code source} names it in error messages.
   *
   * @throws ModelConfigException as {@link #read}
   */
  public static CausalLmConfig parse(String json, String source) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new ModelConfigException(source + ": not valid JSON: " + e.getOriginalMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new ModelConfigException(source + ": expected a JSON object at the top level");
    }
    Fields f = new Fields(source, (ObjectNode) root);
    String typeName = f.requiredString("model_type");
    ModelType type =
        ModelType.fromHfName(typeName)
            .orElseThrow(
                () ->
                    f.error(
                        "model_type",
                        "unsupported value \""
                            + typeName
                            + "\"; supported: "
                            + ModelType.supported()));
    f.consume("architectures");
    return type == ModelType.GPT2 ? parseGpt2(f) : parseLlamaFamily(f, type);
  }

  private static CausalLmConfig parseLlamaFamily(Fields f, ModelType type) {
    int vocab = f.requiredPositiveInt("vocab_size");
    int hidden = f.requiredPositiveInt("hidden_size");
    int intermediate = f.requiredPositiveInt("intermediate_size");
    int layers = f.requiredPositiveInt("num_hidden_layers");
    int heads = f.requiredPositiveInt("num_attention_heads");
    int kvHeads = f.optionalPositiveInt("num_key_value_heads").orElse(heads);
    if (heads % kvHeads != 0) {
      throw f.error(
          "num_key_value_heads",
          "value "
              + kvHeads
              + " does not divide num_attention_heads ("
              + heads
              + "); grouped-query attention needs a whole number of query heads per key/value head");
    }
    OptionalInt explicitHeadDim = f.optionalPositiveInt("head_dim");
    if (explicitHeadDim.isEmpty() && hidden % heads != 0) {
      throw f.error(
          "hidden_size",
          "value "
              + hidden
              + " is not divisible by num_attention_heads ("
              + heads
              + "); set head_dim or fix the sizes");
    }
    int headDim = explicitHeadDim.orElse(hidden / heads);
    int defaultPositions =
        switch (type) {
          case MISTRAL -> 4096 * 32;
          case QWEN2 -> 32768;
          default -> 2048;
        };
    int positions = f.optionalPositiveInt("max_position_embeddings").orElse(defaultPositions);
    double eps = f.optionalEps("rms_norm_eps", 1e-6);
    JsonNode ropeParameters = f.take("rope_parameters");
    double theta;
    Optional<RopeScaling> scaling;
    if (ropeParameters != null && !ropeParameters.isNull()) {
      // transformers v5 layout: {"rope_type": ..., "rope_theta": ..., scaling fields}
      if (!ropeParameters.isObject()) {
        throw f.error("rope_parameters", "must be an object but is " + ropeParameters);
      }
      theta =
          f.positiveDouble("rope_parameters.rope_theta", ropeParameters.get("rope_theta"), 10000.0);
      scaling = f.ropeScaling("rope_parameters", ropeParameters);
      f.consume("rope_theta");
      f.consume("rope_scaling");
    } else {
      theta = f.positiveDouble("rope_theta", f.take("rope_theta"), 10000.0);
      JsonNode s = f.take("rope_scaling");
      scaling = s == null || s.isNull() ? Optional.empty() : f.ropeScaling("rope_scaling", s);
    }
    boolean tie = f.optionalBoolean("tie_word_embeddings", false);
    boolean attentionBias = f.optionalBoolean("attention_bias", false);
    if (attentionBias && type != ModelType.LLAMA) {
      throw f.error(
          "attention_bias",
          "unsupported value true for model_type "
              + type.hfName()
              + "; only llama takes it ("
              + (type == ModelType.QWEN2 ? "qwen2 always has q/k/v biases" : "mistral has none")
              + ")");
    }
    if (f.optionalBoolean("mlp_bias", false)) {
      throw f.error("mlp_bias", "unsupported value true; supported: false");
    }
    OptionalInt window = OptionalInt.empty();
    if (type == ModelType.MISTRAL) {
      JsonNode w = f.take("sliding_window");
      if (w == null) {
        window = OptionalInt.of(4096); // MistralConfig's default
      } else if (!w.isNull()) {
        window = OptionalInt.of(f.positiveInt("sliding_window", w));
      }
    } else if (type == ModelType.QWEN2 && f.optionalBoolean("use_sliding_window", false)) {
      throw f.error(
          "use_sliding_window",
          "unsupported value true; supported: false (Qwen2's per-layer windows are not implemented)");
    }
    String act = f.optionalString("hidden_act").orElse("silu");
    if (!act.equals("silu")) {
      throw f.error("hidden_act", "unsupported value \"" + act + "\"; supported: silu");
    }
    return new CausalLmConfig(
        type,
        vocab,
        hidden,
        intermediate,
        layers,
        heads,
        kvHeads,
        headDim,
        positions,
        eps,
        theta,
        scaling,
        tie,
        attentionBias,
        window,
        Activation.SILU,
        f.tokenIds("bos_token_id", vocab),
        f.tokenIds("eos_token_id", vocab),
        f.tokenIds("pad_token_id", vocab),
        f.torchDtype(),
        f.optionalPositiveDouble("initializer_range", 0.02),
        f.extras());
  }

  private static CausalLmConfig parseGpt2(Fields f) {
    int vocab = f.optionalPositiveInt("vocab_size").orElse(50257);
    int hidden = f.requiredPositiveInt("n_embd");
    int layers = f.requiredPositiveInt("n_layer");
    int heads = f.requiredPositiveInt("n_head");
    if (hidden % heads != 0) {
      throw f.error(
          "n_embd",
          "value " + hidden + " is not divisible by n_head (" + heads + "); fix the sizes");
    }
    int positions = f.optionalPositiveInt("n_positions").orElse(1024);
    JsonNode inner = f.take("n_inner");
    int intermediate =
        inner == null || inner.isNull() ? 4 * hidden : f.positiveInt("n_inner", inner);
    double eps = f.optionalEps("layer_norm_epsilon", 1e-5);
    String act = f.optionalString("activation_function").orElse("gelu_new");
    Activation activation =
        Activation.fromHfName(act)
            .filter(a -> a != Activation.SILU)
            .orElseThrow(
                () ->
                    f.error(
                        "activation_function",
                        "unsupported value \""
                            + act
                            + "\"; supported: gelu_new, gelu_pytorch_tanh"));
    f.requireDefault("scale_attn_weights", true);
    f.requireDefault("scale_attn_by_inverse_layer_idx", false);
    f.requireDefault("reorder_and_upcast_attn", false);
    f.requireDefault("add_cross_attention", false);
    return new CausalLmConfig(
        ModelType.GPT2,
        vocab,
        hidden,
        intermediate,
        layers,
        heads,
        heads,
        hidden / heads,
        positions,
        eps,
        0,
        Optional.empty(),
        f.optionalBoolean("tie_word_embeddings", true),
        false,
        OptionalInt.empty(),
        activation,
        f.tokenIds("bos_token_id", vocab),
        f.tokenIds("eos_token_id", vocab),
        f.tokenIds("pad_token_id", vocab),
        f.torchDtype(),
        f.optionalPositiveDouble("initializer_range", 0.02),
        f.extras());
  }

  /** Field access that remembers what was read, so the rest can be kept as extras. */
  private static final class Fields {
    private final String source;
    private final ObjectNode root;
    private final Set<String> consumed = new HashSet<>();

    Fields(String source, ObjectNode root) {
      this.source = source;
      this.root = root;
    }

    ModelConfigException error(String field, String problem) {
      return new ModelConfigException(source + ": field \"" + field + "\": " + problem);
    }

    void consume(String field) {
      consumed.add(field);
    }

    JsonNode take(String field) {
      consumed.add(field);
      return root.get(field);
    }

    String requiredString(String field) {
      JsonNode n = take(field);
      if (n == null || !n.isTextual()) {
        throw error(field, "must be a string but is " + (n == null ? "missing" : n.toString()));
      }
      return n.textValue();
    }

    Optional<String> optionalString(String field) {
      JsonNode n = take(field);
      if (n == null || n.isNull()) {
        return Optional.empty();
      }
      if (!n.isTextual()) {
        throw error(field, "must be a string but is " + n);
      }
      return Optional.of(n.textValue());
    }

    int positiveInt(String field, JsonNode n) {
      if (n == null || !n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() <= 0) {
        throw error(
            field,
            "must be a positive integer below 2^31 but is "
                + (n == null ? "missing" : n.toString()));
      }
      return n.intValue();
    }

    int requiredPositiveInt(String field) {
      JsonNode n = take(field);
      if (n == null) {
        throw error(field, "is required but missing");
      }
      return positiveInt(field, n);
    }

    OptionalInt optionalPositiveInt(String field) {
      JsonNode n = take(field);
      return n == null || n.isNull() ? OptionalInt.empty() : OptionalInt.of(positiveInt(field, n));
    }

    double positiveDouble(String field, JsonNode n, double defaultValue) {
      if (n == null || n.isNull()) {
        return defaultValue;
      }
      if (!n.isNumber() || !(n.doubleValue() > 0) || Double.isInfinite(n.doubleValue())) {
        throw error(field, "must be a positive finite number but is " + n);
      }
      return n.doubleValue();
    }

    double optionalPositiveDouble(String field, double defaultValue) {
      return positiveDouble(field, take(field), defaultValue);
    }

    double optionalEps(String field, double defaultValue) {
      double eps = optionalPositiveDouble(field, defaultValue);
      if (eps >= 1) {
        throw error(field, "value " + eps + " must be in (0, 1), typically 1e-5 or 1e-6");
      }
      return eps;
    }

    boolean optionalBoolean(String field, boolean defaultValue) {
      JsonNode n = take(field);
      if (n == null || n.isNull()) {
        return defaultValue;
      }
      if (!n.isBoolean()) {
        throw error(field, "must be true or false but is " + n);
      }
      return n.booleanValue();
    }

    void requireDefault(String field, boolean expected) {
      if (optionalBoolean(field, expected) != expected) {
        throw error(field, "unsupported value " + !expected + "; supported: " + expected);
      }
    }

    List<Integer> tokenIds(String field, int vocab) {
      JsonNode n = take(field);
      if (n == null || n.isNull()) {
        return List.of();
      }
      List<JsonNode> items = n.isArray() ? List.copyOf(toList((ArrayNode) n)) : List.of(n);
      Integer[] ids = new Integer[items.size()];
      for (int i = 0; i < ids.length; i++) {
        JsonNode item = items.get(i);
        if (!item.isIntegralNumber() || !item.canConvertToInt() || item.intValue() < 0) {
          throw error(field, "must be a token id (integer >= 0) or a list of them but is " + n);
        }
        if (item.intValue() >= vocab) {
          throw error(
              field, "value " + item.intValue() + " is outside the vocabulary [0, " + vocab + ")");
        }
        ids[i] = item.intValue();
      }
      return List.of(ids);
    }

    private static List<JsonNode> toList(ArrayNode array) {
      List<JsonNode> out = new java.util.ArrayList<>(array.size());
      array.forEach(out::add);
      return out;
    }

    Optional<String> torchDtype() {
      String field = root.has("torch_dtype") ? "torch_dtype" : "dtype";
      consume("torch_dtype");
      consume("dtype");
      JsonNode n = root.get(field);
      if (n == null || n.isNull()) {
        return Optional.empty();
      }
      if (!n.isTextual() || !TORCH_DTYPES.contains(n.textValue())) {
        throw error(field, "unsupported value " + n + "; supported: bfloat16, float16, float32");
      }
      return Optional.of(n.textValue());
    }

    Optional<RopeScaling> ropeScaling(String field, JsonNode s) {
      if (!s.isObject()) {
        throw error(field, "must be null or an object but is " + s);
      }
      JsonNode typeNode = s.has("rope_type") ? s.get("rope_type") : s.get("type");
      String typeField = field + (s.has("rope_type") ? ".rope_type" : ".type");
      if (typeNode == null || !typeNode.isTextual()) {
        throw error(field + ".rope_type", "must be a string but is " + typeNode);
      }
      String kind = typeNode.textValue();
      if (kind.equals("default")) {
        return Optional.empty();
      }
      if (!kind.equals("llama3")) {
        throw error(typeField, "unsupported value \"" + kind + "\"; supported: llama3");
      }
      double factor = requiredPositive(field + ".factor", s.get("factor"));
      double low = requiredPositive(field + ".low_freq_factor", s.get("low_freq_factor"));
      double high = requiredPositive(field + ".high_freq_factor", s.get("high_freq_factor"));
      if (high <= low) {
        throw error(
            field + ".high_freq_factor",
            "value " + high + " must be greater than low_freq_factor (" + low + ")");
      }
      int original =
          positiveInt(
              field + ".original_max_position_embeddings",
              s.get("original_max_position_embeddings"));
      return Optional.of(new RopeScaling(factor, low, high, original));
    }

    private double requiredPositive(String field, JsonNode n) {
      if (n == null || n.isNull()) {
        throw error(field, "is required for rope_type llama3 but missing");
      }
      return positiveDouble(field, n, 0);
    }

    String extras() {
      ObjectNode extra = JsonNodeFactory.instance.objectNode();
      TreeMap<String, JsonNode> sorted = new TreeMap<>();
      root.properties().forEach(e -> sorted.put(e.getKey(), e.getValue()));
      for (Map.Entry<String, JsonNode> e : sorted.entrySet()) {
        if (!consumed.contains(e.getKey())) {
          extra.set(e.getKey(), e.getValue());
        }
      }
      try {
        return JSON.writeValueAsString(extra);
      } catch (JsonProcessingException e) {
        throw new IllegalStateException("re-serialising parsed JSON failed", e);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Writing

  /**
   * A config.json that transformers loads as this architecture: the interpreted fields under the
   * architecture's names (RoPE as {@code rope_theta} + {@code rope_scaling}, which transformers v4
   * and v5 both read), plus every field of {@link #extraJson}. Keys sorted, 2-space indent, final
   * newline, as transformers writes it.
   */
  public String toJson() {
    ObjectNode o;
    try {
      o = (ObjectNode) JSON.readTree(extraJson);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("extraJson is not a JSON object: " + extraJson, e);
    }
    o.putArray("architectures").add(modelType.architecture());
    o.put("model_type", modelType.hfName());
    o.put("vocab_size", vocabSize);
    o.put("initializer_range", initializerRange);
    o.put("tie_word_embeddings", tieWordEmbeddings);
    putIds(o, "bos_token_id", bosTokenIds);
    putIds(o, "eos_token_id", eosTokenIds);
    putIds(o, "pad_token_id", padTokenIds);
    torchDtype.ifPresent(d -> o.put("torch_dtype", d));
    if (modelType == ModelType.GPT2) {
      o.put("n_embd", hiddenSize);
      o.put("n_layer", numLayers);
      o.put("n_head", numHeads);
      o.put("n_positions", maxPositionEmbeddings);
      o.put("n_inner", intermediateSize);
      o.put("layer_norm_epsilon", normEps);
      o.put("activation_function", hiddenAct.hfName());
    } else {
      o.put("hidden_size", hiddenSize);
      o.put("intermediate_size", intermediateSize);
      o.put("num_hidden_layers", numLayers);
      o.put("num_attention_heads", numHeads);
      o.put("num_key_value_heads", numKvHeads);
      o.put("head_dim", headDim);
      o.put("max_position_embeddings", maxPositionEmbeddings);
      o.put("rms_norm_eps", normEps);
      o.put("rope_theta", ropeTheta);
      o.put("hidden_act", hiddenAct.hfName());
      if (ropeScaling.isPresent()) {
        RopeScaling s = ropeScaling.get();
        ObjectNode r = o.putObject("rope_scaling");
        r.put("rope_type", "llama3");
        r.put("factor", s.factor());
        r.put("low_freq_factor", s.lowFreqFactor());
        r.put("high_freq_factor", s.highFreqFactor());
        r.put("original_max_position_embeddings", s.originalMaxPositionEmbeddings());
      } else {
        o.putNull("rope_scaling");
      }
      switch (modelType) {
        case LLAMA -> {
          o.put("attention_bias", attentionBias);
          o.put("mlp_bias", false);
        }
        case MISTRAL -> {
          if (slidingWindow.isPresent()) {
            o.put("sliding_window", slidingWindow.getAsInt());
          } else {
            o.putNull("sliding_window");
          }
        }
        case QWEN2 -> o.put("use_sliding_window", false);
        default -> throw new IllegalStateException("unexpected " + modelType);
      }
    }
    JsonNode out = sortedCopy(o);
    DefaultPrettyPrinter printer =
        new DefaultPrettyPrinter(
                Separators.createDefaultInstance()
                    .withObjectFieldValueSpacing(Separators.Spacing.AFTER))
            .withObjectIndenter(new DefaultIndenter("  ", "\n"))
            .withArrayIndenter(new DefaultIndenter("  ", "\n"));
    try {
      return JSON.writer(printer).writeValueAsString(out) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("JSON generation failed", e);
    }
  }

  /** A copy with every object's keys sorted, as Python's {@code json.dumps(sort_keys=True)}. */
  private static JsonNode sortedCopy(JsonNode node) {
    if (node.isObject()) {
      TreeMap<String, JsonNode> sorted = new TreeMap<>();
      node.properties().forEach(e -> sorted.put(e.getKey(), sortedCopy(e.getValue())));
      ObjectNode out = JsonNodeFactory.instance.objectNode();
      sorted.forEach(out::set);
      return out;
    }
    if (node.isArray()) {
      ArrayNode out = JsonNodeFactory.instance.arrayNode();
      node.forEach(item -> out.add(sortedCopy(item)));
      return out;
    }
    return node;
  }

  private static void putIds(ObjectNode o, String field, List<Integer> ids) {
    if (ids.isEmpty()) {
      o.putNull(field);
    } else if (ids.size() == 1) {
      o.put(field, ids.get(0));
    } else {
      ArrayNode a = o.putArray(field);
      ids.forEach(a::add);
    }
  }

  /** Writes {@link #toJson} to {@code file}. */
  public void write(Path file) {
    try {
      Files.writeString(file, toJson());
    } catch (IOException e) {
      throw new ModelConfigException(file + ": cannot be written: " + e, e);
    }
  }
}
