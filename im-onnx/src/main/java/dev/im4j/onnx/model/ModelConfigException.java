package dev.im4j.onnx.model;

/**
 * A Hugging Face {@code config.json} is malformed, inconsistent or describes something im4j does
 * not support; the message names the file, the field, the value and what is allowed.
 */
public class ModelConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ModelConfigException(String message) {
    super(message);
  }

  public ModelConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
