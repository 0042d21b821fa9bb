package dev.im4j.onnx.runtime;

import ai.onnxruntime.OrtEnvironment;

/**
 * The process's ONNX Runtime environment, on the training-enabled native library that im4j ships
 * (see {@link OrtNatives}). Every ONNX Runtime use in a JVM that also trains must go through here
 * first: ONNX Runtime loads its native library once, so a plain {@code
 * OrtEnvironment.getEnvironment()} before this call pins Microsoft's library without the training
 * API for the rest of the process.
 */
public final class Ort {
  private Ort() {}

  /**
   * The shared environment, loading the natives on first use.
   *
   * @throws TrainingRuntimeException if the natives cannot be prepared or another ONNX Runtime
   *     library was loaded first
   */
  public static OrtEnvironment environment() {
    return OrtNatives.environment();
  }
}
