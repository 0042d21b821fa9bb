package dev.im4j.onnx.model;

import static com.google.common.base.Preconditions.checkNotNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Trained LoRA adapters for one model, and their Hugging Face PEFT directory: {@value #CONFIG_FILE}
 * and {@value #WEIGHTS_FILE}, tensors named {@code base_model.model.<module>.lora_A .weight} and
 * {@code ...lora_B.weight} ({@code [r, in]} and {@code [out, r]}), which PEFT's {@code
 * PeftModel.from_pretrained} loads onto the base model. {@link #merge} folds the adapters into the
 * base weights, giving an ordinary Hugging Face model.
 *
 * <p>Reading accepts what this class can reproduce exactly: LoRA ({@code peft_type} {@code LORA})
 * with a list of target module names, no bias training, no DoRA, no per-layer rank or alpha, no
 * extra trained modules. {@code lora_dropout} is read and written ({@link LoraConfig#dropout}).
 *
 * @param lora the configuration the adapters were made with
 * @param config the base model's configuration
 * @param weights the adapters, named as {@link LoraConfig.Adapter} names them
 */
public record LoraAdapter(LoraConfig lora, CausalLmConfig config, Weights weights) {
  /** PEFT's configuration file. */
  public static final String CONFIG_FILE = "adapter_config.json";

  /** PEFT's weights file. */
  public static final String WEIGHTS_FILE = "adapter_model.safetensors";

  /** The prefix PEFT gives every tensor name of a saved adapter. */
  public static final String PEFT_PREFIX = "base_model.model.";

  /**
   * Checks the adapter weights against {@code lora} on {@code config}'s model.
   *
   * @throws IllegalArgumentException if they do not match
   */
  public LoraAdapter {
    checkNotNull(lora, "lora must not be null");
    checkNotNull(config, "config must not be null");
    weights = lora.validate(config, weights, "adapters");
  }

  /**
   * Writes the PEFT directory {@code dir} (created if absent; its two files replaced atomically),
   * streaming the weights from where they are (a checkpoint file, for a trained run).
   *
   * @param baseModel what {@code base_model_name_or_path} records (a hub id or a local path)
   * @throws SafetensorsException if a file cannot be written
   */
  public void save(Path dir, String baseModel) {
    checkNotNull(baseModel, "baseModel must not be null");
    List<Tensor> named = new ArrayList<>();
    for (Tensor t : weights.tensors()) {
      named.add(t.withName(PEFT_PREFIX + t.name()));
    }
    try {
      Files.createDirectories(dir);
      Path tmpWeights = Files.createTempFile(dir, ".tmp-", ".safetensors");
      Safetensors.write(tmpWeights, Safetensors.DEFAULT_METADATA, Weights.of(named));
      Files.move(tmpWeights, dir.resolve(WEIGHTS_FILE), StandardCopyOption.ATOMIC_MOVE);
      Path tmpConfig = Files.createTempFile(dir, ".tmp-", ".json");
      Files.writeString(tmpConfig, configJson(baseModel), StandardCharsets.UTF_8);
      Files.move(tmpConfig, dir.resolve(CONFIG_FILE), StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new SafetensorsException(dir + ": cannot save the adapter: " + e, e);
    }
  }

  /** {@value #CONFIG_FILE} as PEFT writes it for these adapters. */
  String configJson(String baseModel) {
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode o = json.createObjectNode();
    o.put("peft_type", "LORA");
    o.put("task_type", "CAUSAL_LM");
    o.put("base_model_name_or_path", baseModel);
    o.put("r", lora.rank());
    o.put("lora_alpha", lora.alpha());
    o.put("lora_dropout", lora.dropout());
    o.put("use_rslora", lora.rsLora());
    ArrayNode targets = o.putArray("target_modules");
    lora.targets(config.modelType()).forEach(targets::add);
    // PEFT's flag for weights stored [in, out], as GPT-2's Conv1D
    o.put("fan_in_fan_out", config.modelType() == ModelType.GPT2);
    o.put("bias", "none");
    o.putNull("modules_to_save");
    o.put("use_dora", false);
    o.put("init_lora_weights", true);
    o.put("inference_mode", true);
    try {
      return json.writeValueAsString(o) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write adapter_config.json", e);
    }
  }

  /**
   * Reads the PEFT directory {@code dir} for a model of {@code config}. Tensors are read from the
   * file when used.
   *
   * @throws ModelConfigException naming the file and field of an unreadable or unsupported
   *     configuration
   * @throws SafetensorsException if the weights are missing or do not match the configuration
   */
  public static LoraAdapter load(Path dir, CausalLmConfig config) {
    Path file = dir.resolve(CONFIG_FILE);
    if (!Files.isRegularFile(file)) {
      throw new ModelConfigException(
          file
              + ": not found; a PEFT adapter directory holds "
              + CONFIG_FILE
              + " and "
              + WEIGHTS_FILE);
    }
    JsonNode o;
    try {
      o = new ObjectMapper().readTree(Files.readString(file, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new ModelConfigException(file + ": cannot be read as JSON: " + e.getMessage());
    }
    if (o == null || !o.isObject()) {
      throw new ModelConfigException(file + ": must hold a JSON object");
    }
    require(file, o, "peft_type", "LORA".equals(o.path("peft_type").asText()), "must be \"LORA\"");
    require(
        file, o, "r", o.path("r").canConvertToInt() && o.path("r").asInt() >= 1, "must be >= 1");
    require(
        file,
        o,
        "lora_alpha",
        o.path("lora_alpha").isNumber() && o.path("lora_alpha").asDouble() > 0,
        "must be a positive number");
    require(file, o, "bias", "none".equals(o.path("bias").asText("none")), "only \"none\"");
    require(file, o, "use_dora", !o.path("use_dora").asBoolean(false), "DoRA is not supported");
    require(
        file,
        o,
        "modules_to_save",
        o.path("modules_to_save").isMissingNode()
            || o.path("modules_to_save").isNull()
            || o.path("modules_to_save").isEmpty(),
        "extra trained modules are not supported");
    for (String perLayer : List.of("rank_pattern", "alpha_pattern")) {
      require(file, o, perLayer, o.path(perLayer).isEmpty(), "per-layer ranks are not supported");
    }
    require(
        file,
        o,
        "layers_to_transform",
        o.path("layers_to_transform").isMissingNode() || o.path("layers_to_transform").isNull(),
        "adapting some layers only is not supported");
    JsonNode targetNode = o.path("target_modules");
    require(
        file,
        o,
        "target_modules",
        targetNode.isArray() && !targetNode.isEmpty(),
        "must be a list of module names (a regular expression is not supported)");
    List<String> targets = new ArrayList<>();
    targetNode.forEach(t -> targets.add(t.asText()));
    LoraConfig lora;
    try {
      lora =
          LoraConfig.of(o.get("r").asInt())
              .withAlpha(o.get("lora_alpha").asDouble())
              .withRsLora(o.path("use_rslora").asBoolean(false))
              .withDropout(o.path("lora_dropout").asDouble(0))
              .withTargets(targets);
      lora.adapters(config);
    } catch (IllegalArgumentException e) {
      throw new ModelConfigException(file + ": " + e.getMessage());
    }

    Path weightsFile = dir.resolve(WEIGHTS_FILE);
    Weights stored;
    try (SafetensorsFile f = SafetensorsFile.open(weightsFile)) {
      stored = f.readAll();
    }
    Map<String, Tensor> byName = new LinkedHashMap<>();
    for (Tensor t : stored.tensors()) {
      String name = t.name();
      if (!name.startsWith(PEFT_PREFIX)) {
        throw new SafetensorsException(
            weightsFile + ": tensor " + name + " lacks PEFT's prefix " + PEFT_PREFIX);
      }
      String module = name.substring(PEFT_PREFIX.length());
      byName.put(module, t.withName(module));
    }
    try {
      return new LoraAdapter(lora, config, Weights.of(byName.values()));
    } catch (IllegalArgumentException e) {
      throw new SafetensorsException(weightsFile + ": " + e.getMessage());
    }
  }

  private static void require(Path file, JsonNode o, String field, boolean ok, String rule) {
    if (!ok) {
      throw new ModelConfigException(
          file + ": field \"" + field + "\" " + rule + " but is " + o.path(field));
    }
  }

  /**
   * The base model with the adapters folded in: each adapted weight becomes {@code W + s · B A}
   * (transposed for GPT-2's Conv1D weights), produced chunk by chunk when read and stored in the
   * base tensor's dtype; every other tensor, the config and the auxiliary files are the base's.
   *
   * @throws IllegalArgumentException if {@code base} is not a model of this adapter's config
   */
  public ModelDirectory merge(ModelDirectory base) {
    checkNotNull(base, "base must not be null");
    if (!base.config().equals(config)) {
      throw new IllegalArgumentException(
          "the adapters were made for another model: "
              + config
              + " but the base is "
              + base.config());
    }
    boolean transposed = config.modelType() == ModelType.GPT2;
    Map<String, LoraConfig.Adapter> byWeight = new LinkedHashMap<>();
    for (LoraConfig.Adapter a : lora.adapters(config)) {
      byWeight.put(a.module() + ".weight", a);
    }
    List<Tensor> merged = new ArrayList<>();
    for (Tensor w : base.weights().tensors()) {
      LoraConfig.Adapter a = byWeight.get(w.name());
      if (a == null) {
        merged.add(w);
        continue;
      }
      TensorValues values =
          new TensorValues.LoraMerged(
              w.values(),
              weights.get(a.aName()).toArray(),
              weights.get(a.bName()).toArray(),
              lora.rank(),
              Math.toIntExact(a.in()),
              Math.toIntExact(a.out()),
              lora.scaling(),
              transposed);
      merged.add(Tensor.lazy(w.name(), w.dtype(), w.shape(), values));
    }
    return base.withWeights(Weights.of(merged));
  }
}
