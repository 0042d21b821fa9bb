package dev.im4j.core.data;

import static com.google.common.base.Preconditions.checkNotNull;

/**
 * One message of a conversation.
 *
 * @param role who wrote it
 * @param content its text, possibly empty, never null
 */
public record Message(Role role, String content) {
  public Message {
    checkNotNull(role, "role");
    checkNotNull(content, "content");
  }

  public static Message system(String content) {
    return new Message(Role.SYSTEM, content);
  }

  public static Message user(String content) {
    return new Message(Role.USER, content);
  }

  public static Message assistant(String content) {
    return new Message(Role.ASSISTANT, content);
  }
}
