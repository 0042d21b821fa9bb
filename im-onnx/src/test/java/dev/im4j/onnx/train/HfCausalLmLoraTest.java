package dev.im4j.onnx.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.core.collate.CollatorConfig;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.model.CausalLmConfig;
import dev.im4j.onnx.model.CausalLmParameters;
import dev.im4j.onnx.model.LoraAdapter;
import dev.im4j.onnx.model.LoraConfig;
import dev.im4j.onnx.model.ModelDirectory;
import dev.im4j.onnx.model.Tensor;
import dev.im4j.onnx.model.Weights;
import dev.im4j.onnx.runtime.RuntimeOptions;
import dev.im4j.onnx.train.checkpoint.OptimizerGroup;
import dev.im4j.onnx.train.checkpoint.ParameterOptimizerState;
import dev.im4j.onnx.train.checkpoint.TrainingCheckpoint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * LoRA through the {@link Trainer}: the adapters are the only trainable tensors and the only ones
 * with optimizer state, the base weights come out bit-identical, and the loss falls.
 */
class HfCausalLmLoraTest {
  @TempDir Path dir;

  private static final LoraConfig LORA = LoraConfig.of(2).withAlpha(4);

  @ParameterizedTest
  @ValueSource(strings = {"llama", "gpt2"})
  void theAdaptersTrainAndTheBaseStaysBitIdentical(String type) {
    CausalLmConfig config = config(type);
    Weights base = CausalLmParameters.initialize(config, 3, DType.FLOAT);
    Weights fresh = LORA.initialize(config, 9);
    HfCausalLm model = HfCausalLm.of(config, base).withLora(LORA, fresh);
    assertEquals(Set.copyOf(base.names()), model.frozenParameters());

    List<Double> losses = new ArrayList<>();
    Trainer.Result r =
        Trainer.builder(
                model,
                Examples.classified(Examples.random(LossPolicy.instructionModelling(), 4, 13, 4)),
                dir)
            .collator(CollatorConfig.builder(24).packing(true).build())
            .batch(4, 1)
            .maxSteps(30)
            .checkpoints(10, 5)
            .adamW(AdamWConfig.defaults().withLearningRate(0.05f))
            .schedule(new LearningRateSchedule(LearningRateSchedule.Kind.CONSTANT, 0))
            .runtimeOptions(RuntimeOptions.defaults().withThreads(1, 1))
            .listener(
                new TrainingListener() {
                  @Override
                  public void onStep(StepMetrics m) {
                    losses.add(m.loss());
                  }
                })
            .build()
            .run();
    assertEquals(30, r.steps());
    double first = (losses.get(0) + losses.get(1) + losses.get(2)) / 3;
    double last = (losses.get(27) + losses.get(28) + losses.get(29)) / 3;
    assertTrue(last < 0.8 * first, type + " loss should fall: " + losses);

    TrainingCheckpoint end = r.weights();
    assertEquals(new TreeSet<>(fresh.names()), names(end.trainable()), "trainable: the adapters");
    for (Tensor t : base.tensors()) {
      assertArrayEquals(
          t.toArray(), end.parameter(t.name()).orElseThrow().toArray(), 0f, t.name() + " changed");
    }
    for (Tensor t : fresh.tensors()) {
      if (t.name().endsWith(LoraConfig.B_SUFFIX)) {
        float[] trained = end.parameter(t.name()).orElseThrow().toArray();
        assertFalse(
            java.util.Arrays.equals(new float[trained.length], trained), t.name() + " still 0");
      }
    }

    // the PEFT directory and the merged model; the base alone is not a trained model
    IllegalStateException notTheModel =
        assertThrows(
            IllegalStateException.class,
            () -> r.trainedModel(ModelDirectory.of(config, base, Map.of())));
    assertTrue(notTheModel.getMessage().contains("trainedAdapter"), notTheModel.getMessage());
    LoraAdapter trained = r.trainedAdapter(LORA, config);
    trained.save(dir.resolve("adapter"), "tiny");
    LoraAdapter loaded = LoraAdapter.load(dir.resolve("adapter"), config);
    for (String name : fresh.names()) {
      assertArrayEquals(
          end.parameter(name).orElseThrow().toArray(), loaded.weights().get(name).toArray(), 0f);
    }
    loaded.merge(ModelDirectory.of(config, base, Map.of())).save(dir.resolve("merged"));
    Weights merged = ModelDirectory.load(dir.resolve("merged")).weights();
    String adapted = LORA.adapters(config).get(0).module() + ".weight";
    assertFalse(
        java.util.Arrays.equals(base.get(adapted).toArray(), merged.get(adapted).toArray()),
        adapted + " is merged");
    String embedding = base.names().get(0);
    assertArrayEquals(base.get(embedding).toArray(), merged.get(embedding).toArray(), 0f);

    TrainingCheckpoint middle =
        TrainingCheckpoint.read(dir.resolve("checkpoints/step-00000010/ort_checkpoint"));
    OptimizerGroup group = middle.optimizerGroup(OptimizerGroup.DEFAULT_NAME).orElseThrow();
    Set<String> withMoments = new TreeSet<>();
    for (ParameterOptimizerState p : group.parameters()) {
      withMoments.add(p.parameterName());
    }
    assertEquals(new TreeSet<>(fresh.names()), withMoments, "optimizer state: the adapters only");
  }

  /**
   * Stopped after step 2 and resumed, a LoRA run ends with the adapters and optimizer state of the
   * uninterrupted run, bit for bit; a resume with another LoRA rank is refused.
   */
  @ParameterizedTest
  @ValueSource(doubles = {0, 0.3})
  void resumeIsExactAndRefusesOtherAdapters(double dropout) {
    LoraConfig lora = LORA.withDropout(dropout);
    CausalLmConfig config = config("llama");
    HfCausalLm model = HfCausalLm.of(config, CausalLmParameters.initialize(config, 3, DType.FLOAT));
    var data = Examples.classified(Examples.random(LossPolicy.instructionModelling(), 8, 13, 4));
    Trainer.Result whole = loraRun(model, data, dir.resolve("whole"), lora).build().run();
    if (dropout > 0) {
      // the masks act in training: the same run without dropout ends elsewhere
      Trainer.Result plain = loraRun(model, data, dir.resolve("plain"), LORA).build().run();
      assertNotEquals(plain.weights().trainable(), whole.weights().trainable());
    }
    Path out = dir.resolve("resumed");
    RuntimeException stop = new RuntimeException("stop");
    RuntimeException thrown =
        assertThrows(
            RuntimeException.class,
            () ->
                loraRun(model, data, out, lora)
                    .checkpoints(2, 1)
                    .listener(TrainerTest.stopAt(3, stop))
                    .build()
                    .run());
    assertEquals(stop, thrown);
    IllegalArgumentException otherRank =
        assertThrows(
            IllegalArgumentException.class,
            () -> loraRun(model, data, out, LoraConfig.of(4)).resume(true).build().run());
    assertTrue(otherRank.getMessage().contains("lora"), otherRank.getMessage());
    Trainer.Result resumed = loraRun(model, data, out, lora).resume(true).build().run();
    assertEquals(whole.weights().trainable(), resumed.weights().trainable());
    assertEquals(whole.weights().frozen(), resumed.weights().frozen());
  }

  /**
   * A LoRA run whose frozen base is held in BF16 or F16 trains as the float32 run on the same base
   * when the base's values are exact in that type (here: drawn rounded to it), on either runtime;
   * its checkpoints hold the adapters only (the runtime feeds the base from the model), and a
   * stopped run resumes on the other runtime where it stopped.
   */
  @ParameterizedTest
  @CsvSource({
    "llama, BFLOAT16, TRAINING_API",
    "llama, BFLOAT16, PORTABLE",
    "llama, FLOAT16, TRAINING_API",
    "llama, FLOAT16, PORTABLE",
    "gpt2, BFLOAT16, TRAINING_API",
    "gpt2, FLOAT16, PORTABLE"
  })
  void aHalfPrecisionBaseTrainsAsTheFloatBase(
      String type, DType baseDType, Trainer.Runtime runtime) {
    CausalLmConfig config = config(type);
    Weights base = CausalLmParameters.initialize(config, 3, baseDType); // exact in baseDType
    HfCausalLm model = HfCausalLm.of(config, base);
    var data = Examples.classified(Examples.random(LossPolicy.instructionModelling(), 8, 13, 4));
    LoraConfig half = LORA.withBaseDType(baseDType);
    var heldOut = Examples.classified(Examples.random(LossPolicy.instructionModelling(), 3, 13, 5));
    List<Double> expectedEval = new ArrayList<>();
    List<Double> actualEval = new ArrayList<>();
    Trainer.Result expected =
        loraRun(model, data, dir.resolve("float"), LORA)
            .runtime(runtime)
            .evaluation(heldOut, 2)
            .listener(evalLosses(expectedEval))
            .build()
            .run();
    Trainer.Result actual =
        loraRun(model, data, dir.resolve("half"), half)
            .runtime(runtime)
            .evaluation(heldOut, 2)
            .listener(evalLosses(actualEval))
            .build()
            .run();
    assertEquals(expectedEval.size(), actualEval.size());
    assertFalse(actualEval.isEmpty(), "held-out evaluations");
    for (int i = 0; i < expectedEval.size(); i++) {
      assertEquals(expectedEval.get(i), actualEval.get(i), 1e-5, "held-out loss " + i);
    }
    for (Tensor t : expected.weights().trainable()) {
      float[] e = t.toArray();
      float[] a = actual.weights().parameter(t.name()).orElseThrow().toArray();
      float scale = 0;
      for (float v : e) {
        scale = Math.max(scale, Math.abs(v));
      }
      assertArrayEquals(e, a, 1e-5f * scale, t.name());
    }
    // the same base read from a safetensors file of its dtype: fed as the file's mapped pages
    Path saved = dir.resolve("base-" + baseDType);
    ModelDirectory.of(config, base, Map.of()).save(saved);
    HfCausalLm fromFile = HfCausalLm.of(config, ModelDirectory.load(saved).weights());
    assertTrue(
        fromFile.initialWeights().get(0).withDtype(baseDType).mapStored().isPresent(),
        "the file's weights can be mapped");
    Trainer.Result mapped =
        loraRun(fromFile, data, dir.resolve("mapped"), half).runtime(runtime).build().run();
    assertEquals(actual.weights().trainable(), mapped.weights().trainable(), "mapped base");
    // the base is fed from the model, not kept in checkpoints
    assertTrue(actual.weights().frozen().isEmpty(), "frozen in the checkpoint");
    assertEquals(
        new TreeSet<>(LORA.initialize(config, 1).names()), names(actual.weights().trainable()));

    Path out = dir.resolve("resumed");
    RuntimeException stop = new RuntimeException("stop");
    assertThrows(
        RuntimeException.class,
        () ->
            loraRun(model, data, out, half)
                .runtime(runtime)
                .checkpoints(2, 1)
                .listener(TrainerTest.stopAt(3, stop))
                .build()
                .run());
    IllegalArgumentException otherBase =
        assertThrows(
            IllegalArgumentException.class,
            () -> loraRun(model, data, out, LORA).runtime(runtime).resume(true).build().run());
    assertTrue(otherBase.getMessage().contains("lora"), otherBase.getMessage());
    // resumed on the other runtime: the checkpoints are one format
    Trainer.Runtime other =
        runtime == Trainer.Runtime.PORTABLE
            ? Trainer.Runtime.TRAINING_API
            : Trainer.Runtime.PORTABLE;
    Trainer.Result resumed =
        loraRun(model, data, out, half).runtime(other).resume(true).build().run();
    for (Tensor t : actual.weights().trainable()) {
      assertArrayEquals(
          t.toArray(),
          resumed.weights().parameter(t.name()).orElseThrow().toArray(),
          1e-6f,
          t.name() + " after the resume on " + other);
    }
  }

  private static TrainingListener evalLosses(List<Double> losses) {
    return new TrainingListener() {
      @Override
      public void onEval(EvalMetrics m) {
        losses.add(m.instructionLoss());
      }
    };
  }

  private static Trainer.Builder loraRun(
      HfCausalLm model,
      List<dev.im4j.core.mask.ClassifiedExample> data,
      Path out,
      LoraConfig lora) {
    return Trainer.builder(model, data, out)
        .lora(lora)
        .collator(CollatorConfig.builder(24).packing(true).build())
        .batch(2, 1)
        .maxSteps(4)
        .adamW(AdamWConfig.defaults().withLearningRate(0.05f))
        .runtimeOptions(RuntimeOptions.defaults().withThreads(1, 1));
  }

  @Test
  void adaptersThatDoNotFitTheModelAreRefused() {
    CausalLmConfig config = HfCausalLmTest.config("llama");
    HfCausalLm model = HfCausalLm.of(config, CausalLmParameters.initialize(config, 3, DType.FLOAT));
    Weights rank4 = LoraConfig.of(4).initialize(config, 1);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> model.withLora(LORA, rank4));
    assertTrue(
        e.getMessage().startsWith("initial adapters: adapters do not match"), e.getMessage());
    assertTrue(
        e.getMessage()
            .contains(
                "model.layers.0.self_attn.q_proj.lora_A.weight is [4, 8]," + " expected [2, 8]"),
        e.getMessage());
  }

  /**
   * The tiny models of {@link HfCausalLmTest} with weights of standard deviation 0.3: with the
   * default 0.02 the frozen random head maps every normalised hidden state to nearly uniform
   * logits, which no adapter can move far.
   */
  private static CausalLmConfig config(String type) {
    CausalLmConfig tiny = HfCausalLmTest.config(type);
    String json =
        tiny.toJson()
            .replaceFirst(
                "\"initializer_range\"\\s*:\\s*[0-9.eE+-]+", "\"initializer_range\": 0.3");
    assertTrue(json.contains("\"initializer_range\": 0.3"), json);
    return CausalLmConfig.parse(json, "tiny-" + type);
  }

  private static Set<String> names(List<Tensor> tensors) {
    Set<String> out = new TreeSet<>();
    tensors.forEach(t -> out.add(t.name()));
    return out;
  }
}
