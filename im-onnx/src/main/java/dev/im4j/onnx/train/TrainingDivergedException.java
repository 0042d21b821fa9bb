package dev.im4j.onnx.train;

/**
 * Training stopped as diverged: a NaN or infinite step loss, or a rule of {@link DivergenceLimits}
 * broken; no checkpoint with diverged weights was written and the message names the last good one
 * (docs/invariants.md, 22).
 */
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
