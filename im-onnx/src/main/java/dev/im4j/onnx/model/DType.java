package dev.im4j.onnx.model;

import java.util.Optional;

/**
 * Element types of safetensors files that im4j reads. Floating types convert to float32 in memory;
 * the integer types can be read as raw bytes only.
 */
public enum DType {
  /** IEEE 754 binary32. */
  F32("F32", 4, 5, true),
  /** IEEE 754 binary16. */
  F16("F16", 2, 1, true),
  /** bfloat16: the upper 16 bits of a binary32. */
  BF16("BF16", 2, 2, true),
  /** Signed 64-bit integer. */
  I64("I64", 8, 6, false),
  /** Signed 32-bit integer. */
  I32("I32", 4, 4, false);

  private final String code;
  private final int size;
  private final int writeRank;
  private final boolean floating;

  DType(String code, int size, int writeRank, boolean floating) {
    this.code = code;
    this.size = size;
    this.writeRank = writeRank;
    this.floating = floating;
  }

  /** The name used in safetensors headers, e.g. {@code "BF16"}. */
  public String code() {
    return code;
  }

  /** Bytes per element. */
  public int size() {
    return size;
  }

  /** Whether the type converts to float32. */
  public boolean isFloating() {
    return floating;
  }

  /**
   * Position in the writer's order: the Rust {@code safetensors} crate lays tensors out by
   * descending dtype (its enum order, which puts wider types later) and then by name, so that every
   * tensor stays aligned. Larger rank is written first.
   */
  int writeRank() {
    return writeRank;
  }

  /** The type with this header code, if im4j knows it. */
  static Optional<DType> fromCode(String code) {
    for (DType t : values()) {
      if (t.code.equals(code)) {
        return Optional.of(t);
      }
    }
    return Optional.empty();
  }

  /** Header codes, for error messages. */
  static String supportedCodes() {
    StringBuilder b = new StringBuilder();
    for (DType t : values()) {
      if (b.length() > 0) {
        b.append(", ");
      }
      b.append(t.code);
    }
    return b.toString();
  }
}
