package dev.im4j.onnx.runtime;

import static com.google.common.base.Preconditions.checkArgument;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtTrainingSession;
import dev.im4j.onnx.model.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * ONNX Runtime's on-device training API over the four {@link TrainingArtifacts}: parameters,
 * gradient buffers and optimizer state stay inside the native session; each step sends only the
 * batch.
 *
 * <p>A training step runs the training graph on one micro-batch and adds its gradients into the
 * accumulation buffers ({@code com.microsoft} InPlaceAccumulatorV2); {@link #lazyResetGrad()} makes
 * the next step overwrite them instead. An optimizer step applies AdamW with the accumulated
 * gradients. So gradient accumulation over k micro-batches is: {@code lazyResetGrad}, k {@code
 * trainStep}s, one {@code optimizerStep}.
 *
 * <p>Inputs are matched by name. ONNX Runtime feeds them by position, so they are passed in the
 * order of {@link #trainInputNames()} whatever order the caller used.
 *
 * <p>Not thread-safe: one thread drives a runtime. {@link #close()} is idempotent; every other
 * method throws {@link IllegalStateException} after it. Native failures throw {@link
 * TrainingRuntimeException} with ONNX Runtime's message as the cause.
 */
public final class TrainingApiRuntime implements TrainingSteps {
  private final OrtEnvironment env;
  private final OrtSession.SessionOptions sessionOptions;
  private final OrtTrainingSession session;
  private final TrainingArtifacts artifacts;
  private final List<String> trainInputs;
  private final List<String> trainOutputs;
  private final List<String> evalInputs;
  private final List<String> evalOutputs;
  private final FedWeights fed;
  private boolean closed;

  private TrainingApiRuntime(
      OrtEnvironment env,
      OrtSession.SessionOptions sessionOptions,
      OrtTrainingSession session,
      TrainingArtifacts artifacts,
      FedWeights fed) {
    this.env = env;
    this.sessionOptions = sessionOptions;
    this.session = session;
    this.artifacts = artifacts;
    this.fed = fed;
    this.trainInputs = withoutFed(session.getTrainInputNames());
    this.trainOutputs = List.copyOf(session.getTrainOutputNames());
    if (trainOutputs.isEmpty()) {
      throw new TrainingRuntimeException(
          "the training graph "
              + artifacts.trainingModel()
              + " has no user output; its first output must be the loss");
    }
    this.evalInputs =
        artifacts.evalModel().isPresent() ? withoutFed(session.getEvalInputNames()) : List.of();
    this.evalOutputs =
        artifacts.evalModel().isPresent() ? List.copyOf(session.getEvalOutputNames()) : List.of();
  }

  /**
   * Opens a training session on the artifacts.
   *
   * @throws TrainingRuntimeException if ONNX Runtime cannot be loaded, the execution provider is
   *     unavailable, or ONNX Runtime rejects an artifact (the message names the files)
   */
  public static TrainingApiRuntime open(TrainingArtifacts artifacts, RuntimeOptions options) {
    return open(artifacts, options, List.of());
  }

  /**
   * Opens a training session on the artifacts, feeding {@code fedWeights} to every training and
   * evaluation run: frozen graph inputs that the checkpoint does not hold (a LoRA base in half
   * precision, which ONNX Runtime's checkpoint loader cannot read), each in its own dtype, held in
   * direct buffers this runtime owns. They are not among {@link #trainInputNames()} and are not
   * saved in checkpoints.
   *
   * @throws TrainingRuntimeException as {@link #open(TrainingArtifacts, RuntimeOptions)} does, or
   *     if a fed weight is not an input of the training graph
   */
  public static TrainingApiRuntime open(
      TrainingArtifacts artifacts, RuntimeOptions options, List<Tensor> fedWeights) {
    OrtEnvironment env = OrtNatives.environment();
    OrtNatives.requireTraining(env);
    OrtSession.SessionOptions sessionOptions = new OrtSession.SessionOptions();
    try {
      configure(sessionOptions, options);
      if (options.seed().isPresent()) {
        OrtTrainingSession.setSeed(options.seed().getAsLong());
      }
      OrtTrainingSession session =
          env.createTrainingSession(
              artifacts.checkpoint().toString(),
              artifacts.trainingModel().toString(),
              artifacts.evalModel().map(Path::toString).orElse(null),
              artifacts.optimizerModel().toString(),
              sessionOptions);
      FedWeights fed = null;
      try {
        fed = fedWeights.isEmpty() ? FedWeights.none() : FedWeights.load(env, fedWeights);
        for (String name : fed.tensors().keySet()) {
          if (!session.getTrainInputNames().contains(name)) {
            throw new TrainingRuntimeException(
                "fed weight "
                    + name
                    + " is not an input of the training graph "
                    + artifacts.trainingModel()
                    + "; its user inputs are "
                    + session.getTrainInputNames());
          }
        }
        return new TrainingApiRuntime(env, sessionOptions, session, artifacts, fed);
      } catch (OrtException | RuntimeException e) {
        if (fed != null) {
          fed.close();
        }
        session.close();
        throw e;
      }
    } catch (OrtException e) {
      sessionOptions.close();
      throw new TrainingRuntimeException(
          "ONNX Runtime could not open the training artifacts " + artifacts + ": " + e.getMessage(),
          e);
    } catch (RuntimeException e) {
      sessionOptions.close();
      throw e;
    }
  }

  /** Applies {@code options} to ONNX Runtime's session options (shared by both runtimes). */
  static void configure(OrtSession.SessionOptions so, RuntimeOptions options) throws OrtException {
    so.setIntraOpNumThreads(options.intraOpThreads());
    so.setInterOpNumThreads(options.interOpThreads());
    so.setOptimizationLevel(
        switch (options.optimization()) {
          case NONE -> OrtSession.SessionOptions.OptLevel.NO_OPT;
          case BASIC -> OrtSession.SessionOptions.OptLevel.BASIC_OPT;
          case EXTENDED -> OrtSession.SessionOptions.OptLevel.EXTENDED_OPT;
          case ALL -> OrtSession.SessionOptions.OptLevel.ALL_OPT;
        });
    so.setDeterministicCompute(options.deterministic());
    // A memory pattern is a second, pre-planned block for all of a run's intermediates, allocated
    // from the second run on beside what the arena already holds: for a training step that is a
    // second copy of the activations (measured: +1.4 GB at the SmolLM2-135M shape, 2 x 256 tokens,
    // and no faster), and every new batch shape plans another.
    so.setMemoryPatternOptimization(false);
    if (options.profile().isPresent()) {
      so.enableProfiling(options.profile().get().toString());
    }
    if (options.provider().kind() == ExecutionProvider.Kind.CUDA) {
      try {
        so.addCUDA(options.provider().deviceId());
      } catch (OrtException | RuntimeException | LinkageError e) {
        throw new TrainingRuntimeException(
            "CUDA execution provider not available in this native build/machine: "
                + e.getMessage()
                + "; use ExecutionProvider.cpu(), or put bytedeco's onnxruntime natives with"
                + " classifier linux-x86_64-gpu and the CUDA libraries they need on this machine",
            e);
      }
    }
  }

  /** The training graph's user inputs, in the order ONNX Runtime feeds them. */
  @Override
  public List<String> trainInputNames() {
    checkOpen();
    return trainInputs;
  }

  /** The training graph's user outputs; the first is the loss. */
  public List<String> trainOutputNames() {
    checkOpen();
    return trainOutputs;
  }

  /** The evaluation graph's user inputs in feeding order; empty without an eval model. */
  public List<String> evalInputNames() {
    checkOpen();
    return evalInputs;
  }

  /** The evaluation graph's outputs; empty without an eval model. */
  public List<String> evalOutputNames() {
    checkOpen();
    return evalOutputs;
  }

  /**
   * Runs the training graph on one micro-batch, adding its gradients to the accumulation buffers
   * (or overwriting them after {@link #lazyResetGrad()}), and returns the loss.
   *
   * @param inputs one tensor per name of {@link #trainInputNames()}, any order
   * @return the first training output, which must be one float
   * @throws IllegalArgumentException if the inputs' names differ from the graph's
   * @throws TrainingRuntimeException if ONNX Runtime fails (shapes, types, kernels)
   */
  @Override
  public float trainStep(List<HostTensor> inputs) {
    checkOpen();
    Map<String, OnnxTensor> feeds = Feeds.wrap(env, "training", trainInputs, inputs);
    try (OrtSession.Result result =
        session.trainStep(fed.addTo(feeds, session.getTrainInputNames()))) {
      return scalarLoss(result, trainOutputs.get(0));
    } catch (OrtException e) {
      throw new TrainingRuntimeException(
          "train step failed on inputs " + inputs + ": " + e.getMessage(), e);
    } finally {
      feeds.values().forEach(OnnxTensor::close);
    }
  }

  /**
   * Runs the evaluation graph with the current parameters and returns every output as floats.
   *
   * @param inputs one tensor per name of {@link #evalInputNames()}, any order
   * @return output name to values (row-major), in {@link #evalOutputNames()} order
   * @throws IllegalStateException if there is no eval model
   * @throws IllegalArgumentException if the inputs' names differ from the graph's
   * @throws TrainingRuntimeException if ONNX Runtime fails or an output is not float
   */
  public Map<String, float[]> evalStep(List<HostTensor> inputs) {
    checkOpen();
    if (artifacts.evalModel().isEmpty()) {
      throw new IllegalStateException(
          "evalStep needs an eval model but the artifacts have none; pass one in TrainingArtifacts");
    }
    Map<String, OnnxTensor> feeds = Feeds.wrap(env, "eval", evalInputs, inputs);
    try (OrtSession.Result result =
        session.evalStep(fed.addTo(feeds, session.getEvalInputNames()))) {
      Map<String, float[]> outputs = new LinkedHashMap<>();
      for (Map.Entry<String, OnnxValue> entry : result) {
        outputs.put(entry.getKey(), Feeds.floats(entry.getKey(), entry.getValue()));
      }
      return outputs;
    } catch (OrtException e) {
      throw new TrainingRuntimeException(
          "eval step failed on inputs " + inputs + ": " + e.getMessage(), e);
    } finally {
      feeds.values().forEach(OnnxTensor::close);
    }
  }

  /** Makes the next {@link #trainStep} overwrite the gradient buffers instead of adding to them. */
  @Override
  public void lazyResetGrad() {
    checkOpen();
    try {
      session.lazyResetGrad();
    } catch (OrtException e) {
      throw new TrainingRuntimeException("lazyResetGrad failed: " + e.getMessage(), e);
    }
  }

  /** Applies one optimizer step with the accumulated gradients, then counts the step. */
  @Override
  public void optimizerStep() {
    checkOpen();
    try {
      session.optimizerStep();
    } catch (OrtException e) {
      throw new TrainingRuntimeException("optimizer step failed: " + e.getMessage(), e);
    }
  }

  /** Sets the learning rate used by the following optimizer steps; must be finite and >= 0. */
  @Override
  public void setLearningRate(float learningRate) {
    checkOpen();
    checkArgument(
        Float.isFinite(learningRate) && learningRate >= 0,
        "learning rate must be finite and >= 0 but was %s",
        learningRate);
    try {
      session.setLearningRate(learningRate);
    } catch (OrtException e) {
      throw new TrainingRuntimeException("setLearningRate failed: " + e.getMessage(), e);
    }
  }

  /** The learning rate the next optimizer step uses. */
  public float learningRate() {
    checkOpen();
    try {
      return session.getLearningRate();
    } catch (OrtException e) {
      throw new TrainingRuntimeException("getLearningRate failed: " + e.getMessage(), e);
    }
  }

  /**
   * Saves parameters (and optionally optimizer moments and step) as an ORT training checkpoint,
   * atomically: ONNX Runtime writes a temporary file next to {@code file}, which is then renamed.
   * The current learning rate is not part of ORT's format.
   *
   * @throws TrainingRuntimeException if ONNX Runtime or the file system fails
   */
  public void saveCheckpoint(Path file, boolean includeOptimizerState) {
    checkOpen();
    Path dir = file.toAbsolutePath().getParent();
    Path temp = null;
    try {
      Files.createDirectories(dir);
      temp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
      session.saveCheckpoint(temp, includeOptimizerState);
      // ORT keeps a checkpoint loaded with external data in that form: its tensors then sit in
      // "<temp>.data", which must arrive as "<file>.data" before the checkpoint does.
      Path tempData = dataFileOf(temp);
      Files.deleteIfExists(file);
      if (Files.exists(tempData)) {
        Files.move(
            tempData,
            dataFileOf(file),
            StandardCopyOption.ATOMIC_MOVE,
            StandardCopyOption.REPLACE_EXISTING);
      } else {
        Files.deleteIfExists(dataFileOf(file));
      }
      Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (OrtException | IOException e) {
      TrainingRuntimeException failure =
          new TrainingRuntimeException(
              "could not save the checkpoint " + file + ": " + e.getMessage(), e);
      if (temp != null) {
        try {
          Files.deleteIfExists(temp);
          Files.deleteIfExists(dataFileOf(temp));
        } catch (IOException cleanup) {
          failure.addSuppressed(cleanup);
        }
      }
      throw failure;
    }
  }

  /**
   * Where ONNX Runtime puts the external data of the checkpoint {@code file}: {@code file.data}.
   */
  private static Path dataFileOf(Path file) {
    return file.resolveSibling(file.getFileName() + ".data");
  }

  /**
   * Writes an inference graph: the eval graph pruned to {@code outputNames} with the current
   * parameters as initializers, so only the user inputs those outputs need remain.
   *
   * @throws IllegalStateException if there is no eval model
   * @throws TrainingRuntimeException if ONNX Runtime fails (e.g. an unknown output name)
   */
  public void exportModelForInference(Path file, List<String> outputNames) {
    checkOpen();
    checkArgument(!outputNames.isEmpty(), "outputNames must name at least one eval output");
    if (artifacts.evalModel().isEmpty()) {
      throw new IllegalStateException(
          "export needs an eval model but the artifacts have none; pass one in TrainingArtifacts");
    }
    try {
      Path dir = file.toAbsolutePath().getParent();
      Files.createDirectories(dir);
      session.exportModelForInference(file, outputNames.toArray(String[]::new));
    } catch (OrtException | IOException e) {
      throw new TrainingRuntimeException(
          "could not export " + outputNames + " for inference to " + file + ": " + e.getMessage(),
          e);
    }
  }

  /** Releases the native session; idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      session.close();
    } finally {
      fed.close();
      sessionOptions.close();
    }
  }

  /** {@code names} without the fed weights' (those this runtime feeds itself). */
  private List<String> withoutFed(java.util.Collection<String> names) {
    List<String> out = new java.util.ArrayList<>(names);
    out.removeAll(fed.tensors().keySet());
    return List.copyOf(out);
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("this TrainingApiRuntime is closed");
    }
  }

  private static float scalarLoss(OrtSession.Result result, String name) {
    OnnxValue value =
        result
            .get(name)
            .orElseThrow(
                () ->
                    new TrainingRuntimeException("the training graph returned no output " + name));
    float[] values = Feeds.floats(name, value);
    if (values.length != 1) {
      throw new TrainingRuntimeException(
          "the training graph's first output "
              + name
              + " must be one float (the loss) but has "
              + values.length
              + " elements");
    }
    return values[0];
  }
}
