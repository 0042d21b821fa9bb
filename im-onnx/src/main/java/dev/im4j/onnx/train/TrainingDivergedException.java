package dev.im4j.onnx.train;

/** A NaN or infinite loss stopped training; the last good checkpoint is kept (invariant 22). */
public final class TrainingDivergedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final long step;

  TrainingDivergedException(String message, long step) {
    super(message);
    this.step = step;
  }

  /** The 1-based optimizer step whose loss was not finite (it was not applied). */
  public long step() {
    return step;
  }
}
