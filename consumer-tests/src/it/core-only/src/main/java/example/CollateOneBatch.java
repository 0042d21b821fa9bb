package example;

import dev.im4j.core.collate.Batch;
import dev.im4j.core.collate.CollateResult;
import dev.im4j.core.collate.Collator;
import dev.im4j.core.collate.CollatorConfig;
import dev.im4j.core.data.Conversation;
import dev.im4j.core.data.Message;
import dev.im4j.core.mask.ExampleEncoder;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.mask.TokenizedExample;
import dev.im4j.core.template.BuiltinTemplate;
import dev.im4j.core.tokenizer.HfTokenizer;
import java.nio.file.Path;
import java.util.List;

/**
 * A consumer of im-core alone: tokenizes two conversations, weighs them with IM and collates one
 * packed batch. Exits non-zero if ONNX Runtime or im-onnx is on the class path (im-core must not
 * bring them) or the batch does not hold every IM target.
 *
 * <p>Argument: a tokenizer folder (tokenizer.json, tokenizer_config.json).
 */
public final class CollateOneBatch {
  private CollateOneBatch() {}

  public static void main(String[] args) {
    for (String name : List.of("ai.onnxruntime.OrtEnvironment", "dev.im4j.onnx.train.Trainer")) {
      try {
        Class.forName(name);
        System.err.println("consumer check failed: im-core brought " + name);
        System.exit(1);
      } catch (ClassNotFoundException expected) {
        // im-core alone must not put it on the class path
      }
    }
    try (HfTokenizer tokenizer = HfTokenizer.load(Path.of(args[0]))) {
      ExampleEncoder encoder = ExampleEncoder.of(BuiltinTemplate.TULU.create("</s>"), tokenizer);
      LossPolicy im = LossPolicy.instructionModelling();
      List<TokenizedExample> examples =
          List.of(
              im.weigh(
                  encoder
                      .encode(Conversation.of(Message.user("2+2?"), Message.assistant("4")))
                      .example()),
              im.weigh(
                  encoder
                      .encode(
                          Conversation.of(
                              Message.user("Name a colour."),
                              Message.assistant("Blue, like the sky.")))
                      .example()));
      CollateResult collated =
          Collator.of(CollatorConfig.builder(64).packing(true).build()).collate(examples, 8);
      long expected = examples.stream().mapToLong(TokenizedExample::targetCount).sum();
      long collatedTargets = 0;
      for (Batch batch : collated.batches()) {
        for (float weight : batch.weights()) {
          collatedTargets += weight > 0 ? 1 : 0;
        }
      }
      if (collated.batches().size() != 1 || collatedTargets != expected) {
        System.err.printf(
            "consumer check failed: %d batches holding %d targets, expected 1 holding %d%n",
            collated.batches().size(), collatedTargets, expected);
        System.exit(1);
      }
      System.out.printf("consumer (im-core only): one packed batch, %d IM targets%n", expected);
    }
  }
}
