package dev.im4j.core.tokenizer;

/** A tokenizer could not be loaded or failed; the message names the file and field. */
public class TokenizerException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public TokenizerException(String message) {
    super(message);
  }

  public TokenizerException(String message, Throwable cause) {
    super(message, cause);
  }
}
