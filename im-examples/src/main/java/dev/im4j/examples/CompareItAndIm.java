package dev.im4j.examples;

import dev.im4j.core.data.DatasetFormat;
import dev.im4j.core.data.DatasetReader;
import dev.im4j.core.data.OnError;
import dev.im4j.core.mask.ClassifiedExample;
import dev.im4j.core.mask.ExampleEncoder;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.template.ChatTemplates;
import dev.im4j.core.tokenizer.HfTokenizer;
import dev.im4j.onnx.model.ModelDirectory;
import dev.im4j.onnx.train.HfCausalLm;
import dev.im4j.onnx.train.Trainer;
import dev.im4j.onnx.train.TrainingListener;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Fine-tunes the same model twice, with output-only tuning (IT) and with Instruction Modelling
 * (IM), identical otherwise, and prints the held-out output-only loss of both after each epoch.
 *
 * <p>Run: {@code java -cp im-examples/target/im4j.jar dev.im4j.examples.CompareItAndIm MODEL_DIR
 * TRAIN.jsonl HELDOUT.jsonl OUT_DIR}; the model folder must hold the tokenizer files too.
 */
public final class CompareItAndIm {
  private CompareItAndIm() {}

  public static void main(String[] args) {
    Path modelDir = Path.of(args[0]);
    ModelDirectory model = ModelDirectory.load(modelDir);
    List<ClassifiedExample> train = new ArrayList<>();
    List<ClassifiedExample> heldOut = new ArrayList<>();
    try (HfTokenizer tokenizer = HfTokenizer.load(modelDir)) {
      ExampleEncoder encoder =
          ExampleEncoder.of(
              ChatTemplates.resolve(null, modelDir, tokenizer.specialTokens()), tokenizer);
      read(encoder, Path.of(args[1]), train);
      read(encoder, Path.of(args[2]), heldOut);
    }
    int perStep = 8;
    int stepsPerEpoch = (train.size() + perStep - 1) / perStep;
    for (LossPolicy policy : List.of(LossPolicy.outputOnly(), LossPolicy.instructionModelling())) {
      String name = policy.kind().shortName();
      Trainer.builder(
              HfCausalLm.of(model.config(), model.weights()), train, Path.of(args[3]).resolve(name))
          .lossPolicy(policy) // the only difference between the two runs
          .batch(perStep, 1)
          .evaluation(heldOut, stepsPerEpoch)
          .listener(
              new TrainingListener() {
                @Override
                public void onEval(EvalMetrics m) {
                  System.out.printf(
                      "%s step %d: held-out output-only loss %.4f%n",
                      name, m.step(), m.outputOnlyLoss());
                }
              })
          .build()
          .run();
    }
  }

  private static void read(ExampleEncoder encoder, Path file, List<ClassifiedExample> into) {
    try (DatasetReader reader = DatasetReader.open(file, DatasetFormat.AUTO, OnError.FAIL_FAST)) {
      reader.forEachRemaining(r -> into.add(encoder.encode(r).example()));
    }
  }
}
