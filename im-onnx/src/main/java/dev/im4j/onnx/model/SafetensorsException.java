package dev.im4j.onnx.model;

/**
 * A safetensors file, a shard index or a model directory could not be read or written; the message
 * names the file and the problem.
 */
public class SafetensorsException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public SafetensorsException(String message) {
    super(message);
  }

  public SafetensorsException(String message, Throwable cause) {
    super(message, cause);
  }
}
