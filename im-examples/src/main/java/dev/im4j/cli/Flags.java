package dev.im4j.cli;

/** Option checks whose messages name the flag, the value and what is allowed. */
final class Flags {
  private Flags() {}

  /**
   * Throws {@code IllegalArgumentException} ("--epochs must be >= 1 but was 0") unless {@code ok}.
   */
  static void require(boolean ok, String flag, Object value, String allowed) {
    if (!ok) {
      throw new IllegalArgumentException(flag + " must be " + allowed + " but was " + value);
    }
  }
}
