package dev.im4j.onnx.train;

import static com.google.common.base.Preconditions.checkArgument;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.graph.Dim;
import dev.im4j.onnx.graph.OnnxIo;
import dev.im4j.onnx.graph.Value;
import dev.im4j.onnx.model.Tensor;
import dev.im4j.onnx.runtime.TrainingArtifacts;
import dev.im4j.onnx.train.checkpoint.TrainingCheckpoint;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes the four artifacts of ONNX Runtime's on-device training API from a {@link TrainingGraph}
 * of our IR: training model, eval model, optimizer model and checkpoint (the files {@link
 * TrainingArtifacts#inDirectory} expects).
 *
 * <ul>
 *   <li><b>Training model</b>: the graph's inputs (parameters included, by name), plus for each
 *       trainable parameter {@code p} an input {@code p_grad.accumulation.buffer} and a {@code
 *       com.microsoft} {@code InPlaceAccumulatorV2(buffer, grad, lazy_reset_grad)} node whose bool
 *       output {@code p_grad.accumulation.out} is a graph output; a {@code lazy_reset_grad} bool
 *       [1] input; the loss is the first output.
 *   <li><b>Eval model</b>: the nodes the loss (and the requested extra outputs) need, the same
 *       inputs in the same order (ORT requires parameters in the same relative order).
 *   <li><b>Optimizer model</b>: one {@code com.microsoft} {@code AdamWOptimizer} (bias-corrected;
 *       {@code adam_mode} from {@link AdamWConfig#variant()}) with a bool output.
 *   <li><b>Checkpoint</b>: {@link TrainingCheckpoint} with the initial weights, trainable and
 *       frozen, and an optimizer group at step 0 with zero moments and the initial learning rate. A
 *       frozen parameter the graph declares FLOAT16 or BFLOAT16 (a LoRA base held in half
 *       precision) is left out: ONNX Runtime's checkpoint loader reads float and integer tensors
 *       only, so such a parameter stays a plain input of both models, which the runtime feeds
 *       itself ({@code TrainingApiRuntime.open} with fed weights).
 * </ul>
 *
 * <p>Size: parameters are graph inputs, not initializers, so the graphs usually hold only small
 * constants; initializers of 16 MiB or more are written as ONNX external data to {@code
 * training_model.onnx.data}, shared by the eval model, so no model hits protobuf's 2 GB. The
 * checkpoint is a flatbuffer, which cannot address 2 GiB: from {@link
 * #DEFAULT_CHECKPOINT_EXTERNAL_THRESHOLD} bytes of parameters on, they go to {@code
 * checkpoint.data} in ONNX Runtime's external-data form.
 */
public final class TrainingArtifactsBuilder {
  static final String MS_DOMAIN = "com.microsoft";
  static final String LAZY_RESET_GRAD = "lazy_reset_grad";
  static final String BUFFER_SUFFIX = "_grad.accumulation.buffer";
  static final String OUT_SUFFIX = "_grad.accumulation.out";

  /** Initializers of at least this many bytes go to {@code training_model.onnx.data}. */
  static final long DEFAULT_EXTERNAL_THRESHOLD = 16L << 20;

  /**
   * Parameter bytes from which the initial checkpoint keeps its tensors in {@code checkpoint.data}
   * (16 MiB): its weights are then streamed to the file instead of built into a flatbuffer on the
   * heap, and ONNX Runtime keeps that form in the checkpoints it saves.
   */
  static final long DEFAULT_CHECKPOINT_EXTERNAL_THRESHOLD = 16L << 20;

  private final TrainingGraph training;
  private final Map<String, Tensor> weights;
  private Set<String> frozen = Set.of();
  private AdamWConfig adamW = AdamWConfig.defaults();
  private List<Value> evalOutputs = List.of();
  private float maxGradNorm = 0;
  private long externalThreshold = DEFAULT_EXTERNAL_THRESHOLD;
  private long checkpointExternalThreshold = DEFAULT_CHECKPOINT_EXTERNAL_THRESHOLD;
  private boolean syncCheckpoint = true;

  private TrainingArtifactsBuilder(TrainingGraph training, List<Tensor> weights) {
    this.training = training;
    this.weights = new HashMap<>();
    for (Tensor t : weights) {
      checkArgument(
          this.weights.put(t.name(), t) == null, "weight %s given twice; pass each once", t.name());
    }
    for (Value p : training.parameters()) {
      Tensor t = this.weights.get(p.name());
      checkArgument(
          t != null,
          "parameter %s has no initial weight; the weights hold %s",
          p.name(),
          this.weights.keySet());
      long[] dims = p.shape().sizes();
      checkArgument(
          (p.dtype() == DType.FLOAT || p.dtype() == DType.FLOAT16 || p.dtype() == DType.BFLOAT16)
              && java.util.Arrays.equals(dims, t.shape()),
          "parameter %s is %s but its weight has dims %s; they must match (float32, or float16"
              + " or bfloat16 for a frozen parameter)",
          p.name(),
          p,
          java.util.Arrays.toString(t.shape()));
    }
  }

  /** A builder for {@code training} with the initial value of every parameter. */
  public static TrainingArtifactsBuilder of(TrainingGraph training, List<Tensor> initialWeights) {
    return new TrainingArtifactsBuilder(training, initialWeights);
  }

  /** Parameters fed to the graphs but never updated (no gradient buffer); default none. */
  public TrainingArtifactsBuilder frozen(Set<String> frozenNames) {
    for (String f : frozenNames) {
      checkArgument(weights.containsKey(f), "frozen parameter %s is not a parameter", f);
    }
    this.frozen = Set.copyOf(frozenNames);
    return this;
  }

  /** AdamW hyper-parameters; default {@link AdamWConfig#defaults()}. */
  public TrainingArtifactsBuilder adamW(AdamWConfig config) {
    this.adamW = config;
    return this;
  }

  /**
   * Clips the global L2 norm of the accumulated gradients before AdamW: {@code g ← g · min(1,
   * maxNorm / (‖g‖₂ + 1e-6))}, {@code ‖g‖₂} over all trainable parameters together (PyTorch's
   * {@code clip_grad_norm_}); ORT's {@code com.microsoft} {@code InplaceClipGradNorm} in the
   * optimizer model. Default 0: no clipping (the paper clips nothing).
   */
  public TrainingArtifactsBuilder clipGradNorm(float maxNorm) {
    checkArgument(
        Float.isFinite(maxNorm) && maxNorm >= 0,
        "maxNorm must be finite and >= 0 (0 = off) but was %s",
        maxNorm);
    this.maxGradNorm = maxNorm;
    return this;
  }

  /**
   * Whether the initial checkpoint is synced to disk (default true: artifacts kept for later use
   * survive a crash of the machine). A caller that writes the artifacts anew on every run, as the
   * {@link Trainer} does, turns it off: the checkpoint is still replaced atomically, and the start
   * does not wait for gigabytes of weights to reach the disk.
   */
  public TrainingArtifactsBuilder syncCheckpoint(boolean sync) {
    this.syncCheckpoint = sync;
    return this;
  }

  /** Test hook: the tensor bytes from which the checkpoint keeps its tensors in a data file. */
  TrainingArtifactsBuilder checkpointExternalThreshold(long bytes) {
    this.checkpointExternalThreshold = bytes;
    return this;
  }

  /** Test hook: the size from which initializers are stored as external data. */
  TrainingArtifactsBuilder externalThreshold(long bytes) {
    checkArgument(bytes > 0, "threshold must be > 0 but was %s", bytes);
    this.externalThreshold = bytes;
    return this;
  }

  /** Extra outputs of the eval model after the loss (e.g. logits); default none. */
  public TrainingArtifactsBuilder evalOutputs(List<Value> outputs) {
    this.evalOutputs = List.copyOf(outputs);
    return this;
  }

  /**
   * Writes {@code training_model.onnx}, {@code eval_model.onnx}, {@code optimizer_model.onnx} and
   * {@code checkpoint} into {@code dir} (created if needed).
   *
   * @throws IllegalArgumentException if a trainable parameter has no gradient
   * @throws UncheckedIOException if a file cannot be written
   */
  public TrainingArtifacts write(Path dir) {
    List<String> trainable = new ArrayList<>();
    for (Value p : training.parameters()) {
      if (!frozen.contains(p.name())) {
        checkArgument(
            training.gradients().containsKey(p.name()),
            "trainable parameter %s has no gradient in the training graph; differentiate it or"
                + " freeze it",
            p.name());
        checkArgument(
            p.dtype() == DType.FLOAT,
            "trainable parameter %s is %s; only frozen parameters may be held in half precision",
            p.name(),
            p.dtype());
        trainable.add(p.name());
      }
    }
    ModelProto base;
    try {
      Files.createDirectories(dir);
      // Large initializers go to training_model.onnx.data (protobuf stops at 2 GB); the eval model
      // refers to the same file by its relative location.
      Path trainingFile = dir.resolve("training_model.onnx");
      OnnxIo.write(training.graph(), trainingFile, externalThreshold);
      base = parse(Files.readAllBytes(trainingFile));
      writeModel(dir.resolve("training_model.onnx"), trainingModel(base, trainable));
      writeModel(dir.resolve("eval_model.onnx"), evalModel(base));
      writeModel(dir.resolve("optimizer_model.onnx"), optimizerModel(adamW, maxGradNorm));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write training artifacts into " + dir, e);
    }
    List<Tensor> trainableWeights = new ArrayList<>();
    List<Tensor> frozenWeights = new ArrayList<>();
    for (Value p : training.parameters()) {
      if (p.dtype() != DType.FLOAT) {
        continue; // a frozen half-precision input: fed by the runtime, see fedWeights()
      }
      (frozen.contains(p.name()) ? frozenWeights : trainableWeights).add(weights.get(p.name()));
    }
    // No optimizer group: ONNX Runtime creates "group0" at step 0 with zero moments itself when
    // the checkpoint has none, so the moments never exist as arrays here or in the file. The
    // learning rate is fed before every step.
    TrainingCheckpoint initial = TrainingCheckpoint.of(trainableWeights, frozenWeights);
    if (syncCheckpoint) {
      initial.write(dir.resolve("checkpoint"), checkpointExternalThreshold);
    } else {
      initial.writeWithoutSync(dir.resolve("checkpoint"), checkpointExternalThreshold);
    }
    return TrainingArtifacts.inDirectory(dir);
  }

  private ModelProto trainingModel(ModelProto base, List<String> trainable) {
    GraphProto.Builder g =
        base.getGraph().toBuilder().setName(base.getGraph().getName() + "_train");
    g.clearOutput();
    g.addOutput(valueInfo(training.loss()));
    Map<String, Value> params = new HashMap<>();
    training.parameters().forEach(p -> params.put(p.name(), p));
    for (String name : trainable) {
      Value p = params.get(name);
      g.addInput(valueInfo(name + BUFFER_SUFFIX, p));
      g.addNode(
          NodeProto.newBuilder()
              .setOpType("InPlaceAccumulatorV2")
              .setDomain(MS_DOMAIN)
              .setName(name + "_grad_accumulator")
              .addInput(name + BUFFER_SUFFIX)
              .addInput(training.gradients().get(name).name())
              .addInput(LAZY_RESET_GRAD)
              .addOutput(name + OUT_SUFFIX));
      g.addOutput(boolVector(name + OUT_SUFFIX));
    }
    g.addInput(boolVector(LAZY_RESET_GRAD));
    return base.toBuilder().setGraph(g).addOpsetImport(msOpset()).build();
  }

  private ModelProto evalModel(ModelProto base) {
    return evalModel(base, training.loss(), evalOutputs);
  }

  /**
   * The forward part of {@code training}'s graph with the loss as its only output: the eval model
   * of the portable runtime, as bytes (parameters and user inputs as graph inputs).
   */
  static byte[] evalModelBytes(TrainingGraph training) {
    return evalModel(parse(OnnxIo.toBytes(training.graph())), training.loss(), List.of())
        .toByteArray();
  }

  private static ModelProto evalModel(ModelProto base, Value loss, List<Value> evalOutputs) {
    GraphProto full = base.getGraph();
    List<ValueInfoProto> outputs = new ArrayList<>();
    outputs.add(valueInfo(loss));
    evalOutputs.forEach(v -> outputs.add(valueInfo(v)));
    Set<String> needed = new HashSet<>();
    outputs.forEach(o -> needed.add(o.getName()));
    List<NodeProto> kept = new ArrayList<>();
    for (int i = full.getNodeCount() - 1; i >= 0; i--) {
      NodeProto n = full.getNode(i);
      if (n.getOutputList().stream().anyMatch(needed::contains)) {
        kept.add(0, n);
        needed.addAll(n.getInputList());
      }
    }
    GraphProto.Builder g =
        full.toBuilder().setName(full.getName() + "_eval").clearNode().addAllNode(kept);
    g.clearOutput().addAllOutput(outputs);
    List<TensorProto> inits = new ArrayList<>(g.getInitializerList());
    g.clearInitializer();
    inits.stream().filter(t -> needed.contains(t.getName())).forEach(g::addInitializer);
    return base.toBuilder().setGraph(g).build();
  }

  static ModelProto optimizerModel(AdamWConfig a, float maxGradNorm) {
    GraphProto.Builder g = GraphProto.newBuilder().setName("adamw_optimizer");
    g.addInput(tensorInfo("learning_rate", TensorProto.DataType.FLOAT_VALUE, 1));
    g.addInput(tensorInfo("step", TensorProto.DataType.INT64_VALUE, 1));
    List<String> inputs =
        List.of(
            "learning_rate",
            "step",
            "params",
            "gradients",
            "first_order_moments",
            "second_order_moments");
    for (String s : inputs.subList(2, inputs.size())) {
      g.addInput(floatSequence(s));
    }
    if (maxGradNorm > 0) {
      g.addNode(
          NodeProto.newBuilder()
              .setOpType("InplaceClipGradNorm")
              .setDomain(MS_DOMAIN)
              .setName("clip_grad_norm")
              .addInput("gradients")
              .addOutput("clipped_gradients")
              .addAttribute(floatAttr("max_norm", maxGradNorm))
              .addAttribute(
                  AttributeProto.newBuilder()
                      .setName("norm_type")
                      .setType(AttributeProto.AttributeType.STRING)
                      .setS(com.google.protobuf.ByteString.copyFromUtf8("fro"))));
      inputs =
          List.of(
              "learning_rate",
              "step",
              "params",
              "clipped_gradients",
              "first_order_moments",
              "second_order_moments");
    }
    NodeProto.Builder n =
        NodeProto.newBuilder()
            .setOpType("AdamWOptimizer")
            .setDomain(MS_DOMAIN)
            .setName("adamw")
            .addAllInput(inputs)
            .addOutput("updated_flag");
    n.addAttribute(floatAttr("alpha", a.beta1()));
    n.addAttribute(floatAttr("beta", a.beta2()));
    n.addAttribute(floatAttr("epsilon", a.epsilon()));
    n.addAttribute(floatAttr("weight_decay", a.weightDecay()));
    // ORT rejects adam_mode 0 without correct_bias 1; both variants are bias-corrected.
    n.addAttribute(intAttr("correct_bias", 1));
    n.addAttribute(intAttr("adam_mode", a.variant().adamMode()));
    g.addNode(n);
    // ORT 1.24 rejects onnxblock's int64 flag: the output must be bool
    g.addOutput(boolVector("updated_flag"));
    return ModelProto.newBuilder()
        .setIrVersion(OnnxIo.IR_VERSION)
        .setProducerName("im4j")
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
        .addOpsetImport(msOpset())
        .setGraph(g)
        .build();
  }

  private static ModelProto parse(byte[] bytes) {
    try {
      return ModelProto.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("OnnxIo wrote a model protobuf cannot parse: " + e, e);
    }
  }

  private static void writeModel(Path file, ModelProto model) throws IOException {
    try (OutputStream out = Files.newOutputStream(file)) {
      model.writeTo(out);
    }
  }

  private static OperatorSetIdProto msOpset() {
    return OperatorSetIdProto.newBuilder().setDomain(MS_DOMAIN).setVersion(1).build();
  }

  private static ValueInfoProto valueInfo(Value v) {
    return valueInfo(v.name(), v);
  }

  /** A tensor value info named {@code name} with {@code v}'s dtype and shape. */
  private static ValueInfoProto valueInfo(String name, Value v) {
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
    for (Dim d : v.shape().dims()) {
      TensorShapeProto.Dimension.Builder db = TensorShapeProto.Dimension.newBuilder();
      if (d.isStatic()) {
        db.setDimValue(d.size());
      } else if (d.isSymbolic()) {
        db.setDimParam(d.symbol());
      }
      shape.addDim(db);
    }
    return ValueInfoProto.newBuilder()
        .setName(name)
        .setType(
            TypeProto.newBuilder()
                .setTensorType(
                    TypeProto.Tensor.newBuilder()
                        .setElemType(v.dtype().onnxCode())
                        .setShape(shape)))
        .build();
  }

  private static ValueInfoProto boolVector(String name) {
    return tensorInfo(name, TensorProto.DataType.BOOL_VALUE, 1);
  }

  private static ValueInfoProto tensorInfo(String name, int elemType, long... dims) {
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
    for (long d : dims) {
      shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
    }
    return ValueInfoProto.newBuilder()
        .setName(name)
        .setType(
            TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape)))
        .build();
  }

  private static ValueInfoProto floatSequence(String name) {
    TypeProto element =
        TypeProto.newBuilder()
            .setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE))
            .build();
    return ValueInfoProto.newBuilder()
        .setName(name)
        .setType(
            TypeProto.newBuilder()
                .setSequenceType(TypeProto.Sequence.newBuilder().setElemType(element)))
        .build();
  }

  private static AttributeProto floatAttr(String name, float value) {
    return AttributeProto.newBuilder()
        .setName(name)
        .setType(AttributeProto.AttributeType.FLOAT)
        .setF(value)
        .build();
  }

  private static AttributeProto intAttr(String name, long value) {
    return AttributeProto.newBuilder()
        .setName(name)
        .setType(AttributeProto.AttributeType.INT)
        .setI(value)
        .build();
  }
}
