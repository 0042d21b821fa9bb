package dev.im4j.cli;

import dev.im4j.core.collate.CollatorConfig;
import dev.im4j.core.loss.Reduction;
import dev.im4j.core.mask.ClassifiedExample;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.onnx.generate.Generator;
import dev.im4j.onnx.generate.SamplingConfig;
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
import java.util.Set;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;

/**
 * The demo's training half: one base model fine-tuned with IT and with IM under identical settings
 * (seed, data order, learning rate); held-out output-only loss is tracked during training, train
 * and held-out output-only loss are measured at the end, and a few held-out prompts are answered
 * greedily by each trained model.
 */
final class DemoTraining {
  /**
   * The from-scratch model ({@code im4j demo --from-scratch}): LLaMA-style, 2 layers of width 64,
   * the tokenizer's 32,000-token vocabulary, 2.1 M parameters.
   */
  static final String SCRATCH_CONFIG =
      "{\"model_type\": \"llama\", \"vocab_size\": 32000, \"hidden_size\": 64,"
          + " \"intermediate_size\": 128, \"num_hidden_layers\": 2, \"num_attention_heads\": 4,"
          + " \"num_key_value_heads\": 2, \"max_position_embeddings\": 512,"
          + " \"rms_norm_eps\": 1e-5, \"rope_theta\": 10000.0, \"tie_word_embeddings\": true,"
          + " \"hidden_act\": \"silu\", \"bos_token_id\": 1, \"eos_token_id\": 2}";

  /** Learning rate from random weights: far above the paper's 2e-5, as a tiny model needs. */
  static final float SCRATCH_LEARNING_RATE = 1e-3f;

  /**
   * Learning rate for fine-tuning the bundled base: a third of its pretraining peak (1.5e-3), so
   * that a few epochs on a few dozen examples fit them closely, the over-fitting regime the paper's
   * claim is about; the paper's 2e-5 is for 7B models.
   */
  static final float BASE_LEARNING_RATE = 5e-4f;

  static final int ROWS_PER_STEP = 8;
  static final int MAX_LENGTH = 256;
  static final long SEED = 42;

  /**
   * Held-out examples evaluated for the curve during training (the first ones); the final table
   * measures every held-out example. Keeps the evaluations a small part of the demo's time.
   */
  static final int CURVE_EXAMPLES = 64;

  /** Most tokens a greedy generation may add. */
  static final int GENERATION_TOKENS = 48;

  /** The model both policies start from, and the learning rate that suits it. */
  record Start(String description, ModelDirectory model, float learningRate) {
    Start withLearningRate(float value) {
      return new Start(description, model, value);
    }

    /** The from-scratch model, initialised from {@link #SEED}. */
    static Start scratch() {
      CausalLmConfig config = CausalLmConfig.parse(SCRATCH_CONFIG, "the demo's model config");
      Weights initial = CausalLmParameters.initialize(config, SEED, DType.FLOAT);
      return new Start(
          "tiny LLaMA from random weights",
          ModelDirectory.of(config, initial, Map.of()),
          SCRATCH_LEARNING_RATE);
    }
  }

  /** What one policy's run measured. */
  record Run(
      String policy,
      int examples,
      HeldOutLoss train,
      HeldOutLoss heldOut,
      List<Long> evalSteps,
      List<Double> evalOutputLoss,
      List<int[]> generations) {}

  private DemoTraining() {}

  /**
   * Trains one policy from {@code start} and measures it.
   *
   * @param train training examples (classified; the trainer weighs them by {@code policy})
   * @param trainProbe training examples to measure the final train loss on
   * @param heldOut held-out examples
   * @param prompts token ids of held-out prompts to answer greedily
   * @param stopTokens ids that end a generation
   */
  static Run run(
      LossPolicy policy,
      Start start,
      List<ClassifiedExample> train,
      List<ClassifiedExample> trainProbe,
      List<ClassifiedExample> heldOut,
      List<int[]> prompts,
      Set<Integer> stopTokens,
      int epochs,
      long steps,
      int evalEvery,
      int threads,
      Path out,
      TrainingListener progress)
      throws Exception {
    ModelDirectory base = start.model();
    List<Long> evalSteps = new ArrayList<>();
    List<Double> evalLoss = new ArrayList<>();
    Trainer.Builder builder =
        Trainer.builder(HfCausalLm.of(base.config(), base.weights()), train, out)
            .lossPolicy(policy)
            .reduction(Reduction.SEQUENCE_MEAN)
            .batch(ROWS_PER_STEP, 1)
            .collator(CollatorConfig.builder(MAX_LENGTH).seed(SEED).build())
            .adamW(AdamWConfig.defaults().withLearningRate(start.learningRate()))
            .schedule(LearningRateSchedule.defaults())
            .seed(SEED)
            .evaluation(heldOut.subList(0, Math.min(CURVE_EXAMPLES, heldOut.size())), evalEvery)
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
    ModelDirectory trained = result.trainedModel(base);
    try (InferenceModel lm = InferenceModel.open(trained)) {
      Generator generator = new Generator(lm, stopTokens);
      SamplingConfig greedy = SamplingConfig.greedy().withMaxNewTokens(GENERATION_TOKENS);
      List<int[]> answers = new ArrayList<>();
      for (int[] prompt : prompts) {
        answers.add(generator.generate(prompt, greedy));
      }
      return new Run(
          policy.kind().shortName(),
          train.size(),
          HeldOutLoss.of(lm, trainProbe),
          HeldOutLoss.of(lm, heldOut),
          evalSteps,
          evalLoss,
          answers);
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
        chart.addSeries(
            task.getKey() + " N=" + run.examples() + " " + run.policy(),
            run.evalSteps(),
            run.evalOutputLoss());
      }
    }
    BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
  }
}
