package dev.im4j.onnx.model;

import dev.im4j.onnx.graph.DType;
import java.util.Optional;

/**
 * How safetensors files name the {@link DType}s im4j reads and writes: {@code F32}, {@code F16} and
 * {@code BF16} (weights, converted to float32 in memory), {@code I64} and {@code I32} (raw bytes
 * only).
 */
final class SafetensorsDTypes {
  private SafetensorsDTypes() {}

  /** The header code of {@code dtype}, e.g. {@code "BF16"}. */
  static String code(DType dtype) {
    return switch (dtype) {
      case FLOAT -> "F32";
      case FLOAT16 -> "F16";
      case BFLOAT16 -> "BF16";
      case INT64 -> "I64";
      case INT32 -> "I32";
      default -> throw new IllegalArgumentException(dtype + " has no safetensors code here");
    };
  }

  /** The type of a header code, if im4j knows it. */
  static Optional<DType> fromCode(String code) {
    return switch (code) {
      case "F32" -> Optional.of(DType.FLOAT);
      case "F16" -> Optional.of(DType.FLOAT16);
      case "BF16" -> Optional.of(DType.BFLOAT16);
      case "I64" -> Optional.of(DType.INT64);
      case "I32" -> Optional.of(DType.INT32);
      default -> Optional.empty();
    };
  }

  /** Header codes, for error messages. */
  static String supportedCodes() {
    return "F32, F16, BF16, I64, I32";
  }

  /** Whether tensors of this type are weights: stored as F32, F16 or BF16, held as float32. */
  static boolean isWeight(DType dtype) {
    return dtype == DType.FLOAT || dtype == DType.FLOAT16 || dtype == DType.BFLOAT16;
  }

  /**
   * Position in the writer's order: the Rust {@code safetensors} crate lays tensors out by
   * descending dtype (its enum order, which puts wider types later) and then by name, so that every
   * tensor stays aligned. Larger rank is written first.
   */
  static int writeRank(DType dtype) {
    return switch (dtype) {
      case FLOAT16 -> 1;
      case BFLOAT16 -> 2;
      case INT32 -> 4;
      case FLOAT -> 5;
      case INT64 -> 6;
      default -> throw new IllegalArgumentException(dtype + " has no safetensors code here");
    };
  }
}
