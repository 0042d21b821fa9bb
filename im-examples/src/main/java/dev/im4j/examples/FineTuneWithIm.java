package dev.im4j.examples;

import dev.im4j.core.mask.LossPolicy;
import dev.im4j.onnx.train.FineTune;
import java.nio.file.Path;

/**
 * Fine-tunes a Hugging Face model directory with Instruction Modelling on ONNX Runtime, with the
 * paper's defaults (SEQUENCE_MEAN, AdamW 2e-5, linear decay with 3% warm-up, 2 epochs), and writes
 * the trained model to {@code OUT_DIR/model}.
 *
 * <p>Run: {@code java -cp im-examples/target/im4j.jar dev.im4j.examples.FineTuneWithIm MODEL_DIR
 * DATA.jsonl OUT_DIR}; the model folder must hold the tokenizer files too.
 */
public final class FineTuneWithIm {
  private FineTuneWithIm() {}

  public static void main(String[] args) {
    FineTune.Result r =
        FineTune.of(
                Path.of(args[0]),
                Path.of(args[1]),
                LossPolicy.instructionModelling(),
                Path.of(args[2]))
            .run();
    System.out.printf(
        "%d steps, last loss %.4f, model in %s%n",
        r.training().steps(), r.training().lastLoss(), r.model());
  }
}
