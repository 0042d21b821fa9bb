package dev.im4j.core.template;

import dev.im4j.core.data.Conversation;

/**
 * Renders conversations to the text a model is trained on, recording which characters are template
 * text and which are message content.
 *
 * <p>Implementations are immutable and thread-safe. A template that cannot render a conversation
 * throws {@link TemplateException}; it never falls back to another format.
 */
public interface ChatTemplate {

  /**
   * Renders a whole conversation for training.
   *
   * @param conversation the messages
   * @param addGenerationPrompt whether to append the header that opens an assistant turn (for
   *     inference prompts)
   * @throws TemplateException if the template rejects the conversation or fails
   */
  RenderedConversation render(Conversation conversation, boolean addGenerationPrompt);

  /** A short name for messages and reports, e.g. {@code tulu} or {@code jinja}. */
  String name();
}
