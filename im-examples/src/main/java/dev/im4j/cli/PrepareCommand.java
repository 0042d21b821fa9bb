package dev.im4j.cli;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.im4j.core.collate.Collator;
import dev.im4j.core.collate.CollatorConfig;
import dev.im4j.core.data.DatasetReader;
import dev.im4j.core.data.DatasetRecord;
import dev.im4j.core.mask.ExampleEncoder;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.mask.TokenizedExample;
import dev.im4j.core.tokenizer.HfTokenizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code im4j prepare}: render, tokenize and mask a dataset into weighted token ids. */
@Command(
    name = "prepare",
    mixinStandardHelpOptions = true,
    description = {
      "Renders, tokenizes and masks every example; writes one JSON object per line, in input"
          + " order: {\"input_ids\":[...],\"weights\":[...]}.",
      "weights[i] is the loss weight of token i as a prediction target (before the shift)."
    })
final class PrepareCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Mixin DataOptions data;
  @Mixin PipelineOptions pipeline;

  @Option(
      names = "--max-length",
      paramLabel = "N",
      description = "Keep the first N tokens of longer examples (default: no truncation).")
  Integer maxLength;

  @Option(names = "--out", paramLabel = "FILE", required = true, description = "Output JSONL.")
  Path out;

  @Option(
      names = "--preview",
      description = "Print the first examples with their trained tokens marked (default: off).")
  boolean preview;

  @Option(
      names = "--preview-count",
      paramLabel = "N",
      defaultValue = "3",
      description = "How many examples --preview prints (default: ${DEFAULT-VALUE}).")
  int previewCount;

  @Override
  public Integer call() throws IOException {
    Flags.require(maxLength == null || maxLength >= 1, "--max-length", maxLength, ">= 1");
    Flags.require(previewCount >= 0, "--preview-count", previewCount, ">= 0");
    PrintWriter stdout = spec.commandLine().getOut();
    PrintWriter stderr = spec.commandLine().getErr();
    Optional<Collator> truncation =
        Optional.ofNullable(maxLength).map(n -> Collator.of(CollatorConfig.of(n)));
    Summary summary = new Summary();
    OutputFiles.requireNotAnInput(out, "--out", List.of(data.data));
    try (HfTokenizer tokenizer = pipeline.loadTokenizer();
        DatasetReader reader = data.open()) {
      ExampleEncoder encoder = pipeline.encoder(tokenizer);
      LossPolicy policy = pipeline.policy();
      // Into a temporary file renamed over --out on success only: a failure at any row leaves
      // an existing output as it was.
      OutputFiles.writeAtomically(
          out,
          file -> {
            try (JsonGenerator json = new JsonFactory().createGenerator(file, JsonEncoding.UTF8)) {
              json.setRootValueSeparator(null);
              if (preview) {
                stdout.println("Preview (" + TokenPreview.LEGEND + "):");
              }
              while (reader.hasNext()) {
                DatasetRecord record = reader.next();
                ExampleEncoder.Result result = encoder.encode(record);
                TokenizedExample weighed = policy.weigh(result.example());
                TokenizedExample example =
                    truncation.isPresent()
                        ? truncation.get().truncate(weighed).orElseThrow()
                        : weighed;
                summary.add(record, result, weighed, example);
                write(json, example);
                if (preview && summary.examples <= previewCount) {
                  stdout.println(
                      "--- "
                          + record.source()
                          + ":"
                          + record.line()
                          + " ("
                          + example.length()
                          + " tokens)");
                  stdout.println(TokenPreview.render(encoder, record.example(), example));
                }
              }
            }
          });
      stderr.println(reader.report().summary());
      for (var skipped : reader.report().skipped()) {
        stderr.println("  skipped " + skipped.describe(reader.report().source()));
      }
    }
    stdout.flush();
    summary.print(stderr, out);
    stderr.flush();
    return Im4jCli.OK;
  }

  static void write(JsonGenerator json, TokenizedExample example) throws IOException {
    json.writeStartObject();
    json.writeArrayFieldStart("input_ids");
    for (int i = 0; i < example.length(); i++) {
      json.writeNumber(example.idAt(i));
    }
    json.writeEndArray();
    json.writeArrayFieldStart("weights");
    for (float w : example.weights()) {
      json.writeNumber(w);
    }
    json.writeEndArray();
    json.writeEndObject();
    json.writeRaw('\n');
  }

  /** Counts for the closing report; lists every example that trains nothing. */
  static final class Summary {
    long examples;
    long tokens;
    long trainedTargets;
    long missingTerminators;
    long truncated;
    final List<String> withoutTarget = new ArrayList<>();

    void add(
        DatasetRecord record,
        ExampleEncoder.Result result,
        TokenizedExample weighed,
        TokenizedExample kept) {
      examples++;
      tokens += kept.length();
      missingTerminators += result.missingTerminators();
      if (kept.length() < weighed.length()) {
        truncated++;
      }
      long trained = kept.targetCount();
      trainedTargets += trained;
      if (trained == 0) {
        withoutTarget.add(record.source() + ":" + record.line());
      }
    }

    void print(PrintWriter err, Path out) {
      err.printf(
          "wrote %d examples, %d tokens, %d trained targets (%.1f%%) to %s%n",
          examples,
          tokens,
          trainedTargets,
          tokens == 0 ? 0.0 : 100.0 * trainedTargets / tokens,
          out);
      if (truncated > 0) {
        err.printf("%d examples truncated to --max-length%n", truncated);
      }
      if (missingTerminators > 0) {
        err.printf(
            "%d assistant turns are not followed by a special end-of-turn token, so no"
                + " terminator is trained for them%n",
            missingTerminators);
      }
      if (!withoutTarget.isEmpty()) {
        err.printf(
            "%d examples have no trained target (written, but they teach nothing): %s%n",
            withoutTarget.size(), String.join(", ", withoutTarget));
      }
    }
  }
}
