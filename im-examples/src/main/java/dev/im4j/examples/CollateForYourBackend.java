package dev.im4j.examples;

import dev.im4j.core.collate.Batch;
import dev.im4j.core.collate.CollateResult;
import dev.im4j.core.collate.Collator;
import dev.im4j.core.collate.CollatorConfig;
import dev.im4j.core.data.Conversation;
import dev.im4j.core.data.Message;
import dev.im4j.core.loss.Reduction;
import dev.im4j.core.loss.ReferenceLoss;
import dev.im4j.core.loss.StepCoefficients;
import dev.im4j.core.mask.ExampleEncoder;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.mask.TokenizedExample;
import dev.im4j.core.template.BuiltinTemplate;
import dev.im4j.core.tokenizer.HfTokenizer;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/**
 * Uses im4j's data side with a backend of your own: conversations become packed batches and
 * per-position loss coefficients; your model supplies logits and consumes the gradient. Here a
 * random "model" stands in, and {@link ReferenceLoss} computes what your backend must compute.
 *
 * <p>Run: {@code java -cp im-examples/target/im4j.jar dev.im4j.examples.CollateForYourBackend
 * TOKENIZER_DIR}
 */
public final class CollateForYourBackend {
  private CollateForYourBackend() {}

  public static void main(String[] args) {
    Path tokenizerDir = Path.of(args.length > 0 ? args[0] : "im4j-demo/tokenizer");
    try (HfTokenizer tokenizer = HfTokenizer.load(tokenizerDir)) {
      ExampleEncoder encoder = ExampleEncoder.of(BuiltinTemplate.TULU.create("</s>"), tokenizer);
      LossPolicy im = LossPolicy.instructionModelling(); // which tokens are trained: decided here
      List<TokenizedExample> step =
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

      // One optimizer step: pack into rows of 64 tokens, at most 8 rows per micro-batch.
      CollateResult collated =
          Collator.of(CollatorConfig.builder(64).packing(true).build()).collate(step, 8);
      StepCoefficients c = StepCoefficients.of(Reduction.SEQUENCE_MEAN, collated.batches());

      int vocab = tokenizer.vocabSize();
      Random random = new Random(0);
      double stepLoss = 0;
      for (int b = 0; b < collated.batches().size(); b++) {
        Batch batch = collated.batches().get(b);
        // Your model: logits for the batch's input, position and segment ids (batch.writeTo).
        float[] logits = new float[batch.cells() * vocab]; // [rows, seqLen, vocab]
        for (int i = 0; i < logits.length; i++) {
          logits[i] = (float) random.nextGaussian();
        }
        ReferenceLoss.Result r = ReferenceLoss.compute(batch, c.forBatch(b), logits, vocab);
        stepLoss += r.loss(); // r.gradient() is dLoss/dlogits for your backward pass
      }
      System.out.printf(
          "%d micro-batches, step loss %.4f (a uniform prediction would give ln(%d) = %.4f)%n",
          collated.batches().size(), stepLoss, vocab, Math.log(vocab));
    }
  }
}
