package dev.im4j.onnx.runtime;

import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/**
 * Loads im4j's training-enabled ONNX Runtime before any test runs, so tests that open plain {@code
 * OrtSession}s and tests that train share one native library, whatever their order.
 */
public final class OrtFirst implements LauncherSessionListener {
  @Override
  public void launcherSessionOpened(LauncherSession session) {
    Ort.environment();
  }
}
