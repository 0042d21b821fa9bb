package dev.im4j.onnx.graph;

/**
 * An ONNX model could not be read or written: malformed bytes, missing files, I/O failure, or
 * content the graph layer does not support (another opset or domain, an unsupported op or form),
 * named with the op and node.
 */
public final class ModelFormatException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  ModelFormatException(String message, Throwable cause) {
    super(message, cause);
  }

  ModelFormatException(String message) {
    super(message);
  }
}
