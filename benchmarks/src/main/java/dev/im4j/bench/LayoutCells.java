package dev.im4j.bench;

import dev.im4j.core.collate.CollateReport;
import dev.im4j.core.collate.Collator;
import dev.im4j.core.collate.CollatorConfig;
import dev.im4j.core.data.Conversation;
import dev.im4j.core.mask.ExampleEncoder;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.mask.TokenizedExample;
import dev.im4j.core.template.BuiltinTemplate;
import dev.im4j.core.tokenizer.HfTokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Cells written per real token by each layout of {@link MaskCollateBenchmark}'s corpus (8 rows per
 * batch, max length 2048), with all 2,000 examples collated as one step, as the benchmark does, and
 * in steps of 64 examples, as a training loop with 8 micro-batches of 8 rows would.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar dev.im4j.bench.LayoutCells}.
 */
public final class LayoutCells {
  private LayoutCells() {}

  public static void main(String[] args) {
    List<TokenizedExample> examples = new ArrayList<>();
    try (HfTokenizer tokenizer = Corpus.tokenizer()) {
      ExampleEncoder encoder = ExampleEncoder.of(BuiltinTemplate.TULU.create("</s>"), tokenizer);
      LossPolicy im = LossPolicy.instructionModelling();
      for (Conversation c : Corpus.conversations(2000, 42)) {
        examples.add(im.weigh(encoder.encode(c).example()));
      }
    }
    System.out.printf("%-8s %22s %22s%n", "layout", "one step of 2,000", "steps of 64");
    for (String layout : new String[] {"padded", "grouped", "packed"}) {
      Collator collator =
          Collator.of(
              CollatorConfig.builder(2048)
                  .packing(layout.equals("packed"))
                  .groupByLength(!layout.equals("padded"))
                  .build());
      System.out.printf(
          "%-8s %22.3f %22.3f%n",
          layout,
          cellsPerToken(collator, examples, examples.size()),
          cellsPerToken(collator, examples, 64));
    }
  }

  private static double cellsPerToken(
      Collator collator, List<TokenizedExample> examples, int perStep) {
    long tokens = 0;
    long cells = 0;
    for (int from = 0; from < examples.size(); from += perStep) {
      CollateReport report =
          collator
              .collate(examples.subList(from, Math.min(examples.size(), from + perStep)), 8)
              .report();
      tokens += report.tokens();
      cells += report.tokens() + report.paddingTokens();
    }
    return (double) cells / tokens;
  }
}
