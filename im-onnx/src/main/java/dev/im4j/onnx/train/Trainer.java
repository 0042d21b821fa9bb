package dev.im4j.onnx.train;

import static com.google.common.base.Preconditions.checkArgument;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.im4j.core.collate.Batch;
import dev.im4j.core.collate.Collator;
import dev.im4j.core.collate.CollatorConfig;
import dev.im4j.core.loss.InstructionModellingLoss;
import dev.im4j.core.loss.Reduction;
import dev.im4j.core.loss.StepCoefficients;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.mask.TokenizedExample;
import dev.im4j.onnx.runtime.RuntimeOptions;
import dev.im4j.onnx.runtime.TrainingApiRuntime;
import dev.im4j.onnx.runtime.TrainingArtifacts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
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
 * (so the step loss {@code Σ c · nll} is normalised across all of them, invariant 15), accumulates
 * the gradients in ORT's buffers and applies AdamW once.
 *
 * <p>Examples arrive tokenized ({@code ExampleEncoder} renders and tokenizes them) and are
 * reweighed with the training {@link LossPolicy}. Optional gradient-norm clipping runs in the
 * optimizer model ({@link TrainingArtifactsBuilder#clipGradNorm}).
 *
 * <p>Not thread-safe; {@link #run()} opens and closes its own native session.
 */
public final class Trainer {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Builder b;
  private final List<TokenizedExample> train;

  private Trainer(Builder b) {
    this.b = b;
    List<TokenizedExample> reweighed = new ArrayList<>();
    for (TokenizedExample e : b.trainSet) {
      reweighed.add(b.policy.reweigh(e));
    }
    this.train = List.copyOf(reweighed);
  }

  /** A builder for training {@code model} on {@code trainSet}, writing into {@code outputDir}. */
  public static Builder builder(
      CausalLmSource model, List<TokenizedExample> trainSet, Path outputDir) {
    return new Builder(model, trainSet, outputDir);
  }

  /** What a finished run reports. */
  public record Result(long steps, double lastLoss, Path finalCheckpoint) {
    /** The weights of the final checkpoint. */
    public TrainingCheckpoint weights() {
      return TrainingCheckpoint.read(finalCheckpoint.resolve(CheckpointStore.ORT_CHECKPOINT));
    }
  }

  int examplesPerStep() {
    return b.microBatchRows * b.gradientAccumulation;
  }

  int stepsPerEpoch() {
    return (train.size() + examplesPerStep() - 1) / examplesPerStep();
  }

  long totalSteps() {
    return b.maxSteps > 0 ? b.maxSteps : (long) b.epochs * stepsPerEpoch();
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
   * @throws TrainingDivergedException if a step's loss is NaN or infinite (nothing of that step is
   *     applied; the last checkpoint stays)
   */
  public Result run() {
    long total = totalSteps();
    checkArgument(total > 0, "nothing to train: %s examples, total steps %s", train.size(), total);
    Path artifactsDir = b.outputDir.resolve("artifacts");
    TrainingArtifacts fresh =
        TrainingArtifactsBuilder.of(
                b.model.trainingGraph(b.frozen, b.collator.maxLength()), b.model.initialWeights())
            .frozen(b.frozen)
            .adamW(b.adamW)
            .clipGradNorm(b.maxGradNorm)
            .write(artifactsDir);
    CheckpointStore store = new CheckpointStore(b.outputDir.resolve("checkpoints"), b.keepLast);
    long start = 0;
    TrainingArtifacts artifacts = fresh;
    Optional<Path> resumeFrom = b.resume ? store.latest() : Optional.empty();
    if (resumeFrom.isPresent()) {
      TrainerState state = CheckpointStore.readState(resumeFrom.get());
      checkArgument(
          state.seed() == b.seed && state.totalSteps() == total,
          "checkpoint %s was written by a run with seed %s and %s steps but this run has seed %s"
              + " and %s steps; resume with the same options or start a new output folder",
          resumeFrom.get(),
          state.seed(),
          state.totalSteps(),
          b.seed,
          total);
      checkArgument(
          state.adamWVariant() == b.adamW.variant(),
          "checkpoint %s was written by a run with the %s AdamW formula but this run uses %s;"
              + " resume with the same formula (im4j train --adamw %s) or start a new output"
              + " folder",
          resumeFrom.get(),
          state.adamWVariant(),
          b.adamW.variant(),
          state.adamWVariant().cliName());
      start = state.step();
      int expectedEpoch = (int) (start / stepsPerEpoch());
      int expectedPosition = (int) (start % stepsPerEpoch()) * examplesPerStep();
      checkArgument(
          start == total
              || (state.epoch() == expectedEpoch && state.positionInEpoch() == expectedPosition),
          "checkpoint %s stopped at epoch %s, example %s, but with this run's data and batch"
              + " options step %s would be epoch %s, example %s; resume with the same training set"
              + " and batch options",
          resumeFrom.get(),
          state.epoch(),
          state.positionInEpoch(),
          start,
          expectedEpoch,
          expectedPosition);
      truncateMetrics(start);
      artifacts =
          new TrainingArtifacts(
              fresh.trainingModel(),
              fresh.evalModel(),
              fresh.optimizerModel(),
              resumeFrom.get().resolve(CheckpointStore.ORT_CHECKPOINT));
    }
    Collator collator = Collator.of(b.collator);
    InstructionModellingLoss loss = InstructionModellingLoss.of(b.reduction);
    int hidden = b.model.hiddenSize();
    double lastLoss = Double.NaN;
    Path last = resumeFrom.orElse(null);
    RuntimeOptions options = b.runtimeOptions.withDeterminism(true, b.seed);
    try (TrainingApiRuntime rt = TrainingApiRuntime.open(artifacts, options)) {
      int stepsPerEpoch = stepsPerEpoch();
      int[] order = null; // the current epoch's example order
      int orderEpoch = -1;
      for (long s = start; s < total; s++) {
        int epoch = (int) (s / stepsPerEpoch);
        int from = (int) (s % stepsPerEpoch) * examplesPerStep();
        if (epoch != orderEpoch) {
          order = order(epoch);
          orderEpoch = epoch;
        }
        List<TokenizedExample> stepExamples = new ArrayList<>();
        for (int i = from; i < Math.min(train.size(), from + examplesPerStep()); i++) {
          stepExamples.add(train.get(order[i]));
        }
        List<Batch> batches = collator.collate(stepExamples, b.microBatchRows).batches();
        StepCoefficients c = loss.coefficients(batches); // the whole step, before any run
        float lr = b.schedule.at(b.adamW.learningRate(), s, total);
        rt.setLearningRate(lr);
        rt.lazyResetGrad();
        double stepLoss = 0;
        for (int m = 0; m < batches.size(); m++) {
          Batch batch = batches.get(m);
          float[] noise =
              NeftuneNoise.sample(batch, b.neftuneAlpha, hidden, NeftuneNoise.random(b.seed, s, m));
          stepLoss += rt.trainStep(MicroBatchFeeds.of(batch, c.forBatch(m), noise, hidden));
        }
        if (!Double.isFinite(stepLoss)) {
          throw new TrainingDivergedException(
              "loss of step "
                  + (s + 1)
                  + " is "
                  + stepLoss
                  + " (learning rate "
                  + lr
                  + "); the step was not applied and the last good checkpoint is "
                  + (last == null ? "none (no checkpoint was written yet)" : last)
                  + "; lower the learning rate or check the data",
              s + 1);
        }
        rt.optimizerStep();
        lastLoss = stepLoss;
        long done = s + 1;
        TrainingListener.StepMetrics sm =
            new TrainingListener.StepMetrics("train", done, epoch, stepLoss, lr, c.totalWeight());
        metric(sm);
        b.listeners.forEach(l -> l.onStep(sm));
        if (b.evalEvery > 0 && !b.evalSet.isEmpty() && (done % b.evalEvery == 0 || done == total)) {
          TrainingListener.EvalMetrics em = evaluate(rt, collator, done);
          metric(em);
          b.listeners.forEach(l -> l.onEval(em));
        }
        if ((b.checkpointEvery > 0 && done % b.checkpointEvery == 0) || done == total) {
          int nextEpoch = (int) (done / stepsPerEpoch);
          TrainerState state =
              new TrainerState(
                  done,
                  total,
                  nextEpoch,
                  (int) (done % stepsPerEpoch) * examplesPerStep(),
                  b.seed,
                  b.adamW.learningRate(),
                  done < total ? b.schedule.at(b.adamW.learningRate(), done, total) : 0f,
                  b.adamW.variant());
          last = store.save(rt, state);
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

  /** Token-mean loss over the held-out set under IT and IM; zero noise (invariant 18). */
  private TrainingListener.EvalMetrics evaluate(
      TrainingApiRuntime rt, Collator collator, long step) {
    double[] losses = new double[2];
    List<LossPolicy> policies = List.of(LossPolicy.outputOnly(), LossPolicy.instructionModelling());
    for (int p = 0; p < 2; p++) {
      List<TokenizedExample> set = new ArrayList<>();
      for (TokenizedExample e : b.evalSet) {
        set.add(policies.get(p).reweigh(e));
      }
      List<Batch> batches = collator.collate(set, b.microBatchRows).batches();
      StepCoefficients c = InstructionModellingLoss.of(Reduction.TOKEN_MEAN).coefficients(batches);
      double sum = 0;
      for (int m = 0; m < batches.size(); m++) {
        Batch batch = batches.get(m);
        float[] zeros = new float[batch.cells() * b.model.hiddenSize()];
        sum +=
            rt.evalStep(MicroBatchFeeds.of(batch, c.forBatch(m), zeros, b.model.hiddenSize()))
                .values()
                .iterator()
                .next()[0];
      }
      losses[p] = sum;
    }
    return new TrainingListener.EvalMetrics("eval", step, losses[0], losses[1]);
  }

  /** Drops metrics of steps after {@code step}: the resumed run writes them again. */
  private void truncateMetrics(long step) {
    Path file = b.outputDir.resolve("metrics.jsonl");
    if (!Files.exists(file)) {
      return;
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
        }
      }
      Files.write(file, kept, StandardCharsets.UTF_8);
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

  /** Options of a {@link Trainer}; every option has a default (im-spec §6 where it names one). */
  public static final class Builder {
    private final CausalLmSource model;
    private final List<TokenizedExample> trainSet;
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
    private boolean shuffle = true;
    private double neftuneAlpha = 0;
    private float maxGradNorm = 0;
    private List<TokenizedExample> evalSet = List.of();
    private int evalEvery = 0;
    private int checkpointEvery = 0;
    private int keepLast = 2;
    private boolean resume = false;
    private Set<String> frozen = Set.of();
    private final List<TrainingListener> listeners = new ArrayList<>();
    private RuntimeOptions runtimeOptions = RuntimeOptions.defaults();

    private Builder(CausalLmSource model, List<TokenizedExample> trainSet, Path outputDir) {
      checkArgument(model != null && outputDir != null, "model and outputDir must be non-null");
      checkArgument(!trainSet.isEmpty(), "the training set must hold at least one example");
      this.model = model;
      this.trainSet = List.copyOf(trainSet);
      this.outputDir = outputDir;
    }

    /** Training loss policy applied to every example; default IM (the paper's). */
    public Builder lossPolicy(LossPolicy value) {
      this.policy = value;
      return this;
    }

    /** Loss reduction over an optimizer step; default SEQUENCE_MEAN (the paper's, im-spec §4). */
    public Builder reduction(Reduction value) {
      this.reduction = value;
      return this;
    }

    /** Passes over the training set; default 2 (im-spec §6). Ignored when maxSteps is set. */
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

    /** Seed of data order, NEFTune noise and ORT; default 42. */
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

    /** Clip the global gradient L2 norm to this before AdamW; default 0 = off (im-spec §6). */
    public Builder maxGradNorm(float value) {
      checkArgument(
          Float.isFinite(value) && value >= 0, "maxGradNorm must be >= 0 but was %s", value);
      this.maxGradNorm = value;
      return this;
    }

    /** Held-out set evaluated every {@code every} steps and at the end; default none. */
    public Builder evaluation(List<TokenizedExample> heldOut, int every) {
      checkArgument(every > 0, "eval interval must be > 0 but was %s", every);
      this.evalSet = List.copyOf(heldOut);
      this.evalEvery = every;
      return this;
    }

    /**
     * Checkpoint every {@code every} steps (0: only at the end) keeping the newest; default 0, 2.
     */
    public Builder checkpoints(int every, int keep) {
      checkArgument(every >= 0 && keep >= 1, "every %s must be >= 0 and keep %s >= 1", every, keep);
      this.checkpointEvery = every;
      this.keepLast = keep;
      return this;
    }

    /** Resume from the newest checkpoint in the output folder if there is one; default false. */
    public Builder resume(boolean value) {
      this.resume = value;
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
