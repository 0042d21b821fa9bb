package dev.im4j.examples;

import dev.im4j.core.data.DatasetFormat;
import dev.im4j.core.data.DatasetReader;
import dev.im4j.core.data.OnError;
import dev.im4j.core.mask.ExampleEncoder;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.mask.TokenizedExample;
import dev.im4j.core.template.ChatTemplates;
import dev.im4j.core.tokenizer.HfTokenizer;
import java.nio.file.Path;

/**
 * Reads a JSONL dataset, renders each conversation with the tokenizer's chat template and masks it
 * for Instruction Modelling; prints how many tokens each example trains.
 *
 * <p>Run: {@code java -cp im-examples/target/im4j.jar dev.im4j.examples.PrepareDataset DATA.jsonl
 * TOKENIZER_DIR}
 */
public final class PrepareDataset {
  private PrepareDataset() {}

  public static void main(String[] args) {
    Path data = Path.of(args[0]);
    Path tokenizerDir = Path.of(args[1]);
    try (HfTokenizer tokenizer = HfTokenizer.load(tokenizerDir);
        DatasetReader reader = DatasetReader.open(data, DatasetFormat.AUTO, OnError.FAIL_FAST)) {
      ExampleEncoder encoder =
          ExampleEncoder.of(
              ChatTemplates.resolve(null, tokenizerDir, tokenizer.specialTokens()), tokenizer);
      LossPolicy im = LossPolicy.instructionModelling();
      reader.forEachRemaining(
          record -> {
            TokenizedExample e = im.weigh(encoder.encode(record).example());
            System.out.printf(
                "line %d: %d tokens, %d trained%n", record.line(), e.length(), e.targetCount());
          });
      System.out.println(reader.report().summary());
    }
  }
}
