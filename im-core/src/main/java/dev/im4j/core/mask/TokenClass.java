package dev.im4j.core.mask;

/**
 * What a token of a training sequence is, as decided once by {@link MaskBuilder}: the input from
 * which every loss policy derives its weights.
 */
public enum TokenClass {
  // Ordinals are stored (compact byte[] classes): add new classes at the end.
  /** Template text: role headers, separators, BOS, anything not message content. */
  TEMPLATE,
  /** Content of a system message. */
  SYSTEM,
  /** Content of a user message. */
  USER,
  /** Content of an assistant message. */
  ASSISTANT,
  /** The end-of-turn / EOS token that closes an assistant message (trained with the output). */
  TERMINATOR,
  /**
   * Plain text ({@code dev.im4j.core.data.PlainText}) and the end-of-sequence token appended to it:
   * language-modelling data, trained under every loss policy.
   */
  TEXT;

  private static final TokenClass[] VALUES = values();

  /** The class with the given {@link #ordinal()}; for compact {@code byte[]} storage. */
  public static TokenClass ofOrdinal(int ordinal) {
    return VALUES[ordinal];
  }

  /** True for the output side of the data: assistant content and its terminator. */
  public boolean isOutput() {
    return this == ASSISTANT || this == TERMINATOR;
  }

  /** True for the instruction side: system and user content. */
  public boolean isInstruction() {
    return this == SYSTEM || this == USER;
  }
}
