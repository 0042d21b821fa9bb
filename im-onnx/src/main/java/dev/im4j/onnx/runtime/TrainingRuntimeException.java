package dev.im4j.onnx.runtime;

/**
 * ONNX Runtime could not be loaded, or a native call failed (session creation, a step, a checkpoint
 * save or an export). The message says what was attempted and how to fix it; the cause carries the
 * native error where there is one.
 */
public final class TrainingRuntimeException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  TrainingRuntimeException(String message) {
    super(message);
  }

  TrainingRuntimeException(String message, Throwable cause) {
    super(message, cause);
  }
}
