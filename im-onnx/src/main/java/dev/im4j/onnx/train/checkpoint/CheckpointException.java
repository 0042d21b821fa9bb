package dev.im4j.onnx.train.checkpoint;

import java.nio.file.Path;

/**
 * A training checkpoint file could not be read or written. The message names the file, what was
 * wrong (with the actual value and what is allowed) and, for reads, the byte offset.
 */
public final class CheckpointException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  CheckpointException(Path file, String message) {
    super("checkpoint " + file + ": " + message);
  }

  CheckpointException(Path file, String message, Throwable cause) {
    super("checkpoint " + file + ": " + message, cause);
  }
}
