package dev.im4j.core.data;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.List;

/**
 * An ordered, non-empty list of messages: the unit of instruction data.
 *
 * <p>Immutable; the list is copied in.
 */
public record Conversation(List<Message> messages) implements Example {
  public Conversation {
    messages = List.copyOf(messages);
    checkArgument(!messages.isEmpty(), "a conversation needs at least one message but had none");
  }

  public static Conversation of(Message... messages) {
    return new Conversation(List.of(messages));
  }

  /** Number of messages. */
  public int size() {
    return messages.size();
  }

  /** The message at {@code index}. */
  public Message get(int index) {
    return messages.get(index);
  }
}
