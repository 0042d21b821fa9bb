package dev.im4j.onnx.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.core.collate.Batch;
import dev.im4j.core.collate.Collator;
import dev.im4j.core.collate.CollatorConfig;
import dev.im4j.core.loss.Reduction;
import dev.im4j.core.loss.StepCoefficients;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.mask.TokenizedExample;
import dev.im4j.onnx.model.Tensor;
import dev.im4j.onnx.runtime.RuntimeOptions;
import dev.im4j.onnx.runtime.TrainingApiRuntime;
import dev.im4j.onnx.train.checkpoint.TrainingCheckpoint;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TrainingArtifactsBuilderTest {
  static final int V = 11;
  static final int H = 4;
  static final RuntimeOptions OPTIONS = RuntimeOptions.defaults().withThreads(1, 1);

  @TempDir Path dir;

  /** One optimizer step of two micro-batches equals forward + ReferenceLoss + AdamW in Java. */
  @ParameterizedTest
  @CsvSource({
    "it,false,SEQUENCE_MEAN,0,TORCH",
    "im,false,SEQUENCE_MEAN,0,TORCH",
    "im,true,TOKEN_MEAN,0,TORCH",
    "im,false,SEQUENCE_MEAN,0.05,TORCH",
    "it,false,SEQUENCE_MEAN,0,HUGGING_FACE_LEGACY",
    "im,true,TOKEN_MEAN,0,HUGGING_FACE_LEGACY",
    "im,false,SEQUENCE_MEAN,0.05,HUGGING_FACE_LEGACY"
  })
  void oneStepMatchesPlainJava(
      String policyName,
      boolean tied,
      Reduction reduction,
      float maxGradNorm,
      AdamWConfig.Variant variant) {
    LossPolicy policy = LossPolicy.fromName(policyName);
    TinyCausalLm model = TinyCausalLm.of(V, H, tied, 7);
    AdamWConfig adamW =
        AdamWConfig.defaults().withLearningRate(0.05f).withWeightDecay(0.01f).withVariant(variant);
    var artifacts =
        TrainingArtifactsBuilder.of(model.trainingGraph(Set.of()), model.initialWeights())
            .adamW(adamW)
            .clipGradNorm(maxGradNorm)
            .write(dir.resolve("artifacts"));
    List<TokenizedExample> examples = Examples.random(policy, 5, V, 3);
    List<Batch> batches =
        Collator.of(CollatorConfig.of(16)).collate(examples, 3).batches(); // micro-batches
    StepCoefficients c = StepCoefficients.of(reduction, batches);
    TinyLmReference ref = new TinyLmReference(model);
    try (TrainingApiRuntime rt = TrainingApiRuntime.open(artifacts, OPTIONS)) {
      assertEquals(
          List.of(
              "input_ids",
              "position_ids",
              "segment_ids",
              "embedding_noise",
              "targets",
              "coefficients"),
          rt.trainInputNames());
      rt.setLearningRate(adamW.learningRate());
      TinyLmReference unclipped = new TinyLmReference(model);
      for (int step = 0; step < 2; step++) { // Adam ignores a uniform scale on step 1 only
        rt.lazyResetGrad();
        for (int b = 0; b < batches.size(); b++) {
          Batch batch = batches.get(b);
          float[] noise = new float[batch.cells() * H];
          float loss = rt.trainStep(new FeedBuffers(H, true).write(batch, c, b, 0, null));
          double expected = ref.accumulate(batch, c.forBatch(b), noise);
          unclipped.accumulate(batch, c.forBatch(b), noise);
          assertEquals(expected, loss, 1e-4 * Math.max(1, Math.abs(expected)));
        }
        rt.optimizerStep();
        ref.optimizerStep(adamW, adamW.learningRate(), maxGradNorm);
        unclipped.optimizerStep(adamW, adamW.learningRate(), 0);
      }
      if (maxGradNorm > 0) {
        float[] a = ref.params.get(TinyCausalLm.MLP);
        float[] u = unclipped.params.get(TinyCausalLm.MLP);
        double diff = 0;
        for (int i = 0; i < a.length; i++) {
          diff = Math.max(diff, Math.abs(a[i] - u[i]));
        }
        assertTrue(diff > 1e-3, "clipping should change the second step, max diff " + diff);
      }
      Path saved = dir.resolve("after");
      rt.saveCheckpoint(saved, true);
      TrainingCheckpoint ck = TrainingCheckpoint.read(saved);
      for (Tensor t : ck.trainable()) {
        float[] expected = ref.params.get(t.name());
        float[] actual = t.toArray();
        for (int i = 0; i < expected.length; i++) {
          assertEquals(
              expected[i],
              actual[i],
              1e-4 * Math.max(1, Math.abs(expected[i])),
              t.name() + "[" + i + "]");
        }
      }
      assertEquals(tied ? 2 : 3, ck.trainable().size());
    }
  }

  @ParameterizedTest
  @CsvSource({"false", "true"})
  void frozenParameterIsNeverUpdated(boolean tied) {
    TinyCausalLm model = TinyCausalLm.of(V, H, tied, 9);
    var artifacts =
        TrainingArtifactsBuilder.of(
                model.trainingGraph(Set.of(TinyCausalLm.MLP)), model.initialWeights())
            .frozen(Set.of(TinyCausalLm.MLP))
            .adamW(AdamWConfig.defaults().withLearningRate(0.1f))
            .write(dir.resolve("frozen"));
    List<Batch> batches =
        Collator.of(CollatorConfig.of(16))
            .collate(Examples.random(LossPolicy.instructionModelling(), 3, V, 1), 3)
            .batches();
    StepCoefficients c = StepCoefficients.of(Reduction.SEQUENCE_MEAN, batches);
    try (TrainingApiRuntime rt = TrainingApiRuntime.open(artifacts, OPTIONS)) {
      rt.lazyResetGrad();
      Batch batch = batches.get(0);
      rt.trainStep(new FeedBuffers(H, true).write(batch, c, 0, 0, null));
      rt.optimizerStep();
      Path saved = dir.resolve("after");
      rt.saveCheckpoint(saved, true);
      TrainingCheckpoint ck = TrainingCheckpoint.read(saved);
      Tensor w = ck.frozen().get(0);
      assertEquals(TinyCausalLm.MLP, w.name());
      assertEquals(model.initialWeights().get(1), w);
      assertTrue(
          !ck.parameter(TinyCausalLm.EMBED).orElseThrow().equals(model.initialWeights().get(0)));
    }
  }

  /** Initializers stored as external data (as a > 2 GB graph must be) load and train the same. */
  @org.junit.jupiter.api.Test
  void externalDataArtifactsTrainTheSame() throws java.io.IOException {
    TinyCausalLm tiny = TinyCausalLm.of(V, H, true, 4);
    CausalLmSource model =
        new CausalLmSource() { // the tiny LM with a constant logit scale stored as an initializer
          @Override
          public TrainingGraph trainingGraph(Set<String> frozen) {
            return LmGraphs.build(this::forward, H, frozen).training();
          }

          LmGraphs.Forward forward(dev.im4j.onnx.graph.Graph g, LmGraphs.Inputs inputs) {
            LmGraphs.Forward f = tiny.forward(g, inputs);
            float[] ones = new float[V];
            java.util.Arrays.fill(ones, 1f);
            var scale =
                g.initializer(
                    "logit_scale", dev.im4j.onnx.graph.Tensor.ofFloats(new long[] {V}, ones));
            return new LmGraphs.Forward(g.mul(f.logits(), scale), f.parameters());
          }

          @Override
          public List<Tensor> initialWeights() {
            return tiny.initialWeights();
          }

          @Override
          public int hiddenSize() {
            return H;
          }

          @Override
          public int vocabSize() {
            return V;
          }
        };
    List<Batch> batches =
        Collator.of(CollatorConfig.of(16))
            .collate(Examples.random(LossPolicy.outputOnly(), 3, V, 2), 3)
            .batches();
    StepCoefficients c = StepCoefficients.of(Reduction.TOKEN_MEAN, batches);
    Batch batch = batches.get(0);
    float[] losses = new float[2];
    for (int k = 0; k < 2; k++) {
      TrainingArtifactsBuilder builder =
          TrainingArtifactsBuilder.of(model.trainingGraph(Set.of()), model.initialWeights());
      if (k == 1) {
        builder.externalThreshold(1);
      }
      Path out = dir.resolve("ext" + k);
      var artifacts = builder.write(out);
      assertEquals(k == 1, java.nio.file.Files.exists(out.resolve("training_model.onnx.data")));
      assertEquals(
          k == 1,
          new String(
                  java.nio.file.Files.readAllBytes(out.resolve("eval_model.onnx")),
                  java.nio.charset.StandardCharsets.ISO_8859_1)
              .contains("training_model.onnx.data"));
      try (TrainingApiRuntime rt = TrainingApiRuntime.open(artifacts, OPTIONS)) {
        rt.lazyResetGrad();
        losses[k] = rt.trainStep(new FeedBuffers(H, true).write(batch, c, 0, 0, null));
        rt.optimizerStep();
        var eval = rt.evalStep(new FeedBuffers(H, true).write(batch, c, 0, 0, null));
        assertTrue(eval.values().iterator().next()[0] < losses[k]);
      }
    }
    assertEquals(losses[0], losses[1]);
  }

  /**
   * A checkpoint in ONNX Runtime's external-data form: ORT loads what im4j writes and trains from
   * it exactly as from the inline form, saves it again in that form, and im4j reads what ORT saved.
   */
  @org.junit.jupiter.api.Test
  void externalDataCheckpointLoadsInOrtAndOrtsSaveReadsBack() {
    TinyCausalLm model = TinyCausalLm.of(V, H, false, 6);
    List<Batch> batches =
        Collator.of(CollatorConfig.of(16))
            .collate(Examples.random(LossPolicy.instructionModelling(), 3, V, 5), 3)
            .batches();
    StepCoefficients c = StepCoefficients.of(Reduction.SEQUENCE_MEAN, batches);
    TrainingCheckpoint[] after = new TrainingCheckpoint[2];
    for (int k = 0; k < 2; k++) {
      TrainingArtifactsBuilder builder =
          TrainingArtifactsBuilder.of(model.trainingGraph(Set.of()), model.initialWeights());
      if (k == 1) {
        builder.checkpointExternalThreshold(0);
      }
      Path out = dir.resolve("ckpt" + k);
      var artifacts = builder.write(out);
      assertEquals(k == 1, java.nio.file.Files.exists(out.resolve("checkpoint.data")));
      try (TrainingApiRuntime rt = TrainingApiRuntime.open(artifacts, OPTIONS)) {
        rt.lazyResetGrad();
        rt.trainStep(new FeedBuffers(H, true).write(batches.get(0), c, 0, 0, null));
        rt.optimizerStep();
        Path saved = out.resolve("after");
        rt.saveCheckpoint(saved, true);
        // ORT keeps the form it loaded: the saved tensors are in after.data
        assertEquals(k == 1, java.nio.file.Files.exists(out.resolve("after.data")));
        after[k] = TrainingCheckpoint.read(saved);
      }
    }
    assertEquals(after[0].trainable(), after[1].trainable());
    assertEquals(after[0].optimizerGroups(), after[1].optimizerGroups());
  }
}
