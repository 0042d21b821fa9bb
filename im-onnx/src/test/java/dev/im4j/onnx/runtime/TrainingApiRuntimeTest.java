package dev.im4j.onnx.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.im4j.onnx.train.AdamWConfig;
import dev.im4j.onnx.train.checkpoint.OptimizerGroup;
import dev.im4j.onnx.train.checkpoint.ParameterOptimizerState;
import dev.im4j.onnx.train.checkpoint.TrainingCheckpoint;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class TrainingApiRuntimeTest {
  private static final int D = 3;
  private static final int N = 16;
  private static final float[] W_TRUE = {1.5f, -2f, 0.5f};
  private static final float B_TRUE = 0.25f;
  private static final float[] W0 = {0.1f, 0.2f, -0.3f};
  private static final float B0 = 0f;
  private static final AdamWConfig ADAMW = new AdamWConfig(0.01f, 0.9f, 0.999f, 1e-8f, 0.01f);
  private static final AdamWConfig ADAM_NO_DECAY = ADAMW.withWeightDecay(0f);

  /**
   * ε large enough against the toy's gradients (about 0.01 to 1) that the two AdamW variants part
   * visibly: with ε = 1e-8 they would differ only by the order of decay and update, lr² · λ per
   * step, below the 1e-5 tolerance.
   */
  private static final AdamWConfig ADAMW_LARGE_EPS =
      new AdamWConfig(0.01f, 0.9f, 0.999f, 1e-2f, 0.01f);

  private static final RuntimeOptions OPTIONS = RuntimeOptions.defaults().withThreads(1, 1);

  @TempDir Path dir;

  /**
   * Rows {@code x [N, D]} (seeded), exact targets {@code y = x W_TRUE + B_TRUE}, {@code c = 1/N}.
   */
  private static final float[] X = new float[N * D];

  private static final float[] Y = new float[N];
  private static final float[] C = new float[N];

  static {
    Random random = new Random(20261123);
    for (int i = 0; i < N; i++) {
      float y = B_TRUE;
      for (int j = 0; j < D; j++) {
        X[i * D + j] = (float) random.nextGaussian();
        y += X[i * D + j] * W_TRUE[j];
      }
      Y[i] = y;
      C[i] = 1f / N;
    }
  }

  private static List<HostTensor> batch(int from, int to) {
    int n = to - from;
    return List.of(
        HostTensor.floats("x", new long[] {n, D}, Arrays.copyOfRange(X, from * D, to * D)),
        HostTensor.floats("y", new long[] {n, 1}, Arrays.copyOfRange(Y, from, to)),
        HostTensor.floats("c", new long[] {n, 1}, Arrays.copyOfRange(C, from, to)));
  }

  private TrainingApiRuntime open(String name, AdamWConfig adamW) throws IOException {
    return TrainingApiRuntime.open(
        ToyRegression.write(dir.resolve(name), D, W0, B0, adamW), OPTIONS);
  }

  private TrainingCheckpoint saved(TrainingApiRuntime runtime, String name) {
    Path file = dir.resolve(name);
    runtime.saveCheckpoint(file, true);
    return TrainingCheckpoint.read(file);
  }

  /** With a profile prefix, ONNX Runtime writes profiles naming the kernels run. */
  @Test
  void aProfilePrefixGivesProfilesOfTheKernelsRun() throws IOException {
    Path prefix = dir.resolve("profile");
    try (TrainingApiRuntime runtime =
        TrainingApiRuntime.open(
            ToyRegression.write(dir.resolve("profiled"), D, W0, B0, ADAMW),
            OPTIONS.withProfile(prefix))) {
      runtime.trainStep(batch(0, N));
      runtime.optimizerStep();
    }
    List<Path> profiles;
    try (var files = java.nio.file.Files.list(dir)) {
      profiles =
          files.filter(f -> f.getFileName().toString().startsWith("profile_")).sorted().toList();
    }
    // one file per session, named by the second it started in: sessions of this toy model start
    // within one second and share a name
    assertTrue(!profiles.isEmpty(), "no profile written");
    boolean kernels = false;
    for (Path p : profiles) {
      kernels |= java.nio.file.Files.readString(p).contains("_kernel_time");
    }
    assertTrue(kernels, "the profiles hold kernel times");
  }

  @Test
  void graphInputNamesAreTheUserInputs() throws IOException {
    try (TrainingApiRuntime runtime = open("names", ADAMW)) {
      assertEquals(List.of("x", "y", "c"), runtime.trainInputNames());
      assertEquals(List.of("loss"), runtime.trainOutputNames());
      assertEquals(List.of("x", "y", "c"), runtime.evalInputNames());
      assertEquals(List.of("loss", "pred"), runtime.evalOutputNames());
    }
  }

  @ParameterizedTest
  @EnumSource(AdamWConfig.Variant.class)
  void matchesAPlainJavaAdamWSimulationStepForStep(AdamWConfig.Variant variant) throws IOException {
    AdamWConfig adamW = ADAMW_LARGE_EPS.withVariant(variant);
    AdamWReference reference = new AdamWReference(W0, B0, adamW);
    AdamWConfig.Variant other =
        variant == AdamWConfig.Variant.TORCH
            ? AdamWConfig.Variant.HUGGING_FACE_LEGACY
            : AdamWConfig.Variant.TORCH;
    AdamWReference otherVariant = new AdamWReference(W0, B0, adamW.withVariant(other));
    float lr = 0.01f;
    try (TrainingApiRuntime runtime = open("sim", adamW)) {
      runtime.setLearningRate(lr);
      for (int step = 0; step < 20; step++) {
        runtime.lazyResetGrad();
        float loss = runtime.trainStep(batch(0, N));
        reference.resetGrad();
        float expectedLoss = reference.accumulate(X, Y, C);
        assertEquals(expectedLoss, loss, 1e-5f * Math.max(1, expectedLoss), "loss at step " + step);
        runtime.optimizerStep();
        reference.optimizerStep(lr);
        otherVariant.resetGrad();
        otherVariant.accumulate(X, Y, C);
        otherVariant.optimizerStep(lr);
      }
      TrainingCheckpoint checkpoint = saved(runtime, "sim.ckpt");
      float[] runtimeW = checkpoint.parameter("W").orElseThrow().toArray();
      float apart = 0;
      for (int j = 0; j < D; j++) {
        apart = Math.max(apart, Math.abs(runtimeW[j] - otherVariant.w[j]));
      }
      assertTrue(apart > 1e-3f, "the other variant lands " + apart + " away; too close to tell");

      assertClose(reference.w, checkpoint.parameter("W").orElseThrow().toArray(), 1e-5f);
      assertClose(reference.b, checkpoint.parameter("b").orElseThrow().toArray(), 1e-5f);
      OptimizerGroup group = checkpoint.optimizerGroup(OptimizerGroup.DEFAULT_NAME).orElseThrow();
      assertEquals(20, group.step());
      ParameterOptimizerState w = group.parameter("W").orElseThrow();
      assertClose(
          reference.mW,
          w.momentum(ParameterOptimizerState.FIRST_MOMENT).orElseThrow().toArray(),
          1e-5f);
      assertClose(
          reference.vW,
          w.momentum(ParameterOptimizerState.SECOND_MOMENT).orElseThrow().toArray(),
          1e-5f);
      ParameterOptimizerState b = group.parameter("b").orElseThrow();
      assertClose(reference.mB, b.momentum("momentum0").orElseThrow().toArray(), 1e-5f);
      assertClose(reference.vB, b.momentum("momentum1").orElseThrow().toArray(), 1e-5f);
    }
  }

  @Test
  void convergesToTheExactSolution() throws IOException {
    int steps = 600;
    try (TrainingApiRuntime runtime = open("converge", ADAM_NO_DECAY)) {
      float loss = Float.NaN;
      for (int step = 0; step < steps; step++) {
        // Linear decay to zero lets Adam settle instead of hovering at the scale of the rate.
        runtime.setLearningRate(0.05f * (1f - (float) step / steps));
        runtime.lazyResetGrad();
        loss = runtime.trainStep(batch(0, N));
        runtime.optimizerStep();
      }
      TrainingCheckpoint checkpoint = saved(runtime, "converged.ckpt");

      assertTrue(loss < 1e-6f, "final loss " + loss);
      assertClose(W_TRUE, checkpoint.parameter("W").orElseThrow().toArray(), 1e-3f);
      assertClose(new float[] {B_TRUE}, checkpoint.parameter("b").orElseThrow().toArray(), 1e-3f);
    }
  }

  @Test
  void twoAccumulatedMicroBatchesEqualOneStepOnTheirConcatenation() throws IOException {
    try (TrainingApiRuntime accumulated = open("acc", ADAMW);
        TrainingApiRuntime whole = open("whole", ADAMW)) {
      accumulated.setLearningRate(0.02f);
      whole.setLearningRate(0.02f);
      for (int step = 0; step < 3; step++) {
        accumulated.lazyResetGrad();
        float first = accumulated.trainStep(batch(0, 5));
        float second = accumulated.trainStep(batch(5, N));
        accumulated.optimizerStep();

        whole.lazyResetGrad();
        float all = whole.trainStep(batch(0, N));
        whole.optimizerStep();

        assertEquals(all, first + second, 1e-5f, "loss at step " + step);
      }
      TrainingCheckpoint a = saved(accumulated, "acc.ckpt");
      TrainingCheckpoint w = saved(whole, "whole.ckpt");
      assertClose(
          w.parameter("W").orElseThrow().toArray(),
          a.parameter("W").orElseThrow().toArray(),
          1e-6f);
      assertClose(
          w.parameter("b").orElseThrow().toArray(),
          a.parameter("b").orElseThrow().toArray(),
          1e-6f);
    }
  }

  @Test
  void withoutLazyResetGradTheBuffersKeepAccumulating() throws IOException {
    // Two steps on the whole batch without a reset in between see the first gradient twice.
    try (TrainingApiRuntime kept = open("kept", ADAMW);
        TrainingApiRuntime reset = open("reset", ADAMW)) {
      for (TrainingApiRuntime r : List.of(kept, reset)) {
        r.setLearningRate(0.02f);
        r.lazyResetGrad();
        r.trainStep(batch(0, N));
        r.optimizerStep();
      }
      kept.trainStep(batch(0, N));
      kept.optimizerStep();
      reset.lazyResetGrad();
      reset.trainStep(batch(0, N));
      reset.optimizerStep();

      float[] wKept = saved(kept, "kept.ckpt").parameter("W").orElseThrow().toArray();
      float[] wReset = saved(reset, "reset.ckpt").parameter("W").orElseThrow().toArray();
      assertTrue(!Arrays.equals(wKept, wReset), Arrays.toString(wKept));
    }
  }

  @ParameterizedTest
  @EnumSource(AdamWConfig.Variant.class)
  void resumesFromACheckpointWrittenInJavaWithOptimizerState(AdamWConfig.Variant variant)
      throws IOException {
    AdamWConfig adamW = ADAMW_LARGE_EPS.withVariant(variant);
    AdamWReference reference = new AdamWReference(W0, B0, adamW);
    float lr = 0.01f;
    TrainingCheckpoint midway;
    try (TrainingApiRuntime runtime = open("first", adamW)) {
      runtime.setLearningRate(lr);
      for (int step = 0; step < 5; step++) {
        runtime.lazyResetGrad();
        runtime.trainStep(batch(0, N));
        runtime.optimizerStep();
        reference.resetGrad();
        reference.accumulate(X, Y, C);
        reference.optimizerStep(lr);
      }
      midway = saved(runtime, "midway.ckpt");
    }
    // Re-encode with our writer (parameters, moments and step), then continue from it.
    Path resumed = dir.resolve("resumed");
    ToyRegression.write(resumed, D, W0, B0, adamW);
    midway.write(resumed.resolve("checkpoint"));
    try (TrainingApiRuntime runtime =
        TrainingApiRuntime.open(TrainingArtifacts.inDirectory(resumed), OPTIONS)) {
      runtime.setLearningRate(lr);
      for (int step = 0; step < 5; step++) {
        runtime.lazyResetGrad();
        runtime.trainStep(batch(0, N));
        runtime.optimizerStep();
        reference.resetGrad();
        reference.accumulate(X, Y, C);
        reference.optimizerStep(lr);
      }
      TrainingCheckpoint end = saved(runtime, "end.ckpt");
      assertEquals(10, end.optimizerGroup("group0").orElseThrow().step());
      assertClose(reference.w, end.parameter("W").orElseThrow().toArray(), 1e-5f);
      assertClose(reference.b, end.parameter("b").orElseThrow().toArray(), 1e-5f);
    }
    // Control: without the optimizer state the same five steps land elsewhere (by over ten times
    // the 1e-5 tolerance above; Adam steps are about lr whatever the moments), so the moments
    // and step above were really restored.
    midway.withOptimizerGroups(List.of()).write(resumed.resolve("checkpoint"));
    try (TrainingApiRuntime runtime =
        TrainingApiRuntime.open(TrainingArtifacts.inDirectory(resumed), OPTIONS)) {
      runtime.setLearningRate(lr);
      for (int step = 0; step < 5; step++) {
        runtime.lazyResetGrad();
        runtime.trainStep(batch(0, N));
        runtime.optimizerStep();
      }
      float[] w = saved(runtime, "fresh.ckpt").parameter("W").orElseThrow().toArray();
      float difference = 0;
      for (int j = 0; j < D; j++) {
        difference = Math.max(difference, Math.abs(w[j] - reference.w[j]));
      }
      assertTrue(difference > 1e-4f, "fresh moments should differ, max difference " + difference);
    }
  }

  @Test
  void evalStepUsesTheCurrentParameters() throws IOException {
    try (TrainingApiRuntime runtime = open("eval", ADAMW)) {
      runtime.setLearningRate(0.05f);
      for (int step = 0; step < 3; step++) {
        runtime.lazyResetGrad();
        runtime.trainStep(batch(0, N));
        runtime.optimizerStep();
      }
      TrainingCheckpoint checkpoint = saved(runtime, "eval.ckpt");
      float[] w = checkpoint.parameter("W").orElseThrow().toArray();
      float b = checkpoint.parameter("b").orElseThrow().get(0);

      Map<String, float[]> out = runtime.evalStep(batch(0, N));

      float[] expectedPred = predict(w, b, X);
      assertClose(expectedPred, out.get("pred"), 1e-5f);
      float expectedLoss = 0;
      for (int i = 0; i < N; i++) {
        expectedLoss += C[i] * (expectedPred[i] - Y[i]) * (expectedPred[i] - Y[i]);
      }
      assertEquals(expectedLoss, out.get("loss")[0], 1e-5f);
    }
  }

  @Test
  void exportedInferenceModelRunsInAPlainSession() throws IOException, OrtException {
    Path exported = dir.resolve("inference/model.onnx");
    float[] w;
    float b;
    try (TrainingApiRuntime runtime = open("export", ADAMW)) {
      runtime.setLearningRate(0.05f);
      runtime.lazyResetGrad();
      runtime.trainStep(batch(0, N));
      runtime.optimizerStep();
      TrainingCheckpoint checkpoint = saved(runtime, "export.ckpt");
      w = checkpoint.parameter("W").orElseThrow().toArray();
      b = checkpoint.parameter("b").orElseThrow().get(0);
      runtime.exportModelForInference(exported, List.of("pred"));
    }
    OrtEnvironment env = OrtNatives.environment();
    try (OrtSession session =
            env.createSession(exported.toString(), new OrtSession.SessionOptions());
        OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(X), new long[] {N, D});
        OrtSession.Result result = session.run(Map.of("x", x))) {
      assertEquals(java.util.Set.of("x"), session.getInputNames());
      FloatBuffer pred = ((OnnxTensor) result.get("pred").orElseThrow()).getFloatBuffer();
      float[] actual = new float[N];
      pred.get(actual);
      assertClose(predict(w, b, X), actual, 1e-5f);
    }
  }

  @Test
  void inputsAreMatchedByNameWhateverTheirOrder() throws IOException {
    try (TrainingApiRuntime ordered = open("ordered", ADAMW);
        TrainingApiRuntime shuffled = open("shuffled", ADAMW)) {
      List<HostTensor> inputs = batch(0, N);
      float expected = ordered.trainStep(inputs);
      float actual = shuffled.trainStep(List.of(inputs.get(2), inputs.get(0), inputs.get(1)));
      assertEquals(expected, actual);

      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  ordered.trainStep(
                      List.of(
                          inputs.get(0),
                          inputs.get(1),
                          HostTensor.floats("z", new long[] {1}, new float[1]))));
      assertEquals(
          "the training graph takes inputs [x, y, c] but missing were [c] and unknown [z]",
          e.getMessage());
    }
  }

  @Test
  void closeIsIdempotentAndLaterCallsFail() throws IOException {
    TrainingApiRuntime runtime = open("close", ADAMW);
    runtime.close();
    runtime.close();
    IllegalStateException e = assertThrows(IllegalStateException.class, runtime::optimizerStep);
    assertEquals("this TrainingApiRuntime is closed", e.getMessage());
  }

  @Test
  void cudaOnACpuOnlyBuildFailsWithAClearMessage() throws IOException {
    Ort.environment(); // im4j's natives first
    org.junit.jupiter.api.Assumptions.assumeFalse(
        ai.onnxruntime.OrtEnvironment.getAvailableProviders()
            .contains(ai.onnxruntime.OrtProvider.CUDA),
        "a CUDA-enabled build (mvn -Pcuda): CudaTrainingTest covers it");
    TrainingArtifacts artifacts = ToyRegression.write(dir.resolve("cuda"), D, W0, B0, ADAMW);
    TrainingRuntimeException e =
        assertThrows(
            TrainingRuntimeException.class,
            () ->
                TrainingApiRuntime.open(
                    artifacts, OPTIONS.withProvider(ExecutionProvider.cuda(0))));
    assertTrue(
        e.getMessage()
            .startsWith("CUDA execution provider not available in this native build/machine: "),
        e.getMessage());
  }

  private static float[] predict(float[] w, float b, float[] x) {
    int n = x.length / w.length;
    float[] pred = new float[n];
    for (int i = 0; i < n; i++) {
      float p = b;
      for (int j = 0; j < w.length; j++) {
        p += x[i * w.length + j] * w[j];
      }
      pred[i] = p;
    }
    return pred;
  }

  private static void assertClose(float[] expected, float[] actual, float tolerance) {
    assertEquals(expected.length, actual.length, "length");
    for (int i = 0; i < expected.length; i++) {
      float scale = Math.max(1f, Math.abs(expected[i]));
      assertEquals(
          expected[i],
          actual[i],
          tolerance * scale,
          "element "
              + i
              + ": expected "
              + Arrays.toString(expected)
              + " but was "
              + Arrays.toString(actual));
    }
  }
}
