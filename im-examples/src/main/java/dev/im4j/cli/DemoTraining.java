package dev.im4j.cli;

import dev.im4j.core.collate.CollatorConfig;
import dev.im4j.core.loss.Reduction;
import dev.im4j.core.mask.ClassifiedExample;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.model.CausalLmConfig;
import dev.im4j.onnx.model.CausalLmParameters;
import dev.im4j.onnx.model.ModelDirectory;
import dev.im4j.onnx.model.Weights;
import dev.im4j.onnx.runtime.InferenceModel;
import dev.im4j.onnx.runtime.RuntimeOptions;
import dev.im4j.onnx.train.AdamWConfig;
import dev.im4j.onnx.train.HfCausalLm;
import dev.im4j.onnx.train.LearningRateSchedule;
import dev.im4j.onnx.train.Trainer;
import dev.im4j.onnx.train.TrainingListener;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;

/**
 * The demo's training half: a tiny LLaMA-style model, initialised from one seed, trained with IT
 * and with IM under identical settings; held-out output-only loss is tracked during training and
 * train/held-out output-only loss measured at the end.
 */
final class DemoTraining {
  /** The demo model: LLaMA-style, 2 layers of width 64, the tokenizer's 32,000-token vocabulary. */
  static final String MODEL_CONFIG =
      "{\"model_type\": \"llama\", \"vocab_size\": 32000, \"hidden_size\": 64,"
          + " \"intermediate_size\": 128, \"num_hidden_layers\": 2, \"num_attention_heads\": 4,"
          + " \"num_key_value_heads\": 2, \"max_position_embeddings\": 512,"
          + " \"rms_norm_eps\": 1e-5, \"rope_theta\": 10000.0, \"tie_word_embeddings\": true,"
          + " \"hidden_act\": \"silu\", \"bos_token_id\": 1, \"eos_token_id\": 2}";

  /** Learning rate: far above the paper's 2e-5, since this model starts from random weights. */
  static final float LEARNING_RATE = 1e-3f;

  static final int ROWS_PER_STEP = 8;
  static final int MAX_LENGTH = 256;
  static final long SEED = 42;

  /** What one policy's run measured. */
  record Run(
      String policy,
      HeldOutLoss train,
      HeldOutLoss heldOut,
      List<Long> evalSteps,
      List<Double> evalOutputLoss) {}

  private DemoTraining() {}

  static CausalLmConfig config() {
    return CausalLmConfig.parse(MODEL_CONFIG, "the demo's model config");
  }

  /**
   * Trains one policy and measures it.
   *
   * @param train training examples (classified; the trainer weighs them by {@code policy})
   * @param trainProbe training examples to measure the final train loss on
   * @param heldOut held-out examples
   */
  static Run run(
      LossPolicy policy,
      String name,
      List<ClassifiedExample> train,
      List<ClassifiedExample> trainProbe,
      List<ClassifiedExample> heldOut,
      int epochs,
      long steps,
      int evalEvery,
      int threads,
      Path out,
      TrainingListener progress)
      throws Exception {
    CausalLmConfig config = config();
    Weights initial = CausalLmParameters.initialize(config, SEED, DType.FLOAT);
    List<Long> evalSteps = new ArrayList<>();
    List<Double> evalLoss = new ArrayList<>();
    Trainer.Builder builder =
        Trainer.builder(HfCausalLm.of(config, initial), train, out)
            .lossPolicy(policy)
            .reduction(Reduction.SEQUENCE_MEAN)
            .batch(ROWS_PER_STEP, 1)
            .collator(CollatorConfig.builder(MAX_LENGTH).seed(SEED).build())
            .adamW(AdamWConfig.defaults().withLearningRate(LEARNING_RATE))
            .schedule(LearningRateSchedule.defaults())
            .seed(SEED)
            .evaluation(heldOut, evalEvery)
            .checkpoints(0, 1)
            .overwrite(true) // the demo rebuilds its folder on every run
            .runtimeOptions(
                RuntimeOptions.defaults().withThreads(threads, 1).withDeterminism(true, SEED))
            .listener(progress)
            .listener(
                new TrainingListener() {
                  @Override
                  public void onEval(EvalMetrics m) {
                    evalSteps.add(m.step());
                    evalLoss.add(m.outputOnlyLoss());
                  }
                });
    if (steps > 0) {
      builder.maxSteps(steps);
    } else {
      builder.epochs(epochs);
    }
    Trainer.Result result = builder.build().run();
    ModelDirectory trained = result.trainedModel(ModelDirectory.of(config, initial, Map.of()));
    try (InferenceModel lm = InferenceModel.open(trained)) {
      return new Run(
          name, HeldOutLoss.of(lm, trainProbe), HeldOutLoss.of(lm, heldOut), evalSteps, evalLoss);
    }
  }

  /** Held-out output-only loss against step, one line per task and policy. */
  static void plot(Map<String, List<Run>> runsByTask, Path png) throws IOException {
    XYChart chart =
        new XYChartBuilder()
            .width(900)
            .height(540)
            .title("Held-out output-only loss, IT vs IM (im4j demo)")
            .xAxisTitle("optimizer step")
            .yAxisTitle("loss (nats per output token)")
            .build();
    for (Map.Entry<String, List<Run>> task : runsByTask.entrySet()) {
      for (Run run : task.getValue()) {
        if (run.evalSteps().isEmpty()) {
          continue;
        }
        chart.addSeries(task.getKey() + " " + run.policy(), run.evalSteps(), run.evalOutputLoss());
      }
    }
    BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
  }
}
