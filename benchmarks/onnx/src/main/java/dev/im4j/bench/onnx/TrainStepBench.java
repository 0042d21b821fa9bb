package dev.im4j.bench.onnx;

import dev.im4j.core.collate.CollatorConfig;
import dev.im4j.core.mask.ClassifiedExample;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.mask.TokenClass;
import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.model.CausalLmConfig;
import dev.im4j.onnx.model.CausalLmParameters;
import dev.im4j.onnx.model.LoraConfig;
import dev.im4j.onnx.model.ParameterSpec;
import dev.im4j.onnx.runtime.ExecutionProvider;
import dev.im4j.onnx.runtime.RuntimeOptions;
import dev.im4j.onnx.train.AdamWConfig;
import dev.im4j.onnx.train.DivergenceLimits;
import dev.im4j.onnx.train.HfCausalLm;
import dev.im4j.onnx.train.LearningRateSchedule;
import dev.im4j.onnx.train.Trainer;
import dev.im4j.onnx.train.TrainingListener;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Training-step throughput of im4j's {@link Trainer} on a seeded random-weights model of a Hugging
 * Face {@code config.json} shape (a main; run by {@code benchmarks/onnx/train_vs_torch.sh}, which
 * runs {@code train_vs_torch.py}, the PyTorch peer, interleaved on the same shapes).
 *
 * <p>Usage: {@code TrainStepBench <config.json> <steps> <rows> <seqLen> <threads> [outDir]
 * [--gradient-checkpointing] [--optimization=LEVEL] [--ort-profile=PREFIX] [--lora-r=N
 * [--lora-alpha=X] [--lora-base-dtype=f32|bf16|f16]] [--runtime=portable] [--device=cuda]} (the
 * flag: {@link Trainer.Builder#gradientCheckpointing}; the graph optimisation level, default ALL;
 * ONNX Runtime's profiler, one JSON file per session, summarised by {@code ort_profile_summary.py};
 * LoRA adapters of rank N on every projection, {@link Trainer.Builder#lora}, alpha default 8 as the
 * peer's, the base held in float32 (as the peer's) or in half precision, {@link
 * LoraConfig#withBaseDType}; the runtime, {@link Trainer.Builder#runtime}, default the training
 * API; the CUDA execution provider on GPU 0). Every step trains {@code rows} examples of exactly
 * {@code seqLen} seeded random ids (one micro-batch, no packing, no padding), every token a target
 * ({@link LossPolicy#allTokens()}), AdamW lr 2e-5 constant (no warm-up, no decay, as the peer's
 * {@code torch.optim.AdamW}), fp32, ORT with {@code threads} intra-op threads and 1 inter-op
 * thread. Divergence checks are off (random weights on random ids have no loss to watch), and the
 * only checkpoint is the trainer's final one, written after the last step is timed.
 *
 * <p>Checks that every step trained all {@code rows · (seqLen - 1)} next-token targets, then prints
 * one line, keys and values separated by {@code =}:
 *
 * <pre>
 * RESULT im4j config=&lt;file name&gt; params=&lt;N&gt; steps= rows= seq= threads=
 *   jvm_to_main_s= init_s= first_step_s= first_step_run_s= graph_s= artifacts_s= session_s=
 *   median_step_s= tokens_per_s= hwm_mib=
 * </pre>
 *
 * <p>{@code first_step_s} is from the main's start to the end of step 1; {@code init_s} the part
 * before {@link Trainer#run()} (config, random weights, data); {@code first_step_run_s} the rest:
 * training graph, artifacts, session and step 1, of which {@code graph_s}, {@code artifacts_s} and
 * {@code session_s} are the first three ({@link TrainingListener.StartMetrics}). {@code
 * median_step_s} is the median of steps 2..N (each from the previous step's end), {@code
 * tokens_per_s} is {@code rows · seqLen / median_step_s}, {@code hwm_mib} the process's {@code
 * VmHWM} at exit (the harness takes the peak RSS from {@code /usr/bin/time -v}).
 */
public final class TrainStepBench {
  /** Seed of the weights, the ids and the trainer. */
  static final long SEED = 1234;

  /** The peer's {@code torch.optim.AdamW(lr=2e-5)}. */
  static final float LEARNING_RATE = 2e-5f;

  private TrainStepBench() {}

  public static void main(String[] arguments) throws IOException {
    long mainStart = System.nanoTime();
    String flag = "--gradient-checkpointing";
    boolean recompute = Arrays.asList(arguments).contains(flag);
    RuntimeOptions.GraphOptimization level =
        RuntimeOptions.GraphOptimization.valueOf(option(arguments, "--optimization=", "ALL"));
    String profile = option(arguments, "--ort-profile=", null);
    Trainer.Runtime runtime =
        option(arguments, "--runtime=", "training-api").equals("portable")
            ? Trainer.Runtime.PORTABLE
            : Trainer.Runtime.TRAINING_API;
    boolean cuda = option(arguments, "--device=", "cpu").equals("cuda");
    String loraRank = option(arguments, "--lora-r=", null);
    LoraConfig lora =
        loraRank == null
            ? null
            : LoraConfig.of(positive("--lora-r", loraRank))
                .withAlpha(Double.parseDouble(option(arguments, "--lora-alpha=", "8")))
                .withBaseDType(baseDType(option(arguments, "--lora-base-dtype=", "f32")));
    String[] args =
        Arrays.stream(arguments)
            .filter(a -> !a.equals(flag) && !a.startsWith("--"))
            .toArray(String[]::new);
    long jvmToMainMs =
        System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime();
    if (args.length < 5 || args.length > 6) {
      throw new IllegalArgumentException(
          "usage: TrainStepBench <config.json> <steps> <rows> <seqLen> <threads> [outDir] but got "
              + args.length
              + " arguments: "
              + Arrays.toString(args));
    }
    Path configFile = Path.of(args[0]);
    int steps = positive("steps", args[1]);
    int rows = positive("rows", args[2]);
    int seqLen = positive("seqLen", args[3]);
    int threads = positive("threads", args[4]);
    if (steps < 2) {
      throw new IllegalArgumentException(
          "steps must be >= 2 (step 1 is timed apart) but was " + steps);
    }
    Path outDir =
        args.length == 6 ? Path.of(args[5]) : Files.createTempDirectory("im4j-train-step-bench");

    MemorySampler memory = MemorySampler.start();
    CausalLmConfig config = CausalLmConfig.read(configFile);
    long params = 0;
    for (ParameterSpec p : CausalLmParameters.expected(config)) {
      params += p.numel();
    }
    if (lora != null) {
      params += lora.parameterCount(config);
    }
    HfCausalLm model =
        HfCausalLm.of(config, CausalLmParameters.initialize(config, SEED, DType.FLOAT));
    List<ClassifiedExample> examples = examples(steps * rows, seqLen, config.vocabSize());

    long[] stepEnds = new long[steps]; // nanoTime at the end of each step
    long[] targets = new long[steps]; // trained positions of each step: rows * (seqLen - 1)
    double[] start = new double[3]; // graph, artifacts, session seconds
    TrainingListener timer =
        new TrainingListener() {
          @Override
          public void onStart(StartMetrics m) {
            start[0] = m.graphSeconds();
            start[1] = m.artifactsSeconds();
            start[2] = m.sessionSeconds();
          }

          @Override
          public void onStep(StepMetrics m) {
            stepEnds[(int) m.step() - 1] = System.nanoTime();
            if (m.step() == steps) {
              memory.phase(MemorySampler.Phase.FINAL_CHECKPOINT);
            } else if (m.step() == 1) {
              memory.phase(MemorySampler.Phase.STEPS);
            }
            targets[(int) m.step() - 1] = m.targets();
          }
        };
    Trainer.Builder builder =
        Trainer.builder(model, examples, outDir)
            .lossPolicy(LossPolicy.allTokens())
            .batch(rows, 1)
            .maxSteps(steps)
            .shuffle(false)
            .seed(SEED)
            .adamW(AdamWConfig.defaults().withLearningRate(LEARNING_RATE))
            .schedule(new LearningRateSchedule(LearningRateSchedule.Kind.CONSTANT, 0))
            .divergence(DivergenceLimits.off())
            .collator(CollatorConfig.builder(seqLen).packing(false).build())
            .runtimeOptions(runtime(threads, level, profile, cuda))
            .gradientCheckpointing(recompute)
            .runtime(runtime)
            .overwrite(true)
            .listener(timer);
    if (lora != null) {
      builder.lora(lora);
    }
    Trainer trainer = builder.build();
    memory.phase(MemorySampler.Phase.FIRST_STEP);
    long runStart = System.nanoTime();
    Trainer.Result result = trainer.run();
    memory.stop();
    if (result.steps() != steps) {
      throw new IllegalStateException("ran " + result.steps() + " steps, expected " + steps);
    }
    for (int s = 0; s < steps; s++) {
      if (targets[s] != rows * (seqLen - 1L)) {
        throw new IllegalStateException(
            "step "
                + (s + 1)
                + " trained "
                + targets[s]
                + " positions, not "
                + rows * (seqLen - 1L));
      }
    }

    double[] later = new double[steps - 1]; // seconds of steps 2..N
    for (int s = 1; s < steps; s++) {
      later[s - 1] = (stepEnds[s] - stepEnds[s - 1]) / 1e9;
    }
    Arrays.sort(later);
    double median =
        later.length % 2 == 1
            ? later[later.length / 2]
            : (later[later.length / 2 - 1] + later[later.length / 2]) / 2;
    System.out.printf(
        Locale.ROOT,
        "RESULT im4j config=%s params=%d steps=%d rows=%d seq=%d threads=%d jvm_to_main_s=%.3f"
            + " init_s=%.3f first_step_s=%.3f first_step_run_s=%.3f graph_s=%.3f artifacts_s=%.3f"
            + " session_s=%.3f median_step_s=%.4f"
            + " tokens_per_s=%.1f hwm_mib=%d last_loss=%.4f recompute=%d lora_r=%d runtime=%s %s%n",
        configFile.getFileName(),
        params,
        steps,
        rows,
        seqLen,
        threads,
        jvmToMainMs / 1e3,
        (runStart - mainStart) / 1e9,
        (stepEnds[0] - mainStart) / 1e9,
        (stepEnds[0] - runStart) / 1e9,
        start[0],
        start[1],
        start[2],
        median,
        rows * (double) seqLen / median,
        highWaterMarkMib(),
        result.lastLoss(),
        recompute ? 1 : 0,
        lora == null ? 0 : lora.rank(),
        runtime,
        memory.summary());
  }

  /** {@code f32}, {@code bf16} or {@code f16} as a dtype. */
  private static DType baseDType(String name) {
    return switch (name) {
      case "f32" -> DType.FLOAT;
      case "bf16" -> DType.BFLOAT16;
      case "f16" -> DType.FLOAT16;
      default ->
          throw new IllegalArgumentException(
              "--lora-base-dtype must be f32, bf16 or f16 but was " + name);
    };
  }

  /** The value of {@code --name=value} among {@code arguments}, or {@code otherwise}. */
  private static String option(String[] arguments, String prefix, String otherwise) {
    return Arrays.stream(arguments)
        .filter(a -> a.startsWith(prefix))
        .map(a -> a.substring(prefix.length()))
        .reduce((a, b) -> b)
        .orElse(otherwise);
  }

  private static RuntimeOptions runtime(
      int threads, RuntimeOptions.GraphOptimization level, String profile, boolean cuda) {
    RuntimeOptions options =
        RuntimeOptions.defaults().withThreads(threads, 1).withOptimization(level);
    if (cuda) {
      options = options.withProvider(ExecutionProvider.cuda(0));
    }
    return profile == null ? options : options.withProfile(Path.of(profile));
  }

  /**
   * {@code count} examples of {@code seqLen} seeded random ids in {@code [0, vocab)}, all template
   * text (turn -1), which {@link LossPolicy#allTokens()} trains like every other class.
   */
  static List<ClassifiedExample> examples(int count, int seqLen, int vocab) {
    SplittableRandom random = new SplittableRandom(SEED);
    byte[] classes = new byte[seqLen];
    Arrays.fill(classes, (byte) TokenClass.TEMPLATE.ordinal());
    int[] turns = new int[seqLen];
    Arrays.fill(turns, -1);
    List<ClassifiedExample> examples = new ArrayList<>(count);
    for (int e = 0; e < count; e++) {
      examples.add(ClassifiedExample.of(random.ints(seqLen, 0, vocab).toArray(), classes, turns));
    }
    return examples;
  }

  private static int positive(String name, String value) {
    int v;
    try {
      v = Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " must be an integer but was " + value, e);
    }
    if (v <= 0) {
      throw new IllegalArgumentException(name + " must be > 0 but was " + v);
    }
    return v;
  }

  /** The process's peak resident set ({@code VmHWM} of /proc/self/status), or -1 if unknown. */
  static long highWaterMarkMib() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
        }
      }
    } catch (IOException | NumberFormatException e) {
      return -1; // not Linux: the harness reads the peak from /usr/bin/time instead
    }
    return -1;
  }
}
