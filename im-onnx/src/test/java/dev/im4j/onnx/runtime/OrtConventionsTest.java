package dev.im4j.onnx.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.im4j.onnx.model.Tensor;
import dev.im4j.onnx.train.AdamWConfig;
import dev.im4j.onnx.train.checkpoint.TrainingCheckpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins what ONNX Runtime 1.24's training API enforces on the artifacts, by breaking one rule of the
 * toy regression at a time. The artifact generator relies on these facts; an ORT upgrade that
 * changes one fails here first.
 */
class OrtConventionsTest {
  private static final AdamWConfig ADAM = new AdamWConfig(0.01f, 0.9f, 0.999f, 1e-8f, 0f);
  private static final float[] W0 = {0, 0, 0};

  @TempDir Path dir;

  private static List<HostTensor> batch() {
    return List.of(
        HostTensor.floats("x", new long[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6}),
        HostTensor.floats("y", new long[] {2, 1}, new float[] {1, 2}),
        HostTensor.floats("c", new long[] {2, 1}, new float[] {0.5f, 0.5f}));
  }

  /** The toy's artifacts with one graph file replaced by {@code edit} of it. */
  private TrainingArtifacts variant(String file, UnaryOperator<ModelProto> edit)
      throws IOException {
    Path variant = dir.resolve(file + "-variant");
    ToyRegression.write(variant, 3, W0, 0f, ADAM);
    Path path = variant.resolve(file);
    Files.write(path, edit.apply(ModelProto.parseFrom(Files.readAllBytes(path))).toByteArray());
    return TrainingArtifacts.inDirectory(variant);
  }

  /** One training step and one optimizer step; returns W from a saved checkpoint. */
  private float[] trainOnce(TrainingArtifacts artifacts) {
    try (TrainingApiRuntime runtime =
        TrainingApiRuntime.open(artifacts, RuntimeOptions.defaults().withThreads(1, 1))) {
      runtime.setLearningRate(0.1f);
      runtime.lazyResetGrad();
      runtime.trainStep(batch());
      runtime.optimizerStep();
      runtime.evalStep(batch());
      Path file = dir.resolve("after.ckpt");
      runtime.saveCheckpoint(file, false);
      return TrainingCheckpoint.read(file).parameter("W").orElseThrow().toArray();
    }
  }

  @Test
  void theToyTrainsAsBuilt() throws IOException {
    // Adam's first step moves each weight by lr against the sign of its gradient (all negative).
    assertArrayEquals(
        new float[] {0.1f, 0.1f, 0.1f},
        trainOnce(ToyRegression.write(dir.resolve("toy"), 3, W0, 0f, ADAM)),
        1e-6f);
  }

  @Test
  void opset18AndIrVersion9AlsoWork() throws IOException {
    UnaryOperator<ModelProto> opset18 =
        m -> {
          ModelProto.Builder b = m.toBuilder().setIrVersion(9);
          b.setOpsetImport(0, b.getOpsetImport(0).toBuilder().setVersion(18));
          return b.build();
        };
    Path variant = dir.resolve("opset18");
    ToyRegression.write(variant, 3, W0, 0f, ADAM);
    for (String file : List.of("training_model.onnx", "eval_model.onnx", "optimizer_model.onnx")) {
      Path path = variant.resolve(file);
      Files.write(
          path, opset18.apply(ModelProto.parseFrom(Files.readAllBytes(path))).toByteArray());
    }
    assertArrayEquals(
        new float[] {0.1f, 0.1f, 0.1f}, trainOnce(TrainingArtifacts.inDirectory(variant)), 1e-6f);
  }

  @Test
  void adamWUpdatedFlagMustBeBool() throws IOException {
    TrainingArtifacts artifacts =
        variant("optimizer_model.onnx", m -> withOutputType(m, 0, ToyRegression.INT64));
    TrainingRuntimeException e =
        assertThrows(TrainingRuntimeException.class, () -> trainOnce(artifacts));
    assertTrue(
        e.getMessage().contains("Type (tensor(int64)) of output arg (updated_flag)")
            && e.getMessage().contains("does not match expected type (tensor(bool))"),
        e.getMessage());
  }

  @Test
  void lazyResetGradInputIsRequired() throws IOException {
    TrainingArtifacts artifacts =
        variant(
            "training_model.onnx",
            m -> {
              GraphProto.Builder g = m.getGraph().toBuilder();
              for (int i = g.getInputCount() - 1; i >= 0; i--) {
                if (g.getInput(i).getName().equals("lazy_reset_grad")) {
                  g.removeInput(i);
                }
              }
              for (int i = 0; i < g.getNodeCount(); i++) {
                NodeProto n = g.getNode(i);
                if (n.getOpType().equals("InPlaceAccumulatorV2")) {
                  g.setNode(
                      i,
                      n.toBuilder().clearInput().addInput(n.getInput(0)).addInput(n.getInput(1)));
                }
              }
              return m.toBuilder().setGraph(g).build();
            });
    TrainingRuntimeException e =
        assertThrows(TrainingRuntimeException.class, () -> trainOnce(artifacts));
    assertTrue(e.getMessage().contains("Invalid input name: lazy_reset_grad"), e.getMessage());
  }

  @Test
  void accumulationWithStandardOpsRunsButNeverTrains() throws IOException {
    TrainingArtifacts artifacts =
        variant(
            "training_model.onnx",
            m -> {
              GraphProto.Builder g = m.getGraph().toBuilder();
              for (int i = 0; i < g.getNodeCount(); i++) {
                NodeProto n = g.getNode(i);
                if (n.getOpType().equals("InPlaceAccumulatorV2")) {
                  g.setNode(
                      i,
                      NodeProto.newBuilder()
                          .setOpType("Add")
                          .setName(n.getName())
                          .addInput(n.getInput(0))
                          .addInput(n.getInput(1))
                          .addOutput(n.getOutput(0)));
                }
              }
              ModelProto added = m.toBuilder().setGraph(g).build();
              added = withOutputType(added, 1, ToyRegression.FLOAT);
              return withOutputType(added, 2, ToyRegression.FLOAT);
            });
    assertArrayEquals(new float[] {0, 0, 0}, trainOnce(artifacts));
  }

  @Test
  void evalParametersMustKeepTheTrainingOrder() throws IOException {
    TrainingArtifacts artifacts =
        variant(
            "eval_model.onnx",
            m -> {
              GraphProto.Builder g = m.getGraph().toBuilder();
              ValueInfoProto w = g.getInput(3);
              ValueInfoProto b = g.getInput(4);
              assertEquals("W", w.getName());
              return m.toBuilder().setGraph(g.setInput(3, b).setInput(4, w)).build();
            });
    TrainingRuntimeException e =
        assertThrows(TrainingRuntimeException.class, () -> trainOnce(artifacts));
    assertTrue(e.getMessage().contains("Invalid rank for input: b"), e.getMessage());
  }

  @Test
  void frozenParametersAreFedButNeverUpdated() throws IOException {
    // b becomes frozen: no gradient buffer, no accumulator, listed under frozen_params.
    TrainingArtifacts artifacts =
        variant(
            "training_model.onnx",
            m -> {
              GraphProto.Builder g = m.getGraph().toBuilder();
              for (int i = g.getNodeCount() - 1; i >= 0; i--) {
                if (g.getNode(i).getOutput(0).equals("b_grad.accumulation.out")) {
                  g.removeNode(i);
                }
              }
              for (int i = g.getInputCount() - 1; i >= 0; i--) {
                if (g.getInput(i).getName().equals("b_grad.accumulation.buffer")) {
                  g.removeInput(i);
                }
              }
              for (int i = g.getOutputCount() - 1; i >= 0; i--) {
                if (g.getOutput(i).getName().equals("b_grad.accumulation.out")) {
                  g.removeOutput(i);
                }
              }
              return m.toBuilder().setGraph(g).build();
            });
    TrainingCheckpoint.of(
            List.of(Tensor.of("W", new long[] {3, 1}, W0)),
            List.of(Tensor.of("b", new long[] {1}, new float[] {0.5f})))
        .write(artifacts.checkpoint());

    try (TrainingApiRuntime runtime =
        TrainingApiRuntime.open(artifacts, RuntimeOptions.defaults().withThreads(1, 1))) {
      assertEquals(List.of("x", "y", "c"), runtime.trainInputNames());
      runtime.setLearningRate(0.1f);
      runtime.lazyResetGrad();
      runtime.trainStep(batch());
      runtime.optimizerStep();
      Path file = dir.resolve("frozen.ckpt");
      runtime.saveCheckpoint(file, true);
      TrainingCheckpoint saved = TrainingCheckpoint.read(file);

      assertEquals(List.of("b"), saved.frozen().stream().map(Tensor::name).toList());
      assertArrayEquals(new float[] {0.5f}, saved.parameter("b").orElseThrow().toArray());
      assertArrayEquals(
          new float[] {0.1f, 0.1f, 0.1f}, saved.parameter("W").orElseThrow().toArray(), 1e-6f);
      assertEquals(
          List.of("W"),
          saved.optimizerGroup("group0").orElseThrow().parameters().stream()
              .map(p -> p.parameterName())
              .toList());
    }
  }

  private static ModelProto withOutputType(ModelProto m, int output, int elemType) {
    GraphProto.Builder g = m.getGraph().toBuilder();
    ValueInfoProto o = g.getOutput(output);
    g.setOutput(
        output,
        o.toBuilder()
            .setType(
                o.getType().toBuilder()
                    .setTensorType(o.getType().getTensorType().toBuilder().setElemType(elemType))));
    return m.toBuilder().setGraph(g).build();
  }
}
