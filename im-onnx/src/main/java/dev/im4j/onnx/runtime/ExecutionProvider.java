package dev.im4j.onnx.runtime;

import static com.google.common.base.Preconditions.checkArgument;

/**
 * Where ONNX Runtime runs the graphs: the CPU, or one CUDA device.
 *
 * @param kind CPU or CUDA
 * @param deviceId the CUDA device ordinal ({@code >= 0}); 0 for the CPU
 */
public record ExecutionProvider(Kind kind, int deviceId) {
  /** Supported execution providers. */
  public enum Kind {
    CPU,
    CUDA
  }

  /** Validates; throws {@link IllegalArgumentException} on a bad device id. */
  public ExecutionProvider {
    checkArgument(kind != null, "kind must be CPU or CUDA but was null");
    checkArgument(deviceId >= 0, "deviceId must be >= 0 but was %s", deviceId);
    checkArgument(
        kind == Kind.CUDA || deviceId == 0, "the CPU has deviceId 0 but was %s", deviceId);
  }

  /** The CPU execution provider. */
  public static ExecutionProvider cpu() {
    return new ExecutionProvider(Kind.CPU, 0);
  }

  /** The CUDA execution provider on device {@code deviceId} (the CPU runs what CUDA cannot). */
  public static ExecutionProvider cuda(int deviceId) {
    return new ExecutionProvider(Kind.CUDA, deviceId);
  }
}
