package dev.im4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * What {@code im4j train} may do with its {@code --out} folder: start in an empty or new folder,
 * continue its run ({@code --resume}) or replace it ({@code --overwrite}); a non-empty folder is
 * refused otherwise, so a finished run is never replaced by accident.
 */
final class RunFolder {
  /** Everything a training run writes into its folder; {@code --overwrite} deletes only these. */
  static final List<String> OUTPUTS =
      List.of(
          "checkpoints",
          "artifacts",
          "metrics.jsonl",
          TrainCommand.MODEL_DIR,
          TrainCommand.ONNX_EXPORT,
          TrainCommand.ONNX_EXPORT + ".data",
          TrainCommand.CURVES);

  private RunFolder() {}

  private static boolean hasCheckpoint(Path checkpoints) throws IOException {
    if (!Files.isDirectory(checkpoints)) {
      return false;
    }
    try (Stream<Path> s = Files.list(checkpoints)) {
      return s.anyMatch(p -> p.getFileName().toString().startsWith("step-"));
    }
  }

  /**
   * Checks {@code out} and, with {@code overwrite}, deletes the previous run's outputs; also
   * removes temporaries that a killed run left beside its outputs.
   *
   * @throws IllegalArgumentException naming the flag if {@code out} is a file, or is non-empty
   *     without {@code --resume} or {@code --overwrite}
   */
  static void prepare(Path out, boolean resume, boolean overwrite) throws IOException {
    if (Files.exists(out) && !Files.isDirectory(out)) {
      throw new IllegalArgumentException(
          "--out " + out + " is an existing file; --out takes a folder (new, empty, or a run's)");
    }
    if (Files.isDirectory(out) && !resume && !overwrite) {
      List<String> entries;
      try (Stream<Path> s = Files.list(out)) {
        entries = s.map(p -> p.getFileName().toString()).sorted().limit(6).toList();
      }
      if (!entries.isEmpty()) {
        throw new IllegalArgumentException(
            "--out "
                + out
                + " is not empty ("
                + String.join(", ", entries.subList(0, Math.min(5, entries.size())))
                + (entries.size() > 5 ? ", ..." : "")
                + "); pass --resume to continue its run, --overwrite to replace it, or choose an"
                + " empty folder");
      }
    }
    if (resume && !hasCheckpoint(out.resolve("checkpoints"))) {
      throw new IllegalArgumentException(
          "--resume: --out " + out + " holds no checkpoint; drop --resume to start a new run");
    }
    Files.createDirectories(out);
    if (overwrite) {
      for (String name : OUTPUTS) {
        OutputFiles.deleteTree(out.resolve(name));
      }
    }
    dev.im4j.onnx.model.ModelDirectory.deleteStaleTemporaries(out.resolve(TrainCommand.MODEL_DIR));
    dev.im4j.onnx.graph.OnnxIo.deleteStaleTemporaries(out.resolve(TrainCommand.ONNX_EXPORT));
    OutputFiles.deleteStaleTemporaries(out, TrainCommand.CURVES);
  }
}
