package example;

import dev.im4j.core.data.DatasetFormat;
import dev.im4j.core.data.DatasetReader;
import dev.im4j.core.data.OnError;
import dev.im4j.core.mask.ExampleEncoder;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.template.ChatTemplates;
import dev.im4j.core.tokenizer.HfTokenizer;
import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.model.CausalLmConfig;
import dev.im4j.onnx.model.CausalLmParameters;
import dev.im4j.onnx.model.ModelDirectory;
import dev.im4j.onnx.train.FineTune;
import dev.im4j.onnx.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A consumer of the published artifacts: writes a seeded tiny LLaMA with the given tokenizer,
 * prepares a four-row dataset, and fine-tunes it for one IM step. Exits non-zero (failing the
 * build) if anything is missing or the step did not train the tokens IM selects.
 *
 * <p>Arguments: a tokenizer folder (tokenizer.json, tokenizer_config.json), a new work folder, and
 * optionally {@code portable}: train on the portable runtime, with Microsoft's ONNX Runtime alone
 * on the class path (checked).
 */
public final class TrainOneStep {
  private TrainOneStep() {}

  public static void main(String[] args) throws IOException {
    Path tokenizerDir = Path.of(args[0]);
    Path work = Path.of(args[1]);
    boolean portable = args.length > 2 && args[2].equals("portable");
    if (portable) {
      check(
          TrainOneStep.class.getClassLoader().getResource("org/bytedeco/onnxruntime") == null,
          "bytedeco's natives are on the class path of a Microsoft-only consumer");
    }

    // A seeded tiny model, saved as a Hugging Face directory with the tokenizer beside it.
    CausalLmConfig config =
        CausalLmConfig.parse(
            "{\"model_type\": \"llama\", \"vocab_size\": 32000, \"hidden_size\": 16,"
                + " \"intermediate_size\": 32, \"num_hidden_layers\": 1,"
                + " \"num_attention_heads\": 2, \"num_key_value_heads\": 1,"
                + " \"max_position_embeddings\": 256, \"tie_word_embeddings\": true}",
            "consumer");
    Path model = work.resolve("tiny-model");
    ModelDirectory.of(
            config,
            CausalLmParameters.initialize(config, 7, DType.FLOAT),
            Map.of(
                "tokenizer.json", Files.readAllBytes(tokenizerDir.resolve("tokenizer.json")),
                "tokenizer_config.json",
                    Files.readAllBytes(tokenizerDir.resolve("tokenizer_config.json"))))
        .save(model);

    // The dataset, and what IM trains in it, counted on the data side alone.
    Path data = work.resolve("train.jsonl");
    List<String> rows = new ArrayList<>();
    for (String word : new String[] {"dog", "cat", "tree", "river"}) {
      rows.add(
          "{\"instruction\": \"Define the noun \\\""
              + word
              + "\\\" in one short sentence.\", \"output\": \"A "
              + word
              + ".\"}");
    }
    Files.write(data, rows);
    LossPolicy im = LossPolicy.instructionModelling();
    long imTargets = 0;
    try (HfTokenizer tokenizer = HfTokenizer.load(model);
        DatasetReader reader = DatasetReader.open(data, DatasetFormat.AUTO, OnError.FAIL_FAST)) {
      ExampleEncoder encoder =
          ExampleEncoder.of(
              ChatTemplates.resolve(null, model, tokenizer.specialTokens()), tokenizer);
      while (reader.hasNext()) {
        imTargets += im.weigh(encoder.encode(reader.next()).example()).targetCount();
      }
    }

    // One IM step (four rows fit one step of the default batch).
    Path out = work.resolve("run");
    Trainer.Runtime runtime = portable ? Trainer.Runtime.PORTABLE : Trainer.Runtime.TRAINING_API;
    FineTune.Result result =
        FineTune.of(model, data, im, out).trainer(b -> b.epochs(1).runtime(runtime)).run();

    long steps = result.training().steps();
    double loss = result.training().lastLoss();
    String firstStep = Files.readAllLines(out.resolve("metrics.jsonl")).get(0);
    Matcher targets = Pattern.compile("\"targets\"\\s*:\\s*(\\d+)").matcher(firstStep);
    check(steps == 1, "steps: " + steps);
    check(Double.isFinite(loss) && loss > 0, "loss: " + loss);
    check(
        targets.find() && Long.parseLong(targets.group(1)) == imTargets,
        "the step's targets (" + firstStep + ") are not IM's " + imTargets);
    check(
        ModelDirectory.load(result.model()).config().hiddenSize() == 16,
        "the trained model does not load");
    System.out.printf(
        "consumer: 1 IM step on the %s runtime over %d targets, loss %.4f, model in %s%n",
        runtime, imTargets, loss, result.model());
  }

  private static void check(boolean ok, String message) {
    if (!ok) {
      System.err.println("consumer check failed: " + message);
      System.exit(1);
    }
  }
}
