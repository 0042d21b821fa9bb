package dev.im4j.core.template;

import dev.im4j.core.data.Role;

/**
 * What produced a character of a rendered conversation: the template itself, or the content of a
 * message with the given role.
 */
public enum SpanKind {
  /** Text the chat template adds: role headers, separators, BOS, terminators. */
  TEMPLATE,
  /** Content of a system message. */
  SYSTEM,
  /** Content of a user message. */
  USER,
  /** Content of an assistant message. */
  ASSISTANT;

  /** The content kind for a message role. */
  public static SpanKind of(Role role) {
    return switch (role) {
      case SYSTEM -> SYSTEM;
      case USER -> USER;
      case ASSISTANT -> ASSISTANT;
    };
  }

  /** True for message content (anything but {@link #TEMPLATE}). */
  public boolean isContent() {
    return this != TEMPLATE;
  }
}
