package dev.im4j.cli;

import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.model.CausalLmConfig;
import dev.im4j.onnx.model.CausalLmParameters;
import dev.im4j.onnx.model.LoraAdapter;
import dev.im4j.onnx.model.ModelDirectory;
import dev.im4j.onnx.model.Weights;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

/** Where the model comes from: a Hugging Face directory, or a config.json with seeded weights. */
final class ModelOptions {
  @ArgGroup(exclusive = true, multiplicity = "1")
  Source source;

  static final class Source {
    @Option(
        names = "--model",
        paramLabel = "DIR",
        description = "Hugging Face model directory (config.json + safetensors).")
    Path model;

    @Option(
        names = "--config",
        paramLabel = "FILE",
        description = "A config.json; weights are initialised randomly from --seed.")
    Path config;
  }

  /** The model's config alone, read without loading any weights. */
  CausalLmConfig config() {
    return CausalLmConfig.read(Path.of(configSource()));
  }

  /** {@code base}, with the PEFT LoRA adapter in {@code adapterDir} merged in if it is not null. */
  static ModelDirectory withAdapter(ModelDirectory base, Path adapterDir) {
    return adapterDir == null ? base : LoraAdapter.load(adapterDir, base.config()).merge(base);
  }

  /** What a PEFT adapter records as its base: the model directory, or the config file. */
  String baseName() {
    return source.model != null ? source.model.toString() : source.config.toString();
  }

  /** The config.json file the model comes from. */
  String configSource() {
    return source.model != null
        ? source.model.resolve(CausalLmConfig.FILE_NAME).toString()
        : source.config.toString();
  }

  /** The model as a directory (loaded, or initialised from the config with {@code seed}). */
  ModelDirectory load(long seed) {
    if (source.model != null) {
      return ModelDirectory.load(source.model);
    }
    CausalLmConfig config = CausalLmConfig.read(source.config);
    Weights weights = CausalLmParameters.initialize(config, seed, DType.FLOAT);
    return ModelDirectory.of(config, weights, Map.of());
  }
}
