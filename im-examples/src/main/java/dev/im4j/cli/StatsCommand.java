package dev.im4j.cli;

import dev.im4j.core.data.DatasetReader;
import dev.im4j.core.data.DatasetRecord;
import dev.im4j.core.data.Role;
import dev.im4j.core.mask.ExampleEncoder;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.stats.Advisor;
import dev.im4j.core.stats.DatasetStatistics;
import dev.im4j.core.tokenizer.HfTokenizer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code im4j stats}: dataset statistics, the paper's length ratio and the IM-vs-IT advice. */
@Command(
    name = "stats",
    mixinStandardHelpOptions = true,
    description = {
      "Counts, word and token lengths, the paper's length ratio (mean instruction words / mean"
          + " output words), the truncation rate, and a suggestion between IM and IT that quotes"
          + " the paper's fits."
    })
final class StatsCommand implements Callable<Integer> {
  /** Sequence length of the paper's recipe, used for the truncation rate by default. */
  static final int DEFAULT_MAX_LENGTH = 2048;

  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Mixin DataOptions data;

  /** With --tokenizer, token statistics are added. */
  @Mixin PipelineOptions pipeline;

  @Option(
      names = "--max-length",
      paramLabel = "N",
      defaultValue = "" + DEFAULT_MAX_LENGTH,
      description = "Length for the truncation rate, with --tokenizer (default: ${DEFAULT-VALUE}).")
  int maxLength;

  @Override
  public Integer call() {
    Flags.require(maxLength >= 1, "--max-length", maxLength, ">= 1");
    PrintWriter out = spec.commandLine().getOut();
    DatasetStatistics stats = compute();
    print(out, stats, data.data);
    return Im4jCli.OK;
  }

  private DatasetStatistics compute() {
    if (!pipeline.hasTokenizer()) {
      DatasetStatistics.Accumulator acc = DatasetStatistics.accumulator(0);
      try (DatasetReader reader = data.open()) {
        reader.forEachRemaining(r -> acc.add(r.example()));
      }
      return acc.build();
    }
    DatasetStatistics.Accumulator acc = DatasetStatistics.accumulator(maxLength);
    try (HfTokenizer tokenizer = pipeline.loadTokenizer();
        DatasetReader reader = data.open()) {
      ExampleEncoder encoder = pipeline.encoder(tokenizer);
      LossPolicy policy = pipeline.policy();
      while (reader.hasNext()) {
        DatasetRecord record = reader.next();
        acc.add(record.example());
        acc.add(policy.weigh(encoder.encode(record).example()));
      }
    }
    return acc.build();
  }

  static void print(PrintWriter out, DatasetStatistics stats, Path source) {
    out.printf(Locale.ROOT, "dataset            %s%n", source);
    out.printf(Locale.ROOT, "examples           %d%n", stats.examples());
    if (stats.plainTexts() > 0) {
      out.printf(Locale.ROOT, "plain-text rows    %d (every token trained)%n", stats.plainTexts());
    }
    if (stats.plainTexts() < stats.examples()) {
      printConversationLengths(out, stats);
    }
    DatasetStatistics.TokenStatistics t = stats.tokens();
    if (t != null) {
      out.printf(
          Locale.ROOT,
          "tokens             mean %.1f, median %d, p95 %d, max %d%n",
          t.meanLength(),
          t.medianLength(),
          t.p95Length(),
          t.maxLength());
      out.printf(
          Locale.ROOT, "trained targets    %.1f per example (mean)%n", t.meanTrainedTokens());
      out.printf(
          Locale.ROOT,
          "truncated at %d  %.1f%% of examples%n",
          t.maxLengthLimit(),
          100 * t.truncationRate());
    }
    out.println();
    out.println(Advisor.advise(stats).explanation());
  }

  /** Messages per role, words per side and the length ratio: what conversations have. */
  private static void printConversationLengths(PrintWriter out, DatasetStatistics stats) {
    long[] messages = stats.messages();
    out.printf(
        Locale.ROOT,
        "messages           %d system, %d user, %d assistant%n",
        messages[Role.SYSTEM.ordinal()],
        messages[Role.USER.ordinal()],
        messages[Role.ASSISTANT.ordinal()]);
    out.printf(
        Locale.ROOT, "instruction words  %.1f per example (mean)%n", stats.meanInstructionWords());
    out.printf(
        Locale.ROOT, "output words       %.1f per example (mean)%n", stats.meanOutputWords());
    out.printf(Locale.ROOT, "length ratio       %.3f%n", stats.lengthRatio());
  }
}
