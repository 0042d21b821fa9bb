package dev.im4j.onnx.runtime;

import ai.onnxruntime.OrtEnvironment;

/**
 * For tests outside this package: ONNX Runtime's environment loaded through {@link OrtNatives}, so
 * that whichever test touches ONNX Runtime first in a JVM loads the training-enabled natives
 * (loading Microsoft's bundled library first would disable training for every later test).
 */
public final class TestNatives {
  private TestNatives() {}

  /** The environment, training-enabled natives loaded. */
  public static OrtEnvironment environment() {
    return OrtNatives.environment();
  }
}
