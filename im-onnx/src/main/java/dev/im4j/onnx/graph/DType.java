package dev.im4j.onnx.graph;

/**
 * Element types of tensors, with their ONNX {@code TensorProto.DataType} code and byte width.
 *
 * <p>Only the types the graph layer can reason about are listed; reading a model with another type
 * fails with a message naming the code.
 */
public enum DType {
  FLOAT(1, 4, true),
  UINT8(2, 1, false),
  INT8(3, 1, false),
  INT32(6, 4, false),
  INT64(7, 8, false),
  BOOL(9, 1, false),
  FLOAT16(10, 2, true),
  DOUBLE(11, 8, true),
  BFLOAT16(16, 2, true);

  private final int onnxCode;
  private final int byteSize;
  private final boolean floatingPoint;

  DType(int onnxCode, int byteSize, boolean floatingPoint) {
    this.onnxCode = onnxCode;
    this.byteSize = byteSize;
    this.floatingPoint = floatingPoint;
  }

  /** The ONNX {@code TensorProto.DataType} number. */
  public int onnxCode() {
    return onnxCode;
  }

  /** Bytes per element. */
  public int byteSize() {
    return byteSize;
  }

  /** Whether values of this type can carry a gradient. */
  public boolean isFloatingPoint() {
    return floatingPoint;
  }

  /**
   * The type with the given ONNX code.
   *
   * @throws IllegalArgumentException if the code is not one of the supported types
   */
  public static DType fromOnnxCode(int code) {
    for (DType t : values()) {
      if (t.onnxCode == code) {
        return t;
      }
    }
    throw new IllegalArgumentException(
        "unsupported ONNX tensor data type "
            + code
            + "; supported: "
            + java.util.List.of(values()));
  }
}
