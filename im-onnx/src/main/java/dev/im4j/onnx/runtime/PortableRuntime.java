package dev.im4j.onnx.runtime;

import static com.google.common.base.Preconditions.checkArgument;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.graph.OnnxIo;
import dev.im4j.onnx.model.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Training on ONNX Runtime's ordinary inference sessions: two graphs in standard ONNX ops, run by
 * any ONNX Runtime build (Microsoft's CPU or GPU jars included), with the parameters, gradient
 * accumulators and AdamW moments in buffers this runtime owns.
 *
 * <p><b>The graphs' contract.</b> The <em>step graph</em> takes the parameters (inputs named as the
 * parameters), the user inputs, one accumulator per trainable parameter {@code p} ({@link
 * #accumulator}{@code (p)}, its shape) and the scalar float {@value #ACCUMULATE}; it outputs
 * {@value #LOSS} (one float) and {@link #accumulated}{@code (p) = ACCUMULATE · accumulator +
 * ∂loss/∂p}. The <em>optimizer graph</em> takes {@value #LEARNING_RATE} and {@value #STEP} (the
 * 1-based step, as float) and, per trainable parameter, {@code p}, its accumulator, {@link
 * #moment}{@code (p, 0)} and {@code moment(p, 1)}; it outputs {@link #next}{@code (p)} and {@code
 * next} of both moments. {@code dev.im4j.onnx.train.PortableGraphs} builds both.
 *
 * <p><b>Buffers.</b> ONNX Runtime's outputs cannot alias its inputs, so every value a run updates
 * has two direct buffers, read from one and written to the other (pinned outputs), which then swap:
 * a trainable parameter costs 2 × (parameter + accumulator + two moments) = 32 bytes against the
 * training API's 16; a frozen one costs its 4 bytes, a fed one (see {@link State}) its own dtype's
 * 2 or 4. Nothing is allocated per step beyond ONNX Runtime's own intermediates and the user
 * inputs' wrappers. The buffers are host memory: with the CUDA execution provider ONNX Runtime
 * copies them to and from the device on every run (untested); keeping them on the device needs I/O
 * binding, which Microsoft's Java API does not offer.
 *
 * <p>Not thread-safe. {@link #close()} is idempotent; every other method throws {@link
 * IllegalStateException} after it.
 */
public final class PortableRuntime implements TrainingSteps {
  /** Step-graph input: 1 adds this micro-batch's gradients to the accumulators, 0 replaces them. */
  public static final String ACCUMULATE = "accumulate";

  /** Step-graph output: the micro-batch's loss. */
  public static final String LOSS = "loss";

  /** Optimizer-graph input: the learning rate. */
  public static final String LEARNING_RATE = "learning_rate";

  /** Optimizer-graph input: the 1-based number of this optimizer step, as float. */
  public static final String STEP = "step";

  /** The gradient accumulator of parameter {@code p}. */
  public static String accumulator(String p) {
    return p + ".grad_accumulator";
  }

  /** The accumulator after a micro-batch. */
  public static String accumulated(String p) {
    return p + ".grad_accumulator.next";
  }

  /** AdamW moment {@code k} (0: first, 1: second) of parameter {@code p}. */
  public static String moment(String p, int k) {
    return p + ".momentum" + k;
  }

  /** The value of a parameter or moment after the optimizer step. */
  public static String next(String name) {
    return name + ".next";
  }

  /** Two direct buffers of one updated value, the current one at {@code current}. */
  private final class PingPong {
    final String name;
    final long[] shape;
    final FloatBuffer[] buffers = new FloatBuffer[2];
    final OnnxTensor[] tensors = new OnnxTensor[2];
    int current;

    PingPong(String name, long[] shape) throws OrtException {
      this.name = name;
      this.shape = shape.clone();
      for (int i = 0; i < 2; i++) {
        buffers[i] = direct(Tensor.elementCount(shape));
        tensors[i] = OnnxTensor.createTensor(env, buffers[i], shape);
      }
    }

    OnnxTensor now() {
      return tensors[current];
    }

    OnnxTensor after() {
      return tensors[1 - current];
    }

    void swap() {
      current = 1 - current;
    }

    void close() {
      for (OnnxTensor t : tensors) {
        t.close();
      }
    }
  }

  private final OrtEnvironment env;
  private final OrtSession.SessionOptions sessionOptions;
  private final OrtSession stepSession;
  private final OrtSession optimizerSession;
  private final OrtSession evalSession; // null without an eval model
  private final List<String> userInputs;
  private final List<String> evalInputs = new ArrayList<>();
  private final List<String> trainable;
  private final Map<String, PingPong> parameters = new LinkedHashMap<>();
  private final Map<String, OnnxTensor> frozen = new LinkedHashMap<>();
  private final Map<String, FloatBuffer> frozenBuffers = new LinkedHashMap<>();
  private FedWeights fed = FedWeights.none();
  private final Map<String, PingPong> accumulators = new LinkedHashMap<>();
  private final Map<String, PingPong[]> moments = new LinkedHashMap<>();
  private final OnnxTensor[] accumulate = new OnnxTensor[2]; // 0 and 1
  private boolean accumulateNext;
  private float learningRate;
  private long step;
  private boolean closed;

  private PortableRuntime(
      OrtEnvironment env,
      OrtSession.SessionOptions sessionOptions,
      OrtSession stepSession,
      OrtSession optimizerSession,
      OrtSession evalSession,
      List<String> trainable) {
    this.env = env;
    this.sessionOptions = sessionOptions;
    this.stepSession = stepSession;
    this.optimizerSession = optimizerSession;
    this.evalSession = evalSession;
    this.trainable = List.copyOf(trainable);
    List<String> user = new ArrayList<>();
    for (String in : stepSession.getInputNames()) {
      user.add(in);
    }
    this.userInputs = user;
  }

  /**
   * Where a run starts.
   *
   * @param trainable the trainable parameters' values, in the optimizer graph's order
   * @param frozen the parameters never updated, float32; saved in checkpoints
   * @param moments per trainable parameter its two AdamW moments; a parameter absent here starts
   *     from zero moments
   * @param stepsTaken optimizer steps already taken (a resumed run's count), {@code >= 0}
   * @param fed frozen weights fed as they are, in their own dtype (FLOAT, FLOAT16 or BFLOAT16: a
   *     LoRA base held in half precision); not parameters: never in {@link #parameters()} nor in
   *     checkpoints, as with the training-API runtime, whose checkpoints cannot hold half types
   */
  public record State(
      List<Tensor> trainable,
      List<Tensor> frozen,
      Map<String, List<Tensor>> moments,
      long stepsTaken,
      List<Tensor> fed) {
    /** Copies and checks the step count. */
    public State {
      trainable = List.copyOf(trainable);
      frozen = List.copyOf(frozen);
      moments = Map.copyOf(moments);
      checkArgument(stepsTaken >= 0, "stepsTaken must be >= 0 but was %s", stepsTaken);
      fed = List.copyOf(fed);
    }

    /** A state without fed weights. */
    public State(
        List<Tensor> trainable,
        List<Tensor> frozen,
        Map<String, List<Tensor>> moments,
        long stepsTaken) {
      this(trainable, frozen, moments, stepsTaken, List.of());
    }
  }

  /**
   * Opens the sessions and loads {@code state} into this runtime's buffers.
   *
   * @param stepGraph the step graph (see the class comment)
   * @param optimizerGraph the optimizer graph
   * @param evalModel an ONNX model taking the parameters and user inputs whose first output is the
   *     loss ({@link #evalStep}), or null for none
   * @throws TrainingRuntimeException if ONNX Runtime rejects a graph
   */
  public static PortableRuntime open(
      Graph stepGraph,
      Graph optimizerGraph,
      byte[] evalModel,
      State state,
      RuntimeOptions options) {
    requireDirectMemory(state);
    OrtEnvironment env = Ort.environment();
    OrtSession.SessionOptions so = new OrtSession.SessionOptions();
    OrtSession stepSession = null;
    OrtSession optimizerSession = null;
    OrtSession evalSession = null;
    try {
      TrainingApiRuntime.configure(so, options);
      stepSession = env.createSession(OnnxIo.toBytes(stepGraph), so);
      optimizerSession = env.createSession(OnnxIo.toBytes(optimizerGraph), so);
      evalSession = evalModel == null ? null : env.createSession(evalModel, so);
      List<String> names = new ArrayList<>();
      state.trainable().forEach(t -> names.add(t.name()));
      PortableRuntime rt =
          new PortableRuntime(env, so, stepSession, optimizerSession, evalSession, names);
      try {
        rt.load(state.trainable(), state.frozen(), state.moments(), state.stepsTaken());
        rt.feed(state.fed());
      } catch (OrtException | RuntimeException e) {
        rt.close();
        throw e;
      }
      return rt;
    } catch (OrtException e) {
      closeQuietly(stepSession, optimizerSession, evalSession);
      so.close();
      throw new TrainingRuntimeException(
          "ONNX Runtime could not open the portable step graphs: " + e.getMessage(), e);
    }
  }

  /**
   * Fails before allocating if this runtime's buffers would pass the JVM's direct-memory limit
   * ({@code -XX:MaxDirectMemorySize}, by default the maximum heap size, a quarter of RAM), which
   * would otherwise end in an {@link OutOfMemoryError} halfway through loading.
   */
  static void requireDirectMemory(State state) {
    long floats = 0;
    for (Tensor t : state.trainable()) {
      floats += 8L * t.numel(); // parameter, accumulator, two moments: two buffers each
    }
    for (Tensor t : state.frozen()) {
      floats += t.numel();
    }
    long needed = floats * Float.BYTES + FedWeights.bytes(state.fed());
    DirectMemory.require(
        needed,
        "the portable runtime",
        "its buffers (two per parameter, accumulator and moment)",
        ", or use the training-API runtime (half the memory)");
  }

  private static void closeQuietly(OrtSession... sessions) {
    for (OrtSession s : sessions) {
      if (s != null) {
        try {
          s.close();
        } catch (OrtException ignored) {
          // already failing: the first error is the one to report
        }
      }
    }
  }

  private void load(
      List<Tensor> trainableWeights,
      List<Tensor> frozenWeights,
      Map<String, List<Tensor>> startMoments,
      long stepsTaken)
      throws OrtException {
    for (Tensor t : trainableWeights) {
      PingPong p = new PingPong(t.name(), t.shape());
      parameters.put(t.name(), p);
      fill(p.buffers[0], t);
      accumulators.put(t.name(), new PingPong(accumulator(t.name()), t.shape()));
      PingPong[] m = {
        new PingPong(moment(t.name(), 0), t.shape()), new PingPong(moment(t.name(), 1), t.shape())
      };
      moments.put(t.name(), m);
      List<Tensor> given = startMoments.get(t.name());
      if (given != null) {
        checkArgument(given.size() == 2, "%s needs two moments but has %s", t.name(), given.size());
        fill(m[0].buffers[0], given.get(0));
        fill(m[1].buffers[0], given.get(1));
      }
    }
    for (Tensor t : frozenWeights) {
      FloatBuffer b = direct(t.numel());
      fill(b, t);
      frozenBuffers.put(t.name(), b);
      frozen.put(t.name(), OnnxTensor.createTensor(env, b, t.shape()));
    }
    accumulate[0] = scalar(env, 0f);
    accumulate[1] = scalar(env, 1f);
    Set<String> own = new java.util.HashSet<>(parameters.keySet());
    own.addAll(frozen.keySet());
    parameters.keySet().forEach(n -> own.add(accumulator(n)));
    own.add(ACCUMULATE);
    userInputs.removeAll(own);
    if (evalSession != null) {
      for (String n : evalSession.getInputNames()) {
        if (!parameters.containsKey(n) && !frozen.containsKey(n)) {
          evalInputs.add(n);
        }
      }
    }
    step = stepsTaken;
  }

  /** Loads the fed weights; they leave the user inputs of both graphs. */
  private void feed(List<Tensor> weights) throws OrtException {
    fed = FedWeights.load(env, weights);
    userInputs.removeAll(fed.tensors().keySet());
    evalInputs.removeAll(fed.tensors().keySet());
  }

  private static OnnxTensor scalar(OrtEnvironment env, float value) throws OrtException {
    return OnnxTensor.createTensor(env, FloatBuffer.wrap(new float[] {value}), new long[0]);
  }

  private static FloatBuffer direct(long elements) {
    checkArgument(
        elements <= Integer.MAX_VALUE / Float.BYTES,
        "a tensor of %s floats does not fit one direct buffer (at most %s)",
        elements,
        Integer.MAX_VALUE / Float.BYTES);
    return ByteBuffer.allocateDirect((int) elements * Float.BYTES)
        .order(ByteOrder.nativeOrder())
        .asFloatBuffer();
  }

  private static void fill(FloatBuffer dst, Tensor t) {
    FloatBuffer view = dst.duplicate();
    view.clear();
    t.forEachChunk((offset, values, length) -> view.put(values, 0, length));
  }

  /** The step graph's user inputs (those fed per micro-batch). */
  @Override
  public List<String> trainInputNames() {
    checkOpen();
    return List.copyOf(userInputs);
  }

  /**
   * Runs the step graph on one micro-batch, adding its gradients to the accumulators (or replacing
   * them after {@link #lazyResetGrad()}), and returns the loss.
   *
   * @param inputs one tensor per name of {@link #trainInputNames()}, any order
   */
  @Override
  public float trainStep(List<HostTensor> inputs) {
    checkOpen();
    Map<String, OnnxTensor> feeds = Feeds.wrap(env, "step", userInputs, inputs);
    try {
      Map<String, OnnxTensor> all = new HashMap<>(feeds);
      parameters.forEach((n, p) -> all.put(n, p.now()));
      all.putAll(frozen);
      all.putAll(fed.tensors());
      Map<String, OnnxValue> pinned = new HashMap<>();
      accumulators.forEach(
          (n, a) -> {
            all.put(accumulator(n), a.now());
            pinned.put(accumulated(n), a.after());
          });
      all.put(ACCUMULATE, accumulate[accumulateNext ? 1 : 0]);
      float loss;
      try (OrtSession.Result result = stepSession.run(all, Set.of(LOSS), pinned)) {
        loss = Feeds.floats(LOSS, result.get(LOSS).orElseThrow())[0];
      }
      accumulators.values().forEach(PingPong::swap);
      accumulateNext = true;
      return loss;
    } catch (OrtException e) {
      throw new TrainingRuntimeException(
          "train step failed on inputs " + inputs + ": " + e.getMessage(), e);
    } finally {
      feeds.values().forEach(OnnxTensor::close);
    }
  }

  /** The eval model's user inputs; empty without one. */
  public List<String> evalInputNames() {
    checkOpen();
    return List.copyOf(evalInputs);
  }

  /**
   * Runs the eval model with the current parameters and returns its first output, the loss.
   *
   * @throws IllegalStateException if the runtime was opened without an eval model
   */
  public float evalStep(List<HostTensor> inputs) {
    checkOpen();
    if (evalSession == null) {
      throw new IllegalStateException("evalStep needs an eval model; open the runtime with one");
    }
    Map<String, OnnxTensor> feeds = Feeds.wrap(env, "eval", evalInputs, inputs);
    try {
      Map<String, OnnxTensor> all = new HashMap<>(feeds);
      parameters.forEach((n, p) -> all.put(n, p.now()));
      all.putAll(frozen);
      all.putAll(fed.tensors());
      String loss = evalSession.getOutputNames().iterator().next();
      try (OrtSession.Result result = evalSession.run(all, Set.of(loss))) {
        return Feeds.floats(loss, result.get(loss).orElseThrow())[0];
      }
    } catch (OrtException e) {
      throw new TrainingRuntimeException(
          "eval step failed on inputs " + inputs + ": " + e.getMessage(), e);
    } finally {
      feeds.values().forEach(OnnxTensor::close);
    }
  }

  /** Makes the next {@link #trainStep} replace the accumulators instead of adding to them. */
  @Override
  public void lazyResetGrad() {
    checkOpen();
    accumulateNext = false;
  }

  /** Sets the learning rate of the following optimizer steps; finite and {@code >= 0}. */
  @Override
  public void setLearningRate(float value) {
    checkOpen();
    checkArgument(
        Float.isFinite(value) && value >= 0,
        "learning rate must be finite and >= 0 but was %s",
        value);
    learningRate = value;
  }

  /** Applies AdamW with the accumulated gradients, then counts the step. */
  @Override
  public void optimizerStep() {
    checkOpen();
    try (OnnxTensor lr = scalar(env, learningRate);
        OnnxTensor t = scalar(env, step + 1)) {
      Map<String, OnnxTensor> in = new HashMap<>();
      Map<String, OnnxValue> pinned = new HashMap<>();
      in.put(LEARNING_RATE, lr);
      in.put(STEP, t);
      for (String n : trainable) {
        PingPong p = parameters.get(n);
        PingPong[] m = moments.get(n);
        in.put(n, p.now());
        in.put(accumulator(n), accumulators.get(n).now());
        pinned.put(next(n), p.after());
        for (int k = 0; k < 2; k++) {
          in.put(moment(n, k), m[k].now());
          pinned.put(next(moment(n, k)), m[k].after());
        }
      }
      optimizerSession.run(in, Set.of(), pinned).close();
      for (String n : trainable) {
        parameters.get(n).swap();
        moments.get(n)[0].swap();
        moments.get(n)[1].swap();
      }
      step++;
    } catch (OrtException e) {
      throw new TrainingRuntimeException("optimizer step failed: " + e.getMessage(), e);
    }
  }

  /** Optimizer steps taken, those before a resume included. */
  public long step() {
    checkOpen();
    return step;
  }

  /**
   * The current trainable parameters, then the frozen ones, as tensors reading this runtime's
   * buffers (not copies: read them before the next optimizer step, e.g. to write a checkpoint).
   */
  public List<Tensor> parameters() {
    checkOpen();
    List<Tensor> out = new ArrayList<>();
    parameters.forEach((n, p) -> out.add(Tensor.view(n, p.shape, p.buffers[p.current])));
    frozen.forEach((n, t) -> out.add(Tensor.view(n, t.getInfo().getShape(), frozenBuffers.get(n))));
    return out;
  }

  /** The names of the parameters the optimizer updates, in its order. */
  public List<String> trainableNames() {
    checkOpen();
    return trainable;
  }

  /** AdamW moment {@code k} of trainable parameter {@code name}, as {@link #parameters()} reads. */
  public Tensor optimizerMoment(String name, int k) {
    checkOpen();
    PingPong p = moments.get(name)[k];
    return Tensor.view(p.name, p.shape, p.buffers[p.current]);
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    parameters.values().forEach(PingPong::close);
    accumulators.values().forEach(PingPong::close);
    moments.values().forEach(m -> List.of(m).forEach(PingPong::close));
    frozen.values().forEach(OnnxTensor::close);
    fed.close();
    for (OnnxTensor t : accumulate) {
      if (t != null) {
        t.close();
      }
    }
    closeQuietly(stepSession, optimizerSession, evalSession);
    sessionOptions.close();
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("this PortableRuntime is closed");
    }
  }
}
