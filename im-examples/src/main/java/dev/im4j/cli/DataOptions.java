package dev.im4j.cli;

import dev.im4j.core.data.DatasetFormat;
import dev.im4j.core.data.DatasetReader;
import dev.im4j.core.data.OnError;
import dev.im4j.core.data.ReadLimits;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Where the data comes from and how bad lines are handled. */
final class DataOptions {
  @Option(
      names = "--data",
      paramLabel = "FILE",
      required = true,
      description =
          "JSON Lines dataset: alpaca, messages or sharegpt rows, or text rows ({\"text\": ...},"
              + " every token trained).")
  Path data;

  @Option(
      names = "--format",
      paramLabel = "FORMAT",
      defaultValue = "auto",
      description = "${COMPLETION-CANDIDATES} (default: auto).")
  DatasetFormat format;

  @Option(
      names = "--skip-bad-lines",
      description =
          "Skip invalid lines and list each one at the end instead of stopping at the first"
              + " (default: stop).")
  boolean skipBadLines;

  @Option(
      names = "--max-example-chars",
      paramLabel = "N",
      defaultValue = "" + ReadLimits.DEFAULT_MAX_EXAMPLE_CHARS,
      description =
          "Most content characters one example may have, summed over its fields; a longer line is"
              + " a bad line, rejected before it reaches the tokenizer (default: ${DEFAULT-VALUE}).")
  int maxExampleChars;

  DatasetReader open() {
    return open(data);
  }

  /** Opens another file (held-out data) with the same format, bad-line handling and limits. */
  DatasetReader open(Path file) {
    if (maxExampleChars < 1) {
      throw new IllegalArgumentException(
          "--max-example-chars must be >= 1 but was "
              + maxExampleChars
              + "; the default is "
              + ReadLimits.DEFAULT_MAX_EXAMPLE_CHARS);
    }
    return DatasetReader.open(
        file,
        format,
        skipBadLines ? OnError.SKIP_AND_REPORT : OnError.FAIL_FAST,
        new ReadLimits(maxExampleChars));
  }
}
