package dev.im4j.onnx.train;

import java.nio.file.Path;
import java.util.List;

/**
 * A resume was refused: the checkpoint was written by a run that differs from this one. Each {@link
 * Mismatch} names one field of the run's identity (see {@link Trainer.Builder#resume}) with both
 * values, so a caller can say it in its own terms (the CLI names its flags).
 */
public final class ResumeMismatchException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  /**
   * One differing field.
   *
   * @param field the field: {@code seed}, {@code totalSteps}, {@code adamW}, or one of {@code
   *     RunIdentity}'s ({@code data.sha256}, {@code policy}, {@code model.hidden_size}, ...)
   * @param checkpoint its value in the checkpoint's run (null if that run did not record it)
   * @param run its value in this run
   */
  public record Mismatch(String field, String checkpoint, String run) {}

  private final transient Path checkpointDir;
  private final transient List<Mismatch> mismatches;

  ResumeMismatchException(Path checkpointDir, List<Mismatch> mismatches) {
    super(message(checkpointDir, mismatches));
    this.checkpointDir = checkpointDir;
    this.mismatches = List.copyOf(mismatches);
  }

  private static String message(Path checkpoint, List<Mismatch> mismatches) {
    StringBuilder b =
        new StringBuilder("cannot resume from ")
            .append(checkpoint)
            .append(": this run differs from the one that wrote it:");
    for (Mismatch m : mismatches) {
      b.append(
          String.format(
              "%n  %s: the checkpoint's run had %s, this run has %s",
              m.field(), m.checkpoint(), m.run()));
    }
    return b.append("\nresume with the same data, model and options, or start a new output folder")
        .toString();
  }

  /** The checkpoint folder the resume was refused from. */
  public Path checkpointDir() {
    return checkpointDir;
  }

  /** Every differing field, in a fixed order. */
  public List<Mismatch> mismatches() {
    return mismatches;
  }
}
