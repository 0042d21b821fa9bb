package dev.im4j.onnx.train;

import static com.google.common.base.Preconditions.checkNotNull;

import dev.im4j.core.data.DatasetFormat;
import dev.im4j.core.data.DatasetReader;
import dev.im4j.core.data.OnError;
import dev.im4j.core.mask.ClassifiedExample;
import dev.im4j.core.mask.ExampleEncoder;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.template.ChatTemplates;
import dev.im4j.core.tokenizer.HfTokenizer;
import dev.im4j.onnx.model.LoraAdapter;
import dev.im4j.onnx.model.LoraConfig;
import dev.im4j.onnx.model.ModelDirectory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Fine-tunes a Hugging Face model directory on a JSON Lines dataset with one loss policy: the
 * common case in one call, as TRL's {@code SFTTrainer(model=..., train_dataset=...)}.
 *
 * <pre>{@code
 * FineTune.Result r = FineTune.of(modelDir, data, LossPolicy.instructionModelling(), out).run();
 * }</pre>
 *
 * <p>{@link #run} loads the model and the tokenizer from {@code modelDir}, renders each row with
 * the tokenizer's chat template ({@code tokenizer_config.json}'s {@code chat_template}, else the
 * paper's Tulu format), classifies the tokens, trains with the {@link Trainer}'s defaults (the
 * paper's recipe: effective batch 128, lr 2e-5, 2 epochs, max length 2048) under {@code policy},
 * and writes the trained model to {@code out/model} as a Hugging Face directory with the base's
 * tokenizer files. Rows are read in any supported format (alpaca, messages, sharegpt); the first
 * bad row stops the run naming file, line and field. Every other trainer option is reachable
 * through {@link #trainer}. Everything it opens, it closes.
 *
 * <p>Immutable; each {@code with...} returns a copy.
 */
public final class FineTune {
  /** Folder inside the output folder that receives the trained Hugging Face directory. */
  public static final String MODEL_DIR = "model";

  /** Folder inside the output folder that receives the PEFT adapter of a LoRA fine-tuning. */
  public static final String ADAPTER_DIR = "adapter";

  private final Path modelDir;
  private final Path data;
  private final LossPolicy policy;
  private final Path outputDir;
  private final Consumer<Trainer.Builder> options;

  private FineTune(
      Path modelDir,
      Path data,
      LossPolicy policy,
      Path outputDir,
      Consumer<Trainer.Builder> options) {
    this.modelDir = modelDir;
    this.data = data;
    this.policy = policy;
    this.outputDir = outputDir;
    this.options = options;
  }

  /**
   * Fine-tuning of the model in {@code modelDir} on {@code data} under {@code policy}, writing into
   * {@code outputDir} (which must be new or empty; see {@link Trainer.Builder#overwrite}).
   */
  public static FineTune of(Path modelDir, Path data, LossPolicy policy, Path outputDir) {
    return new FineTune(
        checkNotNull(modelDir, "modelDir"),
        checkNotNull(data, "data"),
        checkNotNull(policy, "policy"),
        checkNotNull(outputDir, "outputDir"),
        b -> {});
  }

  /**
   * Adjusts the trainer beyond its defaults (batch, learning rate, epochs, packing, evaluation,
   * checkpoints, ...); called once the trainer is set up with the model, data and policy. The
   * policy is this fine-tuning's: setting another one here is refused.
   */
  public FineTune trainer(Consumer<Trainer.Builder> adjust) {
    checkNotNull(adjust, "adjust");
    return new FineTune(modelDir, data, policy, outputDir, options.andThen(adjust));
  }

  /**
   * Trains LoRA adapters ({@link Trainer.Builder#lora}) instead of every weight: the run also
   * writes the PEFT adapter directory to {@code outputDir/adapter}, and {@code outputDir/model}
   * holds the base with the adapters merged in.
   */
  public FineTune lora(LoraConfig lora) {
    checkNotNull(lora, "lora");
    return trainer(b -> b.lora(lora));
  }

  /**
   * What a fine-tuning produced.
   *
   * @param training the trainer's result (steps, last loss, final checkpoint)
   * @param model the trained Hugging Face directory ({@code outputDir/model}; for LoRA, the base
   *     with the adapters merged in)
   * @param adapter the PEFT adapter directory of a LoRA fine-tuning ({@code outputDir/adapter})
   */
  public record Result(Trainer.Result training, Path model, Optional<Path> adapter) {}

  /**
   * Loads, encodes, trains and saves.
   *
   * @throws dev.im4j.core.data.DatasetException naming file, line and field of a bad row
   * @throws IllegalArgumentException for a bad option, or if {@link #trainer} set another policy
   * @throws TrainingDataException if no example can train anything
   * @throws TrainingDivergedException if the run diverges
   */
  public Result run() {
    ModelDirectory base = ModelDirectory.load(modelDir);
    List<ClassifiedExample> train = new ArrayList<>();
    try (HfTokenizer tokenizer = HfTokenizer.load(modelDir);
        DatasetReader reader = DatasetReader.open(data, DatasetFormat.AUTO, OnError.FAIL_FAST)) {
      ExampleEncoder encoder =
          ExampleEncoder.of(
              ChatTemplates.resolve(null, modelDir, tokenizer.specialTokens()), tokenizer);
      reader.forEachRemaining(record -> train.add(encoder.encode(record).example()));
    }
    Trainer.Builder builder =
        Trainer.builder(HfCausalLm.of(base.config(), base.weights()), train, outputDir)
            .lossPolicy(policy);
    options.accept(builder);
    if (!Objects.equals(builder.policy(), policy)) {
      throw new IllegalArgumentException(
          "the trainer options set the loss policy "
              + builder.policy()
              + " but this fine-tuning is under "
              + policy
              + "; pass the policy to FineTune.of only");
    }
    Trainer.Result result = builder.build().run();
    Path model = outputDir.resolve(MODEL_DIR);
    LoraConfig lora = builder.lora();
    if (lora == null) {
      result.trainedModel(base).save(model);
      return new Result(result, model, Optional.empty());
    }
    LoraAdapter adapter = result.trainedAdapter(lora, base.config());
    Path adapterDir = outputDir.resolve(ADAPTER_DIR);
    adapter.save(adapterDir, modelDir.toString());
    adapter.merge(base).save(model);
    return new Result(result, model, Optional.of(adapterDir));
  }
}
