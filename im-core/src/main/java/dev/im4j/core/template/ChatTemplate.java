package dev.im4j.core.template;

import static com.google.common.base.Preconditions.checkArgument;

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

  /**
   * Renders like {@link #render(Conversation, boolean)}, but fails if the text has more than {@code
   * maxChars} characters (UTF-16 units), so that no caller tokenizes a runaway rendering. The
   * default renders, then measures; a template that can stop early overrides it ({@link
   * JinjaChatTemplate} stops as soon as its output passes the bound).
   *
   * @param maxChars the most characters the text may have, {@code >= 1}
   * @throws RenderLimitException if the text has (or would have) more than {@code maxChars}
   *     characters
   * @throws TemplateException if the template rejects the conversation or fails
   * @throws IllegalArgumentException if {@code maxChars < 1}
   */
  default RenderedConversation render(
      Conversation conversation, boolean addGenerationPrompt, int maxChars) {
    checkArgument(maxChars >= 1, "maxChars must be >= 1 but was %s", maxChars);
    RenderedConversation rendered = render(conversation, addGenerationPrompt);
    int length = rendered.text().length();
    if (length > maxChars) {
      throw new RenderLimitException(name(), length, false, maxChars);
    }
    return rendered;
  }

  /** A short name for messages and reports, e.g. {@code tulu} or {@code jinja}. */
  String name();
}
