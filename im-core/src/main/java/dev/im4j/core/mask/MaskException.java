package dev.im4j.core.mask;

/** A conversation cannot be turned into a correctly masked example; the message says why. */
public class MaskException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public MaskException(String message) {
    super(message);
  }
}
