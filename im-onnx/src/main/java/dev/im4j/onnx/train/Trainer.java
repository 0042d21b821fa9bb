package dev.im4j.onnx.train;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkState;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.im4j.core.collate.Batch;
import dev.im4j.core.collate.Collator;
import dev.im4j.core.collate.CollatorConfig;
import dev.im4j.core.loss.Reduction;
import dev.im4j.core.loss.StepCoefficients;
import dev.im4j.core.mask.ClassifiedExample;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.mask.TokenizedExample;
import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.graph.Value;
import dev.im4j.onnx.model.CausalLmConfig;
import dev.im4j.onnx.model.CausalLmGraphs;
import dev.im4j.onnx.model.LoraAdapter;
import dev.im4j.onnx.model.LoraConfig;
import dev.im4j.onnx.model.ModelDirectory;
import dev.im4j.onnx.model.Tensor;
import dev.im4j.onnx.model.Weights;
import dev.im4j.onnx.runtime.PortableRuntime;
import dev.im4j.onnx.runtime.RuntimeOptions;
import dev.im4j.onnx.runtime.TrainingApiRuntime;
import dev.im4j.onnx.runtime.TrainingArtifacts;
import dev.im4j.onnx.train.checkpoint.OptimizerGroup;
import dev.im4j.onnx.train.checkpoint.ParameterOptimizerState;
import dev.im4j.onnx.train.checkpoint.TrainingCheckpoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Instruction tuning on ONNX Runtime's training API: the training loop with gradient accumulation,
 * learning-rate schedule, NEFTune, held-out evaluation, metrics, atomic checkpoints, exact resume
 * and a NaN guard.
 *
 * <p>One optimizer step takes the next {@code microBatchRows · gradientAccumulation} examples of
 * the epoch's order, collates them into micro-batches of at most {@code microBatchRows} rows,
 * computes the {@link StepCoefficients} of the whole step <em>before</em> running any micro-batch
 * (so the step loss {@code Σ c · nll} is normalised across all of them: docs/invariants.md, 15),
 * accumulates the gradients in ORT's buffers and applies AdamW once.
 *
 * <p>Examples arrive classified ({@code ExampleEncoder} renders, tokenizes and classifies them,
 * without weights) and are weighed once, here, by the training {@link LossPolicy}: the policy is
 * decided in one place. Optional gradient-norm clipping runs in the optimizer model ({@link
 * TrainingArtifactsBuilder#clipGradNorm}).
 *
 * <p>Not thread-safe; {@link #run()} opens and closes its own native session.
 */
public final class Trainer {
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * The most AdamW moment bytes a resumable checkpoint may hold: ONNX Runtime 1.24 writes moments
   * inline in the checkpoint's flatbuffer, which is limited to 2 GiB; 64 MiB are left for names,
   * shapes and the parameters written inline. About 260 M trainable fp32 parameters.
   */
  public static final long MAX_SAVED_MOMENT_BYTES = (1L << 31) - (64L << 20);

  private final Builder b;
  private final List<TokenizedExample> train;
  // the builder's model, with fresh LoRA adapters if the builder asks for them
  private final CausalLmSource model;
  // the builder's frozen parameters and those the model never trains (a LoRA base)
  private final Set<String> frozen;
  private int[] order; // example order of epoch orderEpoch, computed when a step first needs it
  private int orderEpoch = -1;

  private Trainer(Builder b) {
    this.b = b;
    this.train = weigh(b.policy, b.trainSet);
    this.model = b.lora == null ? b.model : withFreshAdapters(b.model, b.lora, b.seed);
    Set<String> all = new java.util.TreeSet<>(b.frozen);
    all.addAll(model.frozenParameters());
    this.frozen = Set.copyOf(all);
  }

  private static CausalLmSource withFreshAdapters(
      CausalLmSource model, LoraConfig lora, long seed) {
    checkArgument(
        model instanceof HfCausalLm hf && hf.lora().isEmpty(),
        "LoRA needs a Hugging Face model without adapters (HfCausalLm), not %s; to continue"
            + " training adapters, pass HfCausalLm.withLora(...) as the model instead",
        model);
    HfCausalLm hf = (HfCausalLm) model;
    return hf.withLora(lora, lora.initialize(hf.config(), seed));
  }

  private static List<TokenizedExample> weigh(LossPolicy policy, List<ClassifiedExample> set) {
    List<TokenizedExample> weighed = new ArrayList<>(set.size());
    for (ClassifiedExample e : set) {
      weighed.add(policy.weigh(e));
    }
    return List.copyOf(weighed);
  }

  /** Which ONNX Runtime path trains (docs/runtimes.md compares them). */
  public enum Runtime {
    /** ONNX Runtime's on-device training API (needs its training-enabled native library). */
    TRAINING_API,
    /**
     * Standard-op graphs on ordinary sessions ({@link PortableRuntime}): any ONNX Runtime build;
     * twice the training API's memory per trainable parameter; its state in host memory.
     */
    PORTABLE
  }

  /** A builder for training {@code model} on {@code trainSet}, writing into {@code outputDir}. */
  public static Builder builder(
      CausalLmSource model, List<ClassifiedExample> trainSet, Path outputDir) {
    return new Builder(model, trainSet, outputDir);
  }

  /** The LoRA dropout probability of the model being trained (0 without adapters). */
  private double loraDropout() {
    return model instanceof HfCausalLm hf ? hf.lora().map(LoraConfig::dropout).orElse(0.0) : 0;
  }

  /** What a finished run reports. */
  public record Result(long steps, double lastLoss, Path finalCheckpoint) {
    /** The weights of the final checkpoint. */
    public TrainingCheckpoint weights() {
      return TrainingCheckpoint.read(finalCheckpoint.resolve(CheckpointStore.ORT_CHECKPOINT));
    }

    /**
     * {@code base} (the model the run started from) with the trained weights, each stored in its
     * base tensor's dtype; config and auxiliary files (tokenizer, chat template) are the base's.
     * The weights are read from the final checkpoint when used (saving the directory streams them),
     * so that checkpoint must stay in place meanwhile.
     *
     * @throws IllegalStateException if the final checkpoint lacks one of the base's tensors, or the
     *     run trained LoRA adapters (whose base is unchanged: use {@link #trainedAdapter} and
     *     {@link LoraAdapter#merge})
     */
    public ModelDirectory trainedModel(ModelDirectory base) {
      TrainingCheckpoint trained = weights();
      for (Tensor t : trained.trainable()) {
        checkState(
            !t.name().endsWith(LoraConfig.A_SUFFIX),
            "this run trained LoRA adapters and left the base unchanged; take them with"
                + " trainedAdapter(lora, config), and merge them with LoraAdapter.merge(base)");
      }
      List<Tensor> tensors = new ArrayList<>();
      for (Tensor t : base.weights().tensors()) {
        Tensor c =
            trained
                .parameter(t.name())
                .orElseThrow(
                    () ->
                        new IllegalStateException(
                            "the final checkpoint lacks parameter " + t.name()));
        checkState(
            java.util.Arrays.equals(c.shape(), t.shape()),
            "the final checkpoint's %s has dims %s but the base model's has %s",
            t.name(),
            java.util.Arrays.toString(c.shape()),
            java.util.Arrays.toString(t.shape()));
        tensors.add(c.withDtype(t.dtype()));
      }
      return base.withWeights(Weights.of(tensors));
    }

    /**
     * The trained LoRA adapters of a run on {@code config}'s model with adapters {@code lora}
     * ({@link HfCausalLm#withLora}), read from the final checkpoint when used (so it must stay in
     * place until they are saved or merged).
     *
     * @throws IllegalStateException if the final checkpoint lacks one of the adapters' tensors
     */
    public LoraAdapter trainedAdapter(LoraConfig lora, CausalLmConfig config) {
      TrainingCheckpoint trained = weights();
      List<Tensor> tensors = new ArrayList<>();
      for (LoraConfig.Adapter a : lora.adapters(config)) {
        for (String name : List.of(a.aName(), a.bName())) {
          tensors.add(
              trained
                  .parameter(name)
                  .orElseThrow(
                      () ->
                          new IllegalStateException(
                              "the final checkpoint lacks adapter tensor " + name)));
        }
      }
      return new LoraAdapter(lora, config, Weights.of(tensors));
    }
  }

  int examplesPerStep() {
    return b.microBatchRows * b.gradientAccumulation;
  }

  int stepsPerEpoch() {
    return (train.size() + examplesPerStep() - 1) / examplesPerStep();
  }

  long totalSteps() {
    return totalSteps(b.maxSteps, b.epochs, train.size(), examplesPerStep());
  }

  /**
   * The optimizer steps of a run: {@code maxSteps} if positive, else {@code epochs} passes of
   * {@code ceil(examples / examplesPerStep)} steps (the last step of an epoch may be short).
   */
  public static long totalSteps(long maxSteps, int epochs, int examples, int examplesPerStep) {
    return maxSteps > 0
        ? maxSteps
        : (long) epochs * ((examples + examplesPerStep - 1) / examplesPerStep);
  }

  /** Example indices of {@code epoch} in training order: seeded shuffle, or file order. */
  int[] order(int epoch) {
    int[] order = new int[train.size()];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    if (b.shuffle) {
      SplittableRandom r = new SplittableRandom(b.seed * 31 + epoch);
      for (int i = order.length - 1; i > 0; i--) {
        int j = r.nextInt(i + 1);
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
    }
    return order;
  }

  /**
   * Trains to the end, resuming from the newest checkpoint in the output folder when {@link
   * Builder#resume} is set.
   *
   * @throws IllegalArgumentException if the output folder holds a previous run and neither {@link
   *     Builder#resume} nor {@link Builder#overwrite} is set, if a resume finds no checkpoint, or
   *     if the checkpoint was written by a run with other data, model or options (every differing
   *     field is named), or if checkpoints before the last step would hold more AdamW moments than
   *     ONNX Runtime can save ({@link #MAX_SAVED_MOMENT_BYTES})
   * @throws TrainingDataException if no example has a trained target within the max length, or an
   *     id is outside the model's vocabulary
   * @throws TrainingDivergedException if a step's loss is NaN or infinite (nothing of that step is
   *     applied), or a rule of {@link Builder#divergence} is broken; no checkpoint holding diverged
   *     weights is written, and the message names the last one from before the divergence
   */
  public Result run() {
    long total = totalSteps();
    checkArgument(total > 0, "nothing to train: %s examples, total steps %s", train.size(), total);
    Collator collator = Collator.of(b.collator);
    requireTargets(collator);
    CheckpointStore store = prepareOutputFolder();
    List<Tensor> initial = model.initialWeights();
    requireResumableCheckpoints(initial, total);
    Map<String, String> identity = identity();
    LossRiseRule lossRule = new LossRiseRule(b.divergence);
    Optional<Path> resumeFrom = b.resume ? store.latest() : Optional.empty();
    long start = 0;
    if (resumeFrom.isPresent()) {
      start = checkResume(resumeFrom.get(), identity, total);
      truncateMetrics(start).forEach(lossRule::add);
    }
    double lastLoss = Double.NaN;
    Path last = resumeFrom.orElse(null);
    Started started =
        start(initial, resumeFrom.map(p -> p.resolve(CheckpointStore.ORT_CHECKPOINT)));
    initial = null; // the weights now live in the runtime
    double initialNorm = started.initialNorm();
    try (StepRuntime rt = started.runtime()) {
      b.listeners.forEach(l -> l.onStart(started.times()));
      FeedBuffers feeds =
          new FeedBuffers(
              model.hiddenSize(),
              rt.trainInputNames().contains(CausalLmGraphs.EMBEDDING_NOISE),
              rt.trainInputNames().contains(CausalLmGraphs.LORA_DROPOUT));
      for (long s = start; s < total; s++) {
        long done = s + 1;
        int epoch = (int) (s / stepsPerEpoch());
        List<Batch> batches = collator.collate(examplesOfStep(s), b.microBatchRows).batches();
        StepCoefficients c =
            StepCoefficients.of(b.reduction, batches); // the whole step, before any run
        float lr = b.schedule.at(b.adamW.learningRate(), s, total);
        double stepLoss = accumulate(rt, feeds, batches, c, s, lr);
        requireFinite(stepLoss, done, lr, last);
        rt.optimizerStep();
        lastLoss = stepLoss;
        TrainingListener.StepMetrics sm =
            new TrainingListener.StepMetrics(
                "train", done, epoch, stepLoss, lr, c.totalWeight(), targets(batches));
        metric(sm);
        b.listeners.forEach(l -> l.onStep(sm));
        requireNoLossRise(lossRule, stepLoss, done, store);
        if (b.evalEvery > 0 && !b.evalSet.isEmpty() && (done % b.evalEvery == 0 || done == total)) {
          TrainingListener.EvalMetrics em = evaluate(rt, collator, feeds, done);
          metric(em);
          b.listeners.forEach(l -> l.onEval(em));
        }
        if ((b.checkpointEvery > 0 && done % b.checkpointEvery == 0) || done == total) {
          Path previous = last;
          last =
              store.save(
                  rt,
                  state(done, total, identity),
                  done < total, // a finished run is never resumed: its moments are not kept
                  file -> checkWeights(file, initialNorm, done, previous));
          Path saved = last;
          b.listeners.forEach(l -> l.onCheckpoint(done, saved));
        }
      }
    }
    if (last == null) {
      throw new IllegalStateException("training finished without a final checkpoint");
    }
    return new Result(total, lastLoss, last);
  }

  /**
   * Fails before any work if a checkpoint before the last step would need AdamW moments that ONNX
   * Runtime cannot save: it writes them inside the checkpoint's flatbuffer, which stops at 2 GiB
   * ({@link #MAX_SAVED_MOMENT_BYTES}), whatever the external-data form does for the parameters.
   */
  private void requireResumableCheckpoints(List<Tensor> weights, long total) {
    if (b.checkpointEvery == 0 || b.checkpointEvery >= total) {
      return; // only the final checkpoint, which holds no moments
    }
    long trainable = 0;
    for (Tensor t : weights) {
      if (!frozen.contains(t.name())) {
        trainable += t.numel();
      }
    }
    long momentBytes = 2 * Float.BYTES * trainable;
    checkArgument(
        momentBytes <= MAX_SAVED_MOMENT_BYTES,
        "checkpoints every %s steps cannot be saved for this model: its %s trainable parameters"
            + " have %s MiB of AdamW moments, and ONNX Runtime writes moments inside the"
            + " checkpoint file, which holds at most %s MiB of them (about %s trainable"
            + " parameters); use checkpoints(0, keep) (--save-every 0: only the final checkpoint,"
            + " which holds no moments) or freeze parameters",
        b.checkpointEvery,
        trainable,
        momentBytes >> 20,
        MAX_SAVED_MOMENT_BYTES >> 20,
        MAX_SAVED_MOMENT_BYTES / (2 * Float.BYTES));
  }

  /** An open runtime, the initial weights' L2 norm and the start's timings. */
  private record Started(
      StepRuntime runtime, double initialNorm, TrainingListener.StartMetrics times) {}

  /**
   * Builds the training graph and opens the builder's runtime on the initial weights, or on the
   * checkpoint {@code resume}: the training API from artifacts written into {@code
   * outputDir/artifacts}, the portable runtime from its standard-op graphs with the weights loaded
   * into its buffers.
   */
  private Started start(List<Tensor> initial, Optional<Path> resume) {
    long graphStart = System.nanoTime();
    TrainingGraph graph =
        model.trainingGraph(
            frozen, b.collator.maxLength(), b.neftuneAlpha > 0, b.gradientCheckpointing);
    boolean evaluates = b.evalEvery > 0 && !b.evalSet.isEmpty();
    RuntimeOptions options = b.runtimeOptions.withDeterminism(true, b.seed);
    long artifactsStart = System.nanoTime();
    // frozen inputs the graph declares in half precision (a LoRA base): fed by the runtime from
    // the model's weights, never part of a checkpoint, so they come from the model on a resume too
    List<Tensor> fed = fedWeights(initial, graph);
    if (b.runtime == Runtime.TRAINING_API) {
      TrainingArtifacts artifacts = writeArtifacts(graph, initial);
      // read back from the file: producing seeded or widened weights again costs as much as writing
      double norm = TrainingCheckpoint.scanParameters(artifacts.checkpoint()).l2Norm();
      long artifactsEnd = System.nanoTime();
      if (!evaluates) {
        artifacts = artifacts.withoutEvalModel(); // a second session costs time and memory
      }
      if (resume.isPresent()) {
        artifacts = artifacts.withCheckpoint(resume.get());
      }
      StepRuntime rt = StepRuntime.of(TrainingApiRuntime.open(artifacts, options, fed));
      return new Started(rt, norm, times(graphStart, artifactsStart, artifactsEnd));
    }
    byte[] eval = evaluates ? TrainingArtifactsBuilder.evalModelBytes(graph) : null;
    List<Value> trainable = PortableGraphs.trainable(graph);
    var optimizer = PortableGraphs.optimizer(trainable, b.adamW, b.maxGradNorm);
    var step = PortableGraphs.step(graph); // after the eval model: it extends the graph
    // the weights the portable runtime holds as parameters and checkpoints: all but the fed ones
    Set<String> fedNames = new java.util.HashSet<>();
    fed.forEach(t -> fedNames.add(t.name()));
    List<Tensor> checkpointed = new ArrayList<>();
    for (Tensor t : initial) {
      if (!fedNames.contains(t.name())) {
        checkpointed.add(t);
      }
    }
    // the initial weights' norm: read from the runtime's buffers once loaded (producing seeded or
    // widened weights twice costs twice), from the weights themselves before a resume's state
    double norm = resume.isPresent() ? l2Norm(checkpointed) : Double.NaN;
    PortableRuntime.State state;
    if (resume.isPresent()) {
      TrainingCheckpoint checkpoint = TrainingCheckpoint.read(resume.get());
      Map<String, List<Tensor>> moments = new java.util.HashMap<>();
      // a run's final checkpoint holds no optimizer state; resuming it trains no further step
      Optional<OptimizerGroup> group = checkpoint.optimizerGroup(OptimizerGroup.DEFAULT_NAME);
      for (ParameterOptimizerState p : group.map(OptimizerGroup::parameters).orElse(List.of())) {
        moments.put(
            p.parameterName(),
            List.of(
                p.momentum(ParameterOptimizerState.FIRST_MOMENT).orElseThrow(),
                p.momentum(ParameterOptimizerState.SECOND_MOMENT).orElseThrow()));
      }
      state =
          new PortableRuntime.State(
              ordered(checkpoint.trainable(), trainable),
              checkpoint.frozen(),
              moments,
              group.map(OptimizerGroup::step).orElse(0L),
              fed);
    } else {
      List<Tensor> train = new ArrayList<>();
      List<Tensor> fixed = new ArrayList<>();
      for (Tensor t : checkpointed) {
        (frozen.contains(t.name()) ? fixed : train).add(t);
      }
      state = new PortableRuntime.State(ordered(train, trainable), fixed, Map.of(), 0, fed);
    }
    long artifactsEnd = System.nanoTime();
    PortableRuntime rt = PortableRuntime.open(step, optimizer, eval, state, options);
    if (Double.isNaN(norm)) {
      norm = l2Norm(rt.parameters());
    }
    return new Started(
        StepRuntime.of(rt, b.adamW.learningRate()),
        norm,
        times(graphStart, artifactsStart, artifactsEnd));
  }

  private static TrainingListener.StartMetrics times(
      long graphStart, long artifactsStart, long artifactsEnd) {
    return new TrainingListener.StartMetrics(
        (artifactsStart - graphStart) / 1e9,
        (artifactsEnd - artifactsStart) / 1e9,
        (System.nanoTime() - artifactsEnd) / 1e9);
  }

  /**
   * The weights the graph declares in half precision (frozen, a LoRA base), in that dtype: rounded
   * to nearest-even, which is exact for weights read from a file of that dtype.
   */
  private static List<Tensor> fedWeights(List<Tensor> weights, TrainingGraph graph) {
    Map<String, DType> declared = new java.util.HashMap<>();
    graph.parameters().forEach(p -> declared.put(p.name(), p.dtype()));
    List<Tensor> out = new ArrayList<>();
    for (Tensor t : weights) {
      DType d = declared.get(t.name());
      if (d != null && d != DType.FLOAT) {
        out.add(t.withDtype(d));
      }
    }
    return out;
  }

  /** {@code tensors} in the order of {@code parameters} (the optimizer graph's order). */
  private static List<Tensor> ordered(List<Tensor> tensors, List<Value> parameters) {
    Map<String, Tensor> byName = new java.util.HashMap<>();
    tensors.forEach(t -> byName.put(t.name(), t));
    List<Tensor> out = new ArrayList<>();
    for (Value p : parameters) {
      out.add(
          java.util.Objects.requireNonNull(
              byName.get(p.name()), () -> "no value for trainable parameter " + p.name()));
    }
    return out;
  }

  private static double l2Norm(List<Tensor> tensors) {
    double[] sum = new double[1];
    for (Tensor t : tensors) {
      t.forEachChunk(
          (offset, values, length) -> {
            for (int i = 0; i < length; i++) {
              sum[0] += (double) values[i] * values[i];
            }
          });
    }
    return Math.sqrt(sum[0]);
  }

  /**
   * Training, eval and optimizer models and the initial checkpoint, in {@code outputDir/artifacts}.
   */
  private TrainingArtifacts writeArtifacts(TrainingGraph graph, List<Tensor> initial) {
    return TrainingArtifactsBuilder.of(graph, initial)
        .frozen(frozen)
        .adamW(b.adamW)
        .clipGradNorm(b.maxGradNorm)
        .syncCheckpoint(false) // written anew by every run, resumed ones included
        .write(b.outputDir.resolve("artifacts"));
  }

  /** The examples of 0-based step {@code s}: the next ones of its epoch's order. */
  private List<TokenizedExample> examplesOfStep(long s) {
    int epoch = (int) (s / stepsPerEpoch());
    if (epoch != orderEpoch) {
      order = order(epoch);
      orderEpoch = epoch;
    }
    int from = (int) (s % stepsPerEpoch()) * examplesPerStep();
    List<TokenizedExample> examples = new ArrayList<>(examplesPerStep());
    for (int i = from; i < Math.min(train.size(), from + examplesPerStep()); i++) {
      examples.add(train.get(order[i]));
    }
    return examples;
  }

  /** Runs every micro-batch of a step into the gradient buffers; returns the step loss. */
  private double accumulate(
      StepRuntime rt,
      FeedBuffers feeds,
      List<Batch> batches,
      StepCoefficients c,
      long s,
      float lr) {
    rt.setLearningRate(lr);
    rt.lazyResetGrad();
    double stepLoss = 0;
    for (int m = 0; m < batches.size(); m++) {
      SplittableRandom noise = NeftuneNoise.random(b.seed, s, m);
      stepLoss +=
          rt.trainStep(
              feeds.write(
                  batches.get(m),
                  c,
                  m,
                  b.neftuneAlpha,
                  noise,
                  loraDropout(),
                  FeedBuffers.loraDropoutSeed(b.seed, s, m)));
    }
    return stepLoss;
  }

  /** The NaN guard: a non-finite step loss stops the run before the step is applied. */
  private static void requireFinite(double stepLoss, long step, float lr, Path last) {
    if (!Double.isFinite(stepLoss)) {
      throw new TrainingDivergedException(
          "the loss of step "
              + step
              + " is "
              + stepLoss
              + " (learning rate "
              + lr
              + "); the step was not applied. "
              + lastGood(last)
              + "; lower the learning rate or check the data",
          step);
    }
  }

  /** The loss rule of {@link DivergenceLimits}, after step {@code step}. */
  private void requireNoLossRise(
      LossRiseRule lossRule, double stepLoss, long step, CheckpointStore store) {
    OptionalDouble risen = lossRule.add(stepLoss);
    if (risen.isPresent()) {
      long since = step - lossRule.window();
      throw new TrainingDivergedException(
          String.format(
              Locale.ROOT,
              "the mean loss of steps %d to %d is %.4f, more than %s times the mean %.4f of the"
                  + " first %d steps: the run diverged. %s; lower the learning rate or check the"
                  + " data",
              since + 1,
              step,
              risen.getAsDouble(),
              b.divergence.maxLossRise(),
              lossRule.firstMean(),
              lossRule.window(),
              lastGood(store.latestUpTo(since).orElse(null))),
          step);
    }
  }

  /** Target positions the step's batches train (0: the step has no target and its loss is 0). */
  private static long targets(List<Batch> batches) {
    long n = 0;
    for (Batch batch : batches) {
      for (int i = 0; i < batch.cells(); i++) {
        n += batch.weightAt(i) > 0 ? 1 : 0;
      }
    }
    return n;
  }

  /** The trainer's state after {@code done} steps, as saved beside the ORT checkpoint. */
  private TrainerState state(long done, long total, Map<String, String> identity) {
    int stepsPerEpoch = stepsPerEpoch();
    return new TrainerState(
        done,
        total,
        (int) (done / stepsPerEpoch),
        (int) (done % stepsPerEpoch) * examplesPerStep(),
        b.seed,
        b.adamW.learningRate(),
        done < total ? b.schedule.at(b.adamW.learningRate(), done, total) : 0f,
        b.adamW.variant(),
        identity);
  }

  /**
   * The weights rule of {@link DivergenceLimits}, run on a checkpoint file before it is committed.
   */
  private void checkWeights(Path ortCheckpoint, double initialNorm, long step, Path previous) {
    TrainingCheckpoint.ParameterScan scan = TrainingCheckpoint.scanParameters(ortCheckpoint);
    String why = null;
    if (scan.firstNonFinite().isPresent()) {
      why = "parameter " + scan.firstNonFinite().get();
    } else if (scan.l2Norm() > b.divergence.maxWeightNormGrowth() * initialNorm) {
      why =
          String.format(
              Locale.ROOT,
              "the weights' L2 norm grew from %.4g to %.4g, more than %s times",
              initialNorm,
              scan.l2Norm(),
              b.divergence.maxWeightNormGrowth());
    }
    if (why != null) {
      throw new TrainingDivergedException(
          "after step "
              + step
              + " "
              + why
              + ": the run diverged and this checkpoint was not written. "
              + lastGood(previous)
              + "; lower the learning rate or check the data",
          step);
    }
  }

  private static String lastGood(Path checkpoint) {
    return checkpoint == null
        ? "No checkpoint from before the divergence is kept"
        : "The last checkpoint from before the divergence is " + checkpoint;
  }

  private Map<String, String> identity() {
    return RunIdentity.of(
        train,
        model.identity(),
        b.policy.toString(),
        b.reduction.name(),
        b.adamW,
        b.schedule,
        b.microBatchRows + " rows x " + b.gradientAccumulation + " micro-batches",
        b.collator.toString(),
        b.maxGradNorm,
        b.neftuneAlpha,
        frozen,
        b.shuffle);
  }

  /**
   * Fails if no training example keeps a target within the collator's max length, counting the
   * examples per cause; also if an id lies outside the model's vocabulary.
   */
  private void requireTargets(Collator collator) {
    int vocab = model.vocabSize();
    int noTargetUnderPolicy = 0;
    int cutByMaxLength = 0;
    for (int i = 0; i < train.size(); i++) {
      TokenizedExample e = train.get(i);
      for (int t = 0; t < e.length(); t++) {
        int id = e.idAt(t);
        if (id < 0 || id >= vocab) {
          throw new TrainingDataException(
              "training example "
                  + i
                  + " has token id "
                  + id
                  + " at position "
                  + t
                  + ", outside the model's vocabulary [0, "
                  + vocab
                  + "); the tokenizer does not belong to this model");
        }
      }
      if (!e.hasTarget()) {
        noTargetUnderPolicy++;
      } else if (collator.truncate(e).map(k -> !k.hasTarget()).orElse(true)) {
        cutByMaxLength++;
      }
    }
    if (noTargetUnderPolicy + cutByMaxLength == train.size()) {
      throw new TrainingDataException(
          "none of the "
              + train.size()
              + " training examples has a trained target: "
              + noTargetUnderPolicy
              + " have none under the loss policy "
              + b.policy.kind()
              + " (e.g. no assistant content), "
              + cutByMaxLength
              + " lose all of theirs to truncation at max length "
              + b.collator.maxLength()
              + " (the prompt alone fills it); raise the max length or check the data and"
              + " policy");
    }
  }

  /**
   * Checks the output folder against {@link Builder#resume} and {@link Builder#overwrite}; with
   * overwrite, deletes the previous run's checkpoints, artifacts and metrics.
   */
  private CheckpointStore prepareOutputFolder() {
    checkArgument(
        !(b.resume && b.overwrite),
        "resume and overwrite exclude each other: resume continues the run in %s, overwrite"
            + " replaces it",
        b.outputDir);
    Path checkpoints = b.outputDir.resolve("checkpoints");
    Path metrics = b.outputDir.resolve("metrics.jsonl");
    try {
      if (b.overwrite) {
        CheckpointStore.deleteTree(checkpoints);
        CheckpointStore.deleteTree(b.outputDir.resolve("artifacts"));
        Files.deleteIfExists(metrics);
      }
      CheckpointStore store = new CheckpointStore(checkpoints, b.keepLast);
      boolean previousRun = Files.exists(metrics) || !store.list().isEmpty();
      checkArgument(
          b.resume || !previousRun,
          "%s holds a previous run (%s checkpoints%s); resume it with resume(true), replace it"
              + " with overwrite(true), or choose another output folder",
          b.outputDir,
          store.list().size(),
          Files.exists(metrics) ? ", metrics.jsonl" : "");
      checkArgument(
          !b.resume || store.latest().isPresent(),
          "resume was requested but %s holds no checkpoint; drop resume to start a new run",
          checkpoints);
      return store;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare the output folder " + b.outputDir, e);
    }
  }

  /**
   * Checks that {@code checkpoint} belongs to this run; returns the steps it has done.
   *
   * @throws ResumeMismatchException naming every field that differs
   */
  private long checkResume(Path checkpoint, Map<String, String> identity, long total) {
    TrainerState state = CheckpointStore.readState(checkpoint);
    List<ResumeMismatchException.Mismatch> mismatches = new ArrayList<>();
    if (state.seed() != b.seed) {
      mismatches.add(new ResumeMismatchException.Mismatch("seed", "" + state.seed(), "" + b.seed));
    }
    if (state.totalSteps() != total) {
      mismatches.add(
          new ResumeMismatchException.Mismatch("totalSteps", "" + state.totalSteps(), "" + total));
    }
    if (state.adamWVariant() != b.adamW.variant()) {
      mismatches.add(
          new ResumeMismatchException.Mismatch(
              "adamW", state.adamWVariant().name(), b.adamW.variant().name()));
    }
    RunIdentity.compare(state.run(), identity, mismatches);
    if (!mismatches.isEmpty()) {
      throw new ResumeMismatchException(checkpoint, mismatches);
    }
    long start = state.step();
    int expectedEpoch = (int) (start / stepsPerEpoch());
    int expectedPosition = (int) (start % stepsPerEpoch()) * examplesPerStep();
    checkArgument(
        start == total
            || (state.epoch() == expectedEpoch && state.positionInEpoch() == expectedPosition),
        "checkpoint %s stopped at epoch %s, example %s, but with this run's data and batch"
            + " options step %s would be epoch %s, example %s; resume with the same training set"
            + " and batch options",
        checkpoint,
        state.epoch(),
        state.positionInEpoch(),
        start,
        expectedEpoch,
        expectedPosition);
    return start;
  }

  /** Token-mean loss over the held-out set under IT and IM; zero noise (docs/invariants.md, 18). */
  private TrainingListener.EvalMetrics evaluate(
      StepRuntime rt, Collator collator, FeedBuffers feeds, long step) {
    double[] losses = new double[2];
    List<LossPolicy> policies = List.of(LossPolicy.outputOnly(), LossPolicy.instructionModelling());
    for (int p = 0; p < 2; p++) {
      List<TokenizedExample> set = weigh(policies.get(p), b.evalSet);
      List<Batch> batches = collator.collate(set, b.microBatchRows).batches();
      StepCoefficients c = StepCoefficients.of(Reduction.TOKEN_MEAN, batches);
      double sum = 0;
      for (int m = 0; m < batches.size(); m++) {
        sum += rt.evalLoss(feeds.write(batches.get(m), c, m, 0, null));
      }
      losses[p] = sum;
    }
    return new TrainingListener.EvalMetrics("eval", step, losses[0], losses[1]);
  }

  /**
   * Drops metrics of steps after {@code step} (the resumed run writes them again) and returns the
   * kept step losses in order.
   */
  private List<Double> truncateMetrics(long step) {
    Path file = b.outputDir.resolve("metrics.jsonl");
    List<Double> losses = new ArrayList<>();
    if (!Files.exists(file)) {
      return losses;
    }
    try {
      List<String> kept = new ArrayList<>();
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        if (line.isBlank()) {
          continue;
        }
        com.fasterxml.jackson.databind.JsonNode node;
        try {
          node = JSON.readTree(line);
        } catch (IOException torn) {
          continue; // the last line of a killed run may be cut short
        }
        if (node.path("step").asLong(Long.MAX_VALUE) <= step) {
          kept.add(line);
          if ("train".equals(node.path("type").asText())) {
            losses.add(node.path("loss").asDouble());
          }
        }
      }
      Files.write(file, kept, StandardCharsets.UTF_8);
      return losses;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot rewrite " + file + " for resuming", e);
    }
  }

  private void metric(Object record) {
    Path file = b.outputDir.resolve("metrics.jsonl");
    try {
      Files.writeString(
          file,
          JSON.writeValueAsString(record) + "\n",
          StandardCharsets.UTF_8,
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot append to " + file, e);
    }
  }

  /**
   * Options of a {@link Trainer}; every option has a default (the paper's recipe where it has one).
   */
  public static final class Builder {
    private final CausalLmSource model;
    private final List<ClassifiedExample> trainSet;
    private final Path outputDir;
    private LossPolicy policy = LossPolicy.instructionModelling();
    private Reduction reduction = Reduction.SEQUENCE_MEAN;
    private int epochs = 2;
    private long maxSteps = 0;
    private int microBatchRows = 1;
    private int gradientAccumulation = 128;
    private CollatorConfig collator = CollatorConfig.of(2048);
    private AdamWConfig adamW = AdamWConfig.defaults();
    private LearningRateSchedule schedule = LearningRateSchedule.defaults();
    private long seed = 42;
    private LoraConfig lora; // null: train all weights
    private Runtime runtime = Runtime.TRAINING_API;
    private boolean shuffle = true;
    private double neftuneAlpha = 0;
    private boolean gradientCheckpointing = false;
    private float maxGradNorm = 0;
    private List<ClassifiedExample> evalSet = List.of();
    private int evalEvery = 0;
    private int checkpointEvery = 0;
    private int keepLast = 2;
    private boolean resume = false;
    private boolean overwrite = false;
    private DivergenceLimits divergence = DivergenceLimits.defaults();
    private Set<String> frozen = Set.of();
    private final List<TrainingListener> listeners = new ArrayList<>();
    private RuntimeOptions runtimeOptions = RuntimeOptions.defaults();

    private Builder(CausalLmSource model, List<ClassifiedExample> trainSet, Path outputDir) {
      checkArgument(model != null && outputDir != null, "model and outputDir must be non-null");
      checkArgument(!trainSet.isEmpty(), "the training set must hold at least one example");
      this.model = model;
      this.trainSet = List.copyOf(trainSet);
      this.outputDir = outputDir;
    }

    LossPolicy policy() {
      return policy;
    }

    LoraConfig lora() {
      return lora;
    }

    /**
     * The loss policy that weighs every training example, the run's one decision of which tokens
     * are trained; default IM (the paper's). Evaluation reports IT and IM whatever it is.
     */
    public Builder lossPolicy(LossPolicy value) {
      this.policy = value;
      return this;
    }

    /** Loss reduction over an optimizer step; default SEQUENCE_MEAN (the paper's). */
    public Builder reduction(Reduction value) {
      this.reduction = value;
      return this;
    }

    /** Passes over the training set; default 2 (the paper's). Ignored when maxSteps is set. */
    public Builder epochs(int value) {
      checkArgument(value > 0, "epochs must be > 0 but was %s", value);
      this.epochs = value;
      return this;
    }

    /** Total optimizer steps, overriding epochs (the data order wraps); default 0 = use epochs. */
    public Builder maxSteps(long value) {
      checkArgument(value >= 0, "maxSteps must be >= 0 but was %s", value);
      this.maxSteps = value;
      return this;
    }

    /**
     * Rows per micro-batch and micro-batches per optimizer step; default 1 x 128 (the paper's
     * effective batch of 128 examples).
     */
    public Builder batch(int rows, int accumulation) {
      checkArgument(
          rows > 0 && accumulation > 0,
          "rows %s and accumulation %s must be > 0",
          rows,
          accumulation);
      this.microBatchRows = rows;
      this.gradientAccumulation = accumulation;
      return this;
    }

    /** Max length, truncation, padding, packing; default {@code CollatorConfig.of(2048)}. */
    public Builder collator(CollatorConfig value) {
      this.collator = value;
      return this;
    }

    /**
     * AdamW; default {@link AdamWConfig#defaults()} (lr 2e-5, (0.9, 0.999), 1e-8, wd 0, {@code
     * torch.optim.AdamW}).
     */
    public Builder adamW(AdamWConfig value) {
      this.adamW = value;
      return this;
    }

    /** Schedule; default linear with 3% warm-up. */
    public Builder schedule(LearningRateSchedule value) {
      this.schedule = value;
      return this;
    }

    /**
     * Trains LoRA adapters of {@code value} instead of the model's weights, which stay frozen: the
     * model must be an {@link HfCausalLm} without adapters, and the adapters start as {@link
     * LoraConfig#initialize} makes them from this builder's {@link #seed}. To continue training
     * existing adapters, pass {@link HfCausalLm#withLora} as the model instead. Default: none.
     */
    public Builder lora(LoraConfig value) {
      this.lora = java.util.Objects.requireNonNull(value, "lora");
      return this;
    }

    /**
     * The runtime that trains; default {@link Runtime#TRAINING_API}. Checkpoints are one format: a
     * run resumes on either.
     */
    public Builder runtime(Runtime value) {
      this.runtime = java.util.Objects.requireNonNull(value, "runtime");
      return this;
    }

    /** Seed of data order, NEFTune noise, fresh LoRA adapters and ORT; default 42. */
    public Builder seed(long value) {
      this.seed = value;
      return this;
    }

    /** Shuffle each epoch (seeded); false keeps file order; default true. */
    public Builder shuffle(boolean value) {
      this.shuffle = value;
      return this;
    }

    /** NEFTune α (the paper's baseline uses 5); default 0 = off. */
    public Builder neftuneAlpha(double value) {
      checkArgument(value >= 0 && Double.isFinite(value), "alpha must be >= 0 but was %s", value);
      this.neftuneAlpha = value;
      return this;
    }

    /**
     * Recompute each decoder layer's forward pass during the backward pass instead of keeping its
     * activations (Hugging Face's {@code gradient_checkpointing}): the same gradients, about a
     * third more compute per step, and only the layer inputs stored; default false. Not part of the
     * run's identity, so a resume may switch it.
     */
    public Builder gradientCheckpointing(boolean value) {
      this.gradientCheckpointing = value;
      return this;
    }

    /**
     * Clip the global gradient L2 norm to this before AdamW; default 0 = off (the paper clips
     * nothing).
     */
    public Builder maxGradNorm(float value) {
      checkArgument(
          Float.isFinite(value) && value >= 0, "maxGradNorm must be >= 0 but was %s", value);
      this.maxGradNorm = value;
      return this;
    }

    /** Held-out set evaluated every {@code every} steps and at the end; default none. */
    public Builder evaluation(List<ClassifiedExample> heldOut, int every) {
      checkArgument(every > 0, "eval interval must be > 0 but was %s", every);
      this.evalSet = List.copyOf(heldOut);
      this.evalEvery = every;
      return this;
    }

    /**
     * Checkpoint every {@code every} steps (0: only at the end) keeping the newest {@code keep};
     * default 0, 2. Checkpoints before the last step hold the AdamW moments, so a resume continues
     * exactly; the final one holds the parameters only (a finished run is not resumed), which keeps
     * it small. ONNX Runtime saves at most {@link #MAX_SAVED_MOMENT_BYTES} of moments, so {@code
     * every > 0} needs at most about 260 M trainable parameters; {@link #run()} checks it first.
     */
    public Builder checkpoints(int every, int keep) {
      checkArgument(every >= 0 && keep >= 1, "every %s must be >= 0 and keep %s >= 1", every, keep);
      this.checkpointEvery = every;
      this.keepLast = keep;
      return this;
    }

    /**
     * Resume from the newest checkpoint in the output folder, which must exist and come from a run
     * with the same data, model and options; default false.
     */
    public Builder resume(boolean value) {
      this.resume = value;
      return this;
    }

    /**
     * Replace a previous run in the output folder (its checkpoints, artifacts and metrics are
     * deleted first) instead of refusing it; default false. Excludes {@link #resume}.
     */
    public Builder overwrite(boolean value) {
      this.overwrite = value;
      return this;
    }

    /** When a run counts as diverged; default {@link DivergenceLimits#defaults()}. */
    public Builder divergence(DivergenceLimits value) {
      this.divergence = java.util.Objects.requireNonNull(value, "divergence");
      return this;
    }

    /** Parameters never updated; default none. */
    public Builder frozen(Set<String> names) {
      this.frozen = Set.copyOf(names);
      return this;
    }

    /** Adds a progress listener. */
    public Builder listener(TrainingListener listener) {
      this.listeners.add(listener);
      return this;
    }

    /** ORT session options; default {@link RuntimeOptions#defaults()} (determinism forced on). */
    public Builder runtimeOptions(RuntimeOptions value) {
      this.runtimeOptions = value;
      return this;
    }

    /** The trainer. */
    public Trainer build() {
      return new Trainer(this);
    }
  }
}
