package dev.im4j.cli;

import dev.im4j.core.data.DatasetFormat;
import dev.im4j.core.data.DatasetReader;
import dev.im4j.core.data.OnError;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Where the data comes from and how bad lines are handled. */
final class DataOptions {
  @Option(
      names = "--data",
      paramLabel = "FILE",
      required = true,
      description = "JSON Lines dataset: alpaca, messages or sharegpt rows.")
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

  DatasetReader open() {
    return open(data);
  }

  /** Opens another file (held-out data) with the same format and bad-line handling. */
  DatasetReader open(Path file) {
    return DatasetReader.open(
        file, format, skipBadLines ? OnError.SKIP_AND_REPORT : OnError.FAIL_FAST);
  }
}
