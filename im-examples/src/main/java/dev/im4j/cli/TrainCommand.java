package dev.im4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.im4j.core.collate.CollatorConfig;
import dev.im4j.core.data.DatasetReader;
import dev.im4j.core.data.DatasetRecord;
import dev.im4j.core.loss.Reduction;
import dev.im4j.core.mask.ClassifiedExample;
import dev.im4j.core.mask.ExampleEncoder;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.tokenizer.HfTokenizer;
import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.graph.OnnxIo;
import dev.im4j.onnx.model.CausalLmConfig;
import dev.im4j.onnx.model.CausalLmGraphs;
import dev.im4j.onnx.model.LoraAdapter;
import dev.im4j.onnx.model.LoraConfig;
import dev.im4j.onnx.model.ModelConfigException;
import dev.im4j.onnx.model.ModelDirectory;
import dev.im4j.onnx.model.Weights;
import dev.im4j.onnx.runtime.ExecutionProvider;
import dev.im4j.onnx.runtime.RuntimeOptions;
import dev.im4j.onnx.train.AdamWConfig;
import dev.im4j.onnx.train.DivergenceLimits;
import dev.im4j.onnx.train.HfCausalLm;
import dev.im4j.onnx.train.LearningRateSchedule;
import dev.im4j.onnx.train.ResumeMismatchException;
import dev.im4j.onnx.train.Trainer;
import dev.im4j.onnx.train.TrainingListener;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code im4j train}: fine-tunes a causal LM with IM (default) or IT on ONNX Runtime. */
@Command(
    name = "train",
    mixinStandardHelpOptions = true,
    description = {
      "Fine-tunes a causal language model on ONNX Runtime's training API with the chosen loss"
          + " policy; writes checkpoints, metrics.jsonl and the final Hugging Face directory"
          + " (OUT/model)."
    })
final class TrainCommand implements Callable<Integer> {
  /** Initializers of this size or more go to model.onnx.data beside the ONNX export. */
  static final long ONNX_EXTERNAL_DATA_BYTES = 1L << 20;

  /** The Hugging Face directory the run writes into --out. */
  static final String MODEL_DIR = "model";

  /** Where a LoRA run's PEFT adapter goes. */
  static final String ADAPTER_DIR = "adapter";

  /** The ONNX inference export the run writes into --out (with {@code model.onnx.data}). */
  static final String ONNX_EXPORT = "model.onnx";

  /** The loss curves the run writes into --out. */
  static final String CURVES = "curves.png";

  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Mixin ModelOptions model;
  @Mixin DataOptions data;
  @Mixin PipelineOptions pipeline;

  @Option(
      names = "--eval-data",
      paramLabel = "FILE",
      description = "Held-out JSONL (default: none).")
  Path evalData;

  @Option(
      names = "--reduction",
      defaultValue = "sequence-mean",
      paramLabel = "MODE",
      description = "sequence-mean (the paper's), token-mean or sum (default: ${DEFAULT-VALUE}).")
  String reduction;

  @Option(
      names = "--epochs",
      defaultValue = "2",
      description = "Epochs (default: ${DEFAULT-VALUE}).")
  int epochs;

  @Option(names = "--steps", description = "Optimizer steps; replaces --epochs (default: unset).")
  Long steps;

  @Option(
      names = "--batch-size",
      defaultValue = "8",
      description = "Rows per micro-batch (default: ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(
      names = "--grad-accum",
      defaultValue = "1",
      description = "Micro-batches per optimizer step (default: ${DEFAULT-VALUE}).")
  int gradAccum;

  @Option(
      names = "--lr",
      defaultValue = "2e-5",
      description = "Learning rate (default: ${DEFAULT-VALUE}).")
  float lr;

  @Option(
      names = "--schedule",
      defaultValue = "linear",
      description = "linear, cosine or constant (default: ${DEFAULT-VALUE}).")
  String schedule;

  @Option(
      names = "--warmup-ratio",
      defaultValue = "0.03",
      description = "Warm-up fraction of all steps (default: ${DEFAULT-VALUE}).")
  double warmupRatio;

  @Option(names = "--weight-decay", defaultValue = "0", description = "(default: ${DEFAULT-VALUE})")
  float weightDecay;

  @Option(names = "--adam-beta1", defaultValue = "0.9", description = "(default: ${DEFAULT-VALUE})")
  float beta1;

  @Option(
      names = "--adam-beta2",
      defaultValue = "0.999",
      description = "(default: ${DEFAULT-VALUE})")
  float beta2;

  @Option(names = "--adam-eps", defaultValue = "1e-8", description = "(default: ${DEFAULT-VALUE})")
  float eps;

  @Option(
      names = "--adamw",
      defaultValue = "torch",
      paramLabel = "VARIANT",
      description =
          "torch (torch.optim.AdamW, Hugging Face Trainer's default) or hf-legacy (the old"
              + " transformers.AdamW: ε inside the bias correction, decay after the update)"
              + " (default: ${DEFAULT-VALUE}).")
  String adamW;

  @Option(
      names = "--max-grad-norm",
      description = "Clip the global gradient norm (default: no clipping, as in the paper).")
  Float maxGradNorm;

  @Option(
      names = "--loss-chunk",
      paramLabel = "N",
      description =
          "Positions per block of the LM head and loss, so the [rows, length, vocab] logits are"
              + " never whole; 0 computes the full logits (default: "
              + HfCausalLm.DEFAULT_LOSS_CHUNK
              + ").")
  int lossChunk = HfCausalLm.DEFAULT_LOSS_CHUNK;

  @Option(
      names = "--max-length",
      defaultValue = "2048",
      description = "Tokens per row; longer examples keep their start (default: ${DEFAULT-VALUE}).")
  int maxLength;

  @Option(names = "--packing", description = "Pack examples into rows (default: off).")
  boolean packing;

  @Option(
      names = "--group-by-length",
      negatable = true,
      defaultValue = "true",
      fallbackValue = "true",
      description =
          "Order each step's padded rows by length before cutting micro-batches, so less padding"
              + " is computed; the step's gradient is unchanged. --no-group-by-length keeps input"
              + " order (not with --packing) (default: on).")
  boolean groupByLength;

  @Option(
      names = "--no-shuffle",
      description = "Consume examples in file order (default: shuffle).")
  boolean noShuffle;

  @Option(
      names = "--neftune-alpha",
      defaultValue = "0",
      description = "NEFTune noise α; 0 disables it (default: ${DEFAULT-VALUE}).")
  double neftuneAlpha;

  @Option(
      names = "--gradient-checkpointing",
      description =
          "Recompute each decoder layer's forward pass in the backward pass: same gradients,"
              + " fewer stored activations, about a third more compute (default: off).")
  boolean gradientCheckpointing;

  @Option(
      names = "--lora-r",
      paramLabel = "N",
      description =
          "Train LoRA adapters of rank N instead of every weight; the base stays frozen and the"
              + " adapters are written in PEFT's format to OUT/adapter (default: off).")
  Integer loraR;

  @Option(
      names = "--lora-alpha",
      paramLabel = "X",
      description = "LoRA scaling numerator: scaling alpha/r (default: 8, PEFT's).")
  Double loraAlpha;

  @Option(
      names = "--lora-dropout",
      paramLabel = "X",
      description =
          "LoRA dropout on the adapters' inputs in training, in [0, 1) (default: 0, PEFT's).")
  Double loraDropout;

  @Option(
      names = "--lora-targets",
      split = ",",
      paramLabel = "NAME",
      description =
          "Modules to adapt, by name or name suffix as PEFT's target_modules (default: every"
              + " attention and MLP projection).")
  List<String> loraTargets;

  @Option(names = "--lora-rslora", description = "rsLoRA scaling alpha/sqrt(r) (default: off).")
  boolean loraRsLora;

  /** A precision for weights: auto (as the model stores them), f32, bf16 or f16. */
  enum WeightDtype {
    AUTO(null),
    F32(DType.FLOAT),
    BF16(DType.BFLOAT16),
    F16(DType.FLOAT16);

    final DType dtype; // null for AUTO

    WeightDtype(DType dtype) {
      this.dtype = dtype;
    }
  }

  @Option(
      names = "--lora-base-dtype",
      paramLabel = "DTYPE",
      description =
          "Hold the frozen base as auto, f32, bf16 or f16 while training LoRA adapters: bf16 or"
              + " f16 halve its memory (weights rounded to nearest even), computation stays"
              + " float32; auto holds it as the model stores it (a bf16 or f16 model without"
              + " rounding, read from its files without a copy; f32 otherwise) (default: auto).")
  WeightDtype loraBaseDtype;

  @Option(
      names = "--lora-adapter",
      paramLabel = "DIR",
      description =
          "Continue training this PEFT LoRA adapter (its adapter_config.json sets rank, alpha and"
              + " targets).")
  Path loraAdapter;

  @Option(
      names = "--merge",
      description =
          "With LoRA, also write the base model with the adapters merged in to OUT/model, and its"
              + " ONNX export to OUT/model.onnx (default: off: the adapter only).")
  boolean merge;

  @Option(
      names = "--save-dtype",
      paramLabel = "DTYPE",
      description =
          "Store OUT/model's weights as auto, f32, bf16 or f16 (rounded to nearest even); training"
              + " is float32 either way; auto stores each tensor as the base model does, f32 with"
              + " --config (default: auto).")
  WeightDtype saveDtype;

  @Option(
      names = "--runtime",
      defaultValue = "training-api",
      description =
          "training-api (ONNX Runtime's training API) or portable (standard-op graphs on ordinary"
              + " sessions: any ONNX Runtime build, twice the memory per trainable parameter, CPU"
              + " only) (default: ${DEFAULT-VALUE}).")
  String runtime;

  @Option(
      names = "--device",
      defaultValue = "cpu",
      description = "cpu or cuda[:N] (default: ${DEFAULT-VALUE}).")
  String device;

  @Option(
      names = "--threads",
      defaultValue = "0",
      description = "Intra-op threads; 0 lets ONNX Runtime choose (default: ${DEFAULT-VALUE}).")
  int threads;

  @Option(names = "--seed", defaultValue = "42", description = "(default: ${DEFAULT-VALUE})")
  long seed;

  @Option(
      names = "--eval-every",
      defaultValue = "50",
      description = "Steps between held-out evaluations (default: ${DEFAULT-VALUE}).")
  int evalEvery;

  @Option(
      names = "--save-every",
      defaultValue = "0",
      description =
          "Steps between checkpoints; 0 saves only at the end (default: ${DEFAULT-VALUE}).")
  int saveEvery;

  @Option(
      names = "--resume",
      description =
          "Resume the run in --out from its newest checkpoint; data, model and options must be"
              + " the run's own (default: off).")
  boolean resume;

  @Option(
      names = "--overwrite",
      description =
          "Replace a previous run in a non-empty --out: its checkpoints, artifacts, metrics,"
              + " model and curves are deleted first; other files stay (default: off, a non-empty"
              + " --out is refused).")
  boolean overwrite;

  @Option(
      names = "--divergence-weight-growth",
      paramLabel = "X",
      description =
          "Stop when the weights' L2 norm exceeds X times the initial norm, checked before every"
              + " checkpoint is written (default: "
              + DivergenceLimits.DEFAULT_MAX_WEIGHT_NORM_GROWTH
              + ").")
  double divergenceWeightGrowth = DivergenceLimits.DEFAULT_MAX_WEIGHT_NORM_GROWTH;

  @Option(
      names = "--divergence-loss-rise",
      paramLabel = "X",
      description =
          "Stop when the mean loss of the last --divergence-window steps exceeds X times the mean"
              + " of the first ones (default: "
              + DivergenceLimits.DEFAULT_MAX_LOSS_RISE
              + ").")
  double divergenceLossRise = DivergenceLimits.DEFAULT_MAX_LOSS_RISE;

  @Option(
      names = "--divergence-window",
      paramLabel = "N",
      description =
          "Steps in each mean of the loss rule (default: "
              + DivergenceLimits.DEFAULT_LOSS_WINDOW
              + ").")
  int divergenceWindow = DivergenceLimits.DEFAULT_LOSS_WINDOW;

  @Option(
      names = "--no-divergence-check",
      description =
          "Only a NaN or infinite loss stops training; the weight and loss rules are off"
              + " (default: on).")
  boolean noDivergenceCheck;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder.")
  Path out;

  @Override
  public Integer call() throws IOException {
    PrintWriter stdout = spec.commandLine().getOut();
    // Arguments first, so a typo fails before anything is loaded.
    checkOptions();
    Reduction parsedReduction = parseReduction(reduction);
    LearningRateSchedule.Kind parsedSchedule = parseSchedule(schedule);
    AdamWConfig.Variant parsedAdamW = parseAdamW(adamW);
    Trainer.Runtime parsedRuntime = parseRuntime(runtime);
    ExecutionProvider parsedProvider = provider(device);
    DivergenceLimits divergence =
        noDivergenceCheck
            ? DivergenceLimits.off()
            : new DivergenceLimits(divergenceWeightGrowth, divergenceLossRise, divergenceWindow);
    LossPolicy policy = pipeline.policy();
    RunFolder.prepare(out, resume, overwrite);
    CausalLmConfig config = model.config();
    LoraAdapter existing = loraAdapter == null ? null : LoraAdapter.load(loraAdapter, config);
    LoraConfig lora = existing != null ? existing.lora() : loraR != null ? loraConfig() : null;
    ModelDirectory base = model.load(seed);
    if (lora != null) {
      lora = lora.withBaseDType(baseDType(base.weights()));
    }
    MemoryCheck.requireFits(config, lora, parsedRuntime, model.configSource());
    try (HfTokenizer tokenizer = pipeline.loadTokenizer()) {
      requireVocabularyFits(tokenizer, config);
      ExampleEncoder encoder = pipeline.encoder(tokenizer);
      List<ClassifiedExample> train = encode(encoder, data.open());
      List<ClassifiedExample> heldOut =
          evalData == null ? List.of() : encode(encoder, data.open(evalData));
      long total =
          Trainer.totalSteps(
              steps == null ? 0 : steps, epochs, train.size(), batchSize * gradAccum);
      double tokensPerStep = ProgressPrinter.tokensPerStep(train, batchSize * gradAccum);
      // A bar on a terminal; plain lines (one per step) when output goes to a file or pipe.
      TrainingListener progress =
          System.console() != null
              ? new ProgressBarListener(stdout, total, tokensPerStep)
              : new ProgressPrinter(stdout, 1, total, tokensPerStep);
      HfCausalLm lm = HfCausalLm.of(base.config(), base.weights()).withLossChunk(lossChunk);
      if (existing != null) {
        lm = lm.withLora(lora, existing.weights());
      }
      Trainer.Builder builder =
          Trainer.builder(lm, train, out)
              .lossPolicy(policy)
              .reduction(parsedReduction)
              .batch(batchSize, gradAccum)
              .collator(
                  CollatorConfig.builder(maxLength)
                      .packing(packing)
                      .groupByLength(groupByLength)
                      .seed(seed)
                      .build())
              .adamW(new AdamWConfig(lr, beta1, beta2, eps, weightDecay, parsedAdamW))
              .schedule(new LearningRateSchedule(parsedSchedule, warmupRatio))
              .seed(seed)
              .shuffle(!noShuffle)
              .neftuneAlpha(neftuneAlpha)
              .gradientCheckpointing(gradientCheckpointing)
              .checkpoints(saveEvery, 2)
              .resume(resume)
              .overwrite(overwrite)
              .divergence(divergence)
              .runtime(parsedRuntime)
              .runtimeOptions(
                  RuntimeOptions.defaults()
                      .withThreads(threads, 1)
                      .withDeterminism(true, seed)
                      .withProvider(parsedProvider))
              .listener(progress);
      if (steps != null) {
        builder.maxSteps(steps);
      } else {
        builder.epochs(epochs);
      }
      if (maxGradNorm != null) {
        builder.maxGradNorm(maxGradNorm);
      }
      if (loraR != null) {
        builder.lora(lora); // fresh adapters from --seed
      }
      if (!heldOut.isEmpty()) {
        builder.evaluation(heldOut, evalEvery);
      }
      Trainer.Result result;
      try {
        result = builder.build().run();
      } catch (ResumeMismatchException e) {
        throw inFlags(e);
      } finally {
        if (progress instanceof ProgressBarListener bar) {
          bar.close();
        }
      }
      // Drawn from the whole metrics file, so a resumed run's curves include the earlier steps.
      Path png = out.resolve(CURVES);
      OutputFiles.writeAtomically(
          png, file -> Curves.fromMetrics(out.resolve("metrics.jsonl")).writeTo(file));
      Path modelDir = out.resolve(MODEL_DIR);
      List<String> written = new ArrayList<>();
      ModelDirectory trained;
      if (lora == null) {
        trained = withTokenizerFiles(result.trainedModel(base), tokenizerFiles());
      } else {
        LoraAdapter adapter = result.trainedAdapter(lora, base.config());
        Path adapterDir = out.resolve(ADAPTER_DIR);
        adapter.save(adapterDir, model.baseName());
        written.add("adapter in " + adapterDir);
        trained = withTokenizerFiles(adapter.merge(base), tokenizerFiles());
      }
      if (saveDtype != null && saveDtype != WeightDtype.AUTO) {
        trained = trained.withDtype(saveDtype.dtype);
      }
      // A LoRA run's result is its adapter; the merged model (as large as the base, in float32
      // for the ONNX export) only with --merge.
      if (lora == null || merge) {
        trained.save(modelDir);
        written.add("model in " + modelDir);
        // The ONNX inference export: ids, positions and segment ids in, logits out.
        Path onnx = out.resolve(ONNX_EXPORT);
        OnnxIo.write(
            CausalLmGraphs.inference(trained.config(), trained.weights()),
            onnx,
            ONNX_EXTERNAL_DATA_BYTES);
        written.add("ONNX export in " + onnx);
      }
      // A resumed run that had already finished trains no step and has no loss of its own.
      String trainedSteps =
          Double.isNaN(result.lastLoss())
              ? String.format(Locale.ROOT, "already trained %d steps", result.steps())
              : String.format(
                  Locale.ROOT,
                  "trained %d steps, last loss %.4f",
                  result.steps(),
                  result.lastLoss());
      stdout.printf(
          Locale.ROOT,
          "%s; %s, metrics in %s%n",
          trainedSteps,
          String.join(", ", written),
          out.resolve("metrics.jsonl"));
    }
    stdout.flush();
    return Im4jCli.OK;
  }

  /**
   * The LoRA base's dtype: the one asked for, or with {@code auto} (the default) the dtype every
   * base tensor is stored in if it is one half type (held as stored: no rounding), else FLOAT.
   */
  private DType baseDType(Weights weights) {
    if (loraBaseDtype != null && loraBaseDtype != WeightDtype.AUTO) {
      return loraBaseDtype.dtype;
    }
    java.util.Set<DType> stored = new java.util.HashSet<>();
    weights.tensors().forEach(t -> stored.add(t.dtype()));
    DType only = stored.size() == 1 ? stored.iterator().next() : DType.FLOAT;
    return only == DType.FLOAT16 || only == DType.BFLOAT16 ? only : DType.FLOAT;
  }

  private static Trainer.Runtime parseRuntime(String name) {
    return switch (name) {
      case "training-api" -> Trainer.Runtime.TRAINING_API;
      case "portable" -> Trainer.Runtime.PORTABLE;
      default ->
          throw new IllegalArgumentException(
              "--runtime must be training-api or portable but was '" + name + "'");
    };
  }

  /** The LoRA configuration of --lora-r and the flags that refine it. */
  private LoraConfig loraConfig() {
    LoraConfig lora = LoraConfig.of(loraR).withRsLora(loraRsLora);
    if (loraAlpha != null) {
      lora = lora.withAlpha(loraAlpha);
    }
    if (loraDropout != null) {
      lora = lora.withDropout(loraDropout);
    }
    return loraTargets == null ? lora : lora.withTargets(loraTargets);
  }

  /** Every numeric option against its allowed range, naming the flag (exit 2). */
  private void checkOptions() {
    Flags.require(loraR == null || loraR >= 1, "--lora-r", loraR, ">= 1");
    Flags.require(
        loraAlpha == null || (Double.isFinite(loraAlpha) && loraAlpha > 0),
        "--lora-alpha",
        loraAlpha,
        "finite and > 0");
    Flags.require(
        loraDropout == null || (loraDropout >= 0 && loraDropout < 1),
        "--lora-dropout",
        loraDropout,
        "in [0, 1)");
    if (loraR != null && loraAdapter != null) {
      throw new IllegalArgumentException(
          "--lora-r and --lora-adapter exclude each other: the adapter's adapter_config.json sets"
              + " its rank");
    }
    if (loraAdapter != null
        && (loraAlpha != null || loraTargets != null || loraRsLora || loraDropout != null)) {
      throw new IllegalArgumentException(
          "--lora-alpha, --lora-dropout, --lora-targets and --lora-rslora describe new adapters;"
              + " --lora-adapter continues one whose adapter_config.json sets them");
    }
    if (loraR == null
        && loraAdapter == null
        && (loraAlpha != null
            || loraTargets != null
            || loraRsLora
            || loraDropout != null
            || loraBaseDtype != null
            || merge)) {
      throw new IllegalArgumentException(
          "--lora-alpha, --lora-dropout, --lora-targets, --lora-rslora, --lora-base-dtype and"
              + " --merge need --lora-r N (or --lora-adapter DIR)");
    }
    Flags.require(epochs >= 1, "--epochs", epochs, ">= 1");
    Flags.require(
        steps == null || steps >= 1, "--steps", steps, ">= 1 (or leave it out to use --epochs)");
    Flags.require(batchSize >= 1, "--batch-size", batchSize, ">= 1");
    Flags.require(gradAccum >= 1, "--grad-accum", gradAccum, ">= 1");
    Flags.require(Float.isFinite(lr) && lr > 0, "--lr", lr, "finite and > 0");
    Flags.require(warmupRatio >= 0 && warmupRatio <= 1, "--warmup-ratio", warmupRatio, "in [0, 1]");
    Flags.require(
        Float.isFinite(weightDecay) && weightDecay >= 0, "--weight-decay", weightDecay, ">= 0");
    Flags.require(beta1 >= 0 && beta1 < 1, "--adam-beta1", beta1, "in [0, 1)");
    Flags.require(beta2 >= 0 && beta2 < 1, "--adam-beta2", beta2, "in [0, 1)");
    Flags.require(Float.isFinite(eps) && eps > 0, "--adam-eps", eps, "finite and > 0");
    Flags.require(
        maxGradNorm == null || (Float.isFinite(maxGradNorm) && maxGradNorm > 0),
        "--max-grad-norm",
        maxGradNorm,
        "finite and > 0 (or leave it out for no clipping)");
    Flags.require(lossChunk >= 0, "--loss-chunk", lossChunk, ">= 0 (0 = full logits)");
    Flags.require(maxLength >= 1, "--max-length", maxLength, ">= 1");
    Flags.require(
        Double.isFinite(neftuneAlpha) && neftuneAlpha >= 0,
        "--neftune-alpha",
        neftuneAlpha,
        ">= 0");
    Flags.require(threads >= 0, "--threads", threads, ">= 0 (0 lets ONNX Runtime choose)");
    Flags.require(evalEvery >= 1, "--eval-every", evalEvery, ">= 1");
    Flags.require(saveEvery >= 0, "--save-every", saveEvery, ">= 0 (0 saves only at the end)");
    Flags.require(
        divergenceWeightGrowth > 1, "--divergence-weight-growth", divergenceWeightGrowth, "> 1");
    Flags.require(divergenceLossRise > 1, "--divergence-loss-rise", divergenceLossRise, "> 1");
    Flags.require(divergenceWindow >= 1, "--divergence-window", divergenceWindow, ">= 1");
    if (packing && !groupByLength) {
      throw new IllegalArgumentException(
          "--no-group-by-length keeps input order, which --packing cannot (it orders examples by"
              + " length); drop one of them");
    }
    if (resume && overwrite) {
      throw new IllegalArgumentException(
          "--resume continues the run in --out and --overwrite replaces it; give only one");
    }
  }

  /** Fails if the tokenizer can produce ids the model cannot embed, naming both files and sizes. */
  private void requireVocabularyFits(HfTokenizer tokenizer, CausalLmConfig config) {
    int largest = tokenizer.vocabSize() - 1;
    if (largest >= config.vocabSize()) {
      throw new ModelConfigException(
          "the tokenizer in "
              + pipeline.tokenizer
              + " has ids up to "
              + largest
              + " but "
              + model.configSource()
              + " has vocab_size "
              + config.vocabSize()
              + ": ids at or beyond vocab_size cannot be embedded. Use the model's own tokenizer,"
              + " or a config with vocab_size >= "
              + (largest + 1));
    }
  }

  private Map<String, byte[]> tokenizerFiles() throws IOException {
    Map<String, byte[]> files = new HashMap<>();
    for (String name : ModelDirectory.AUXILIARY_FILES) {
      Path file = pipeline.tokenizer.resolve(name);
      if (Files.isRegularFile(file)) {
        files.put(name, Files.readAllBytes(file));
      }
    }
    return files;
  }

  /** {@code trained} with the --tokenizer folder's files added (they replace the base's). */
  static ModelDirectory withTokenizerFiles(
      ModelDirectory trained, Map<String, byte[]> tokenizerFiles) {
    Map<String, byte[]> aux = new HashMap<>();
    for (String name : trained.auxiliaryFileNames()) {
      aux.put(name, trained.auxiliaryFile(name).orElseThrow());
    }
    aux.putAll(tokenizerFiles);
    return ModelDirectory.of(trained.config(), trained.weights(), aux);
  }

  static List<ClassifiedExample> encode(ExampleEncoder encoder, DatasetReader reader) {
    List<ClassifiedExample> examples = new ArrayList<>();
    try (reader) {
      while (reader.hasNext()) {
        DatasetRecord record = reader.next();
        examples.add(encoder.encode(record).example());
      }
    }
    return examples;
  }

  static Reduction parseReduction(String name) {
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "sequence-mean" -> Reduction.SEQUENCE_MEAN;
      case "token-mean" -> Reduction.TOKEN_MEAN;
      case "sum" -> Reduction.SUM;
      default ->
          throw new IllegalArgumentException(
              "--reduction must be sequence-mean, token-mean or sum but was '" + name + "'");
    };
  }

  static LearningRateSchedule.Kind parseSchedule(String name) {
    for (LearningRateSchedule.Kind kind : LearningRateSchedule.Kind.values()) {
      if (kind.name().equalsIgnoreCase(name)) {
        return kind;
      }
    }
    throw new IllegalArgumentException(
        "--schedule must be linear, cosine or constant but was '" + name + "'");
  }

  /** The --adamw names of the library's AdamW formulas. */
  static final Map<String, AdamWConfig.Variant> ADAMW_NAMES =
      Map.of(
          "torch", AdamWConfig.Variant.TORCH, "hf-legacy", AdamWConfig.Variant.HUGGING_FACE_LEGACY);

  static AdamWConfig.Variant parseAdamW(String name) {
    AdamWConfig.Variant v = ADAMW_NAMES.get(name.toLowerCase(Locale.ROOT));
    if (v == null) {
      throw new IllegalArgumentException(
          "--adamw must be torch or hf-legacy but was '" + name + "'");
    }
    return v;
  }

  /** The options that set each field of a run's identity, for resume refusals. */
  private static String flagsOf(String field) {
    if (field.startsWith("data.")) {
      return "--data";
    }
    if (field.equals("model.lora")) {
      return "--lora-r/--lora-alpha/--lora-targets/--lora-rslora/--lora-adapter";
    }
    if (field.startsWith("model.")) {
      return "--model/--config, " + field.substring("model.".length());
    }
    return switch (field) {
      case "seed" -> "--seed";
      case "totalSteps" -> "--steps/--epochs";
      case "adamW" -> "--adamw";
      case "policy" -> "--policy/--prompt-weight";
      case "reduction" -> "--reduction";
      case "optimizer" -> "--lr/--adam-beta1/--adam-beta2/--adam-eps/--weight-decay";
      case "schedule" -> "--schedule/--warmup-ratio";
      case "batch" -> "--batch-size/--grad-accum";
      case "collator" -> "--max-length/--packing/--group-by-length";
      case "maxGradNorm" -> "--max-grad-norm";
      case "neftuneAlpha" -> "--neftune-alpha";
      case "shuffle" -> "--no-shuffle";
      default -> field;
    };
  }

  /** A refused resume in flag names; the AdamW formula as the --adamw value to resume with. */
  static IllegalArgumentException inFlags(ResumeMismatchException e) {
    StringBuilder b =
        new StringBuilder("--resume: the run in ")
            .append(e.checkpointDir())
            .append(" was started with other options:");
    for (ResumeMismatchException.Mismatch m : e.mismatches()) {
      String then = m.checkpoint();
      String now = m.run();
      if (m.field().equals("adamW")) {
        then = adamWName(AdamWConfig.Variant.valueOf(then));
        now = adamWName(AdamWConfig.Variant.valueOf(now));
      }
      b.append(
          String.format(
              Locale.ROOT,
              "%n  %s (%s): the run had %s, this command has %s",
              m.field(),
              flagsOf(m.field()),
              then,
              now));
      if (m.field().equals("adamW")) {
        b.append(" (resume with --adamw ").append(then).append(')');
      }
    }
    return new IllegalArgumentException(
        b.append("\nresume with the run's own data and options, or start in a new --out")
            .toString(),
        e);
  }

  private static String adamWName(AdamWConfig.Variant v) {
    return ADAMW_NAMES.entrySet().stream()
        .filter(n -> n.getValue() == v)
        .findFirst()
        .orElseThrow()
        .getKey();
  }

  static ExecutionProvider provider(String device) {
    if (device.equals("cpu")) {
      return ExecutionProvider.cpu();
    }
    if (device.equals("cuda")) {
      return ExecutionProvider.cuda(0);
    }
    if (device.matches("cuda:[0-9]{1,3}")) {
      return ExecutionProvider.cuda(Integer.parseInt(device.substring(5)));
    }
    throw new IllegalArgumentException("--device must be cpu or cuda[:N] but was '" + device + "'");
  }

  /** Train loss per step and held-out losses per evaluation, drawn as a PNG (XChart). */
  static final class Curves {
    private final List<Long> steps = new ArrayList<>();
    private final List<Double> loss = new ArrayList<>();
    private final List<Long> evalSteps = new ArrayList<>();
    private final List<Double> evalOutput = new ArrayList<>();
    private final List<Double> evalInstruction = new ArrayList<>();

    /** The curves of every record in a trainer's {@code metrics.jsonl}, in file order. */
    static Curves fromMetrics(Path metrics) throws IOException {
      Curves c = new Curves();
      ObjectMapper json = new ObjectMapper();
      for (String line : Files.readAllLines(metrics, StandardCharsets.UTF_8)) {
        if (line.isBlank()) {
          continue;
        }
        JsonNode m = json.readTree(line);
        switch (m.path("type").asText()) {
          case "train" -> {
            c.steps.add(m.path("step").asLong());
            c.loss.add(m.path("loss").asDouble());
          }
          case "eval" -> {
            c.evalSteps.add(m.path("step").asLong());
            c.evalOutput.add(m.path("outputOnlyLoss").asDouble());
            c.evalInstruction.add(m.path("instructionLoss").asDouble());
          }
          default -> {
            // other record types are not drawn
          }
        }
      }
      return c;
    }

    /** The steps of the train records, in file order. */
    List<Long> trainSteps() {
      return List.copyOf(steps);
    }

    void writeTo(java.io.OutputStream out) throws IOException {
      XYChart chart =
          new XYChartBuilder()
              .width(900)
              .height(540)
              .title("im4j train")
              .xAxisTitle("optimizer step")
              .yAxisTitle("loss")
              .build();
      if (!steps.isEmpty()) {
        chart.addSeries("train step loss (the policy's reduction)", steps, loss);
      }
      if (!evalSteps.isEmpty()) {
        chart.addSeries("held-out output-only (IT) loss", evalSteps, evalOutput);
        chart.addSeries("held-out IM loss", evalSteps, evalInstruction);
      }
      BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
    }
  }

  /** One line per step: loss, learning rate; one per evaluation. */
  static final class ProgressPrinter implements TrainingListener {
    private final PrintWriter out;
    private final int every;
    private final long totalSteps;
    private final double tokensPerStep;
    private final long started = System.nanoTime();

    /**
     * Prints every {@code every}-th step and every evaluation.
     *
     * @param totalSteps steps of the run, for the ETA
     * @param tokensPerStep mean tokens an optimizer step processes (mean example length times
     *     examples per step), for the approximate throughput
     */
    ProgressPrinter(PrintWriter out, int every, long totalSteps, double tokensPerStep) {
      this.out = out;
      this.every = Math.max(1, every);
      this.totalSteps = totalSteps;
      this.tokensPerStep = tokensPerStep;
    }

    /** Mean tokens per step for {@code examplesPerStep} examples drawn from {@code train}. */
    static double tokensPerStep(List<ClassifiedExample> train, int examplesPerStep) {
      long tokens = 0;
      for (ClassifiedExample e : train) {
        tokens += e.length();
      }
      return train.isEmpty() ? 0 : (double) tokens / train.size() * examplesPerStep;
    }

    @Override
    public void onStep(StepMetrics m) {
      if (m.step() % every != 0) {
        return;
      }
      double seconds = (System.nanoTime() - started) / 1e9;
      double perStep = seconds / m.step();
      out.printf(
          Locale.ROOT,
          "step %d/%d  epoch %d  loss %.4f  lr %.2e  ~%.0f tokens/s  %.1fs elapsed, ETA %.0fs%s%n",
          m.step(),
          totalSteps,
          m.epoch(),
          m.loss(),
          m.learningRate(),
          tokensPerStep / perStep,
          seconds,
          perStep * Math.max(0, totalSteps - m.step()),
          m.targets() == 0 ? "  (no trained target in this step: loss 0, zero gradient)" : "");
      out.flush();
    }

    @Override
    public void onEval(EvalMetrics m) {
      out.printf(
          Locale.ROOT,
          "eval step %d  output-only loss %.4f  IM loss %.4f%n",
          m.step(),
          m.outputOnlyLoss(),
          m.instructionLoss());
      out.flush();
    }
  }
}
