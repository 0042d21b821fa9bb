package dev.im4j.onnx.train;

/**
 * The training examples cannot train the model: none has a trained target within the max length, or
 * a token id lies outside the model's vocabulary. Thrown before anything is trained.
 */
public final class TrainingDataException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  TrainingDataException(String message) {
    super(message);
  }
}
