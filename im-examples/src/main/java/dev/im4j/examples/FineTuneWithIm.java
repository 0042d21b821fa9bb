package dev.im4j.examples;

import dev.im4j.core.data.DatasetFormat;
import dev.im4j.core.data.DatasetReader;
import dev.im4j.core.data.OnError;
import dev.im4j.core.mask.ExampleEncoder;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.mask.TokenizedExample;
import dev.im4j.core.template.ChatTemplates;
import dev.im4j.core.tokenizer.HfTokenizer;
import dev.im4j.onnx.model.ModelDirectory;
import dev.im4j.onnx.train.HfCausalLm;
import dev.im4j.onnx.train.Trainer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Fine-tunes a Hugging Face model directory with Instruction Modelling on ONNX Runtime, with the
 * paper's defaults (SEQUENCE_MEAN, AdamW 2e-5, linear decay with 3% warm-up, 2 epochs).
 *
 * <p>Run: {@code java -cp im-examples/target/im4j.jar dev.im4j.examples.FineTuneWithIm MODEL_DIR
 * DATA.jsonl OUT_DIR}; the model folder must hold the tokenizer files too.
 */
public final class FineTuneWithIm {
  private FineTuneWithIm() {}

  public static void main(String[] args) {
    Path modelDir = Path.of(args[0]);
    ModelDirectory model = ModelDirectory.load(modelDir);
    List<TokenizedExample> train = new ArrayList<>();
    try (HfTokenizer tokenizer = HfTokenizer.load(modelDir);
        DatasetReader reader =
            DatasetReader.open(Path.of(args[1]), DatasetFormat.AUTO, OnError.FAIL_FAST)) {
      ExampleEncoder encoder =
          ExampleEncoder.of(
              ChatTemplates.resolve(null, modelDir, tokenizer.specialTokens()),
              tokenizer,
              LossPolicy.instructionModelling());
      reader.forEachRemaining(r -> train.add(encoder.encode(r.conversation()).example()));
    }
    Trainer.Result result =
        Trainer.builder(HfCausalLm.of(model.config(), model.weights()), train, Path.of(args[2]))
            .batch(1, Math.min(128, train.size())) // the paper: batch 1, accumulation to 128
            .build()
            .run();
    System.out.printf(
        "%d steps, last loss %.4f, checkpoint %s%n",
        result.steps(), result.lastLoss(), result.finalCheckpoint());
  }
}
