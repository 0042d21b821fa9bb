package dev.im4j.onnx.model;

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
 * The {@code config.json} codec of {@link CausalLmConfig}: Hugging Face's field names per
 * architecture in, a config transformers loads out. Every error names the source, the field and the
 * value ({@link ModelConfigException}).
 */
final class CausalLmConfigJson {
  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
          .build();

  private CausalLmConfigJson() {}

  // ---------------------------------------------------------------------------------------------
  // Reading

  static CausalLmConfig read(Path file) {
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

  static CausalLmConfig parse(String json, String source) {
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
      if (!n.isTextual() || !CausalLmConfig.TORCH_DTYPES.contains(n.textValue())) {
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

  static String toJson(CausalLmConfig c) {
    ObjectNode o;
    try {
      o = (ObjectNode) JSON.readTree(c.extraJson());
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("c.extraJson() is not a JSON object: " + c.extraJson(), e);
    }
    o.putArray("architectures").add(c.modelType().architecture());
    o.put("model_type", c.modelType().hfName());
    o.put("vocab_size", c.vocabSize());
    o.put("initializer_range", c.initializerRange());
    o.put("tie_word_embeddings", c.tieWordEmbeddings());
    putIds(o, "bos_token_id", c.bosTokenIds());
    putIds(o, "eos_token_id", c.eosTokenIds());
    putIds(o, "pad_token_id", c.padTokenIds());
    c.torchDtype().ifPresent(d -> o.put("torch_dtype", d));
    if (c.modelType() == ModelType.GPT2) {
      o.put("n_embd", c.hiddenSize());
      o.put("n_layer", c.numLayers());
      o.put("n_head", c.numHeads());
      o.put("n_positions", c.maxPositionEmbeddings());
      o.put("n_inner", c.intermediateSize());
      o.put("layer_norm_epsilon", c.normEps());
      o.put("activation_function", c.hiddenAct().hfName());
    } else {
      o.put("hidden_size", c.hiddenSize());
      o.put("intermediate_size", c.intermediateSize());
      o.put("num_hidden_layers", c.numLayers());
      o.put("num_attention_heads", c.numHeads());
      o.put("num_key_value_heads", c.numKvHeads());
      o.put("head_dim", c.headDim());
      o.put("max_position_embeddings", c.maxPositionEmbeddings());
      o.put("rms_norm_eps", c.normEps());
      o.put("rope_theta", c.ropeTheta());
      o.put("hidden_act", c.hiddenAct().hfName());
      if (c.ropeScaling().isPresent()) {
        RopeScaling s = c.ropeScaling().get();
        ObjectNode r = o.putObject("rope_scaling");
        r.put("rope_type", "llama3");
        r.put("factor", s.factor());
        r.put("low_freq_factor", s.lowFreqFactor());
        r.put("high_freq_factor", s.highFreqFactor());
        r.put("original_max_position_embeddings", s.originalMaxPositionEmbeddings());
      } else {
        o.putNull("rope_scaling");
      }
      switch (c.modelType()) {
        case LLAMA -> {
          o.put("attention_bias", c.attentionBias());
          o.put("mlp_bias", false);
        }
        case MISTRAL -> {
          if (c.slidingWindow().isPresent()) {
            o.put("sliding_window", c.slidingWindow().getAsInt());
          } else {
            o.putNull("sliding_window");
          }
        }
        case QWEN2 -> o.put("use_sliding_window", false);
        default -> throw new IllegalStateException("unexpected " + c.modelType());
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

  static void write(CausalLmConfig config, Path file) {
    try {
      Files.writeString(file, toJson(config));
    } catch (IOException e) {
      throw new ModelConfigException(file + ": cannot be written: " + e, e);
    }
  }
}
