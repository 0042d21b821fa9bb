package dev.im4j.core.mask;

import static com.google.common.base.Preconditions.checkNotNull;

import dev.im4j.core.data.Conversation;
import dev.im4j.core.data.Message;
import dev.im4j.core.data.Role;
import dev.im4j.core.template.ChatTemplate;
import dev.im4j.core.template.RenderedConversation;
import dev.im4j.core.tokenizer.Encoding;
import dev.im4j.core.tokenizer.Tokenizer;
import java.util.List;

/**
 * Turns a conversation into a training example: render once, tokenize once, mask.
 *
 * <p>BOS rule (exactly one BOS, as at inference): if the rendered text already starts with the
 * tokenizer's BOS text (Llama-3's template writes {@code <|begin_of_text|>}), the text is encoded
 * without the tokenizer's added special tokens; otherwise the tokenizer's post-processor may add
 * them (Llama-2 adds {@code <s>}). {@link #encodePrompt} applies the same rule, so training ids
 * equal inference ids for the same text.
 *
 * <p>Prefix rule: the rendering up to each assistant turn, as a generation prompt, must be a string
 * prefix of the whole rendering; otherwise the model would be trained on text it never sees at
 * inference, and encoding fails with {@link MaskException}.
 *
 * <p>Thread-safe if the template and tokenizer are.
 */
public final class ExampleEncoder {
  private final ChatTemplate template;
  private final Tokenizer tokenizer;
  private final MaskBuilder maskBuilder;

  private ExampleEncoder(ChatTemplate template, Tokenizer tokenizer, LossPolicy policy) {
    this.template = checkNotNull(template, "template");
    this.tokenizer = checkNotNull(tokenizer, "tokenizer");
    this.maskBuilder = MaskBuilder.of(policy, tokenizer::isSpecial);
  }

  public static ExampleEncoder of(ChatTemplate template, Tokenizer tokenizer, LossPolicy policy) {
    return new ExampleEncoder(template, tokenizer, policy);
  }

  public ChatTemplate template() {
    return template;
  }

  public Tokenizer tokenizer() {
    return tokenizer;
  }

  public LossPolicy policy() {
    return maskBuilder.policy();
  }

  /**
   * Renders, tokenizes and masks one conversation.
   *
   * @throws MaskException if the template breaks the prefix rule, BOS is duplicated, or a message
   *     is missing from the rendering
   * @throws dev.im4j.core.template.TemplateException if the template fails
   */
  public MaskBuilder.Result encode(Conversation conversation) {
    RenderedConversation rendered = template.render(conversation, false);
    checkPrefixes(conversation, rendered.text());
    Encoding encoding = tokenize(rendered);
    MaskBuilder.Result result = maskBuilder.build(rendered, conversation.size(), encoding);
    if (result.unrenderedMessages() > 0) {
      throw new MaskException(
          "template '"
              + template.name()
              + "' left "
              + result.unrenderedMessages()
              + " of "
              + conversation.size()
              + " messages out of the rendering (no content span); their tokens cannot be"
              + " classified. Use a template that renders every message.");
    }
    return result;
  }

  /** Token ids of the inference prompt for {@code conversation} (with the generation prompt). */
  public int[] encodePrompt(Conversation conversation) {
    return tokenize(template.render(conversation, true)).ids();
  }

  /**
   * Tokenizes a rendering under the BOS rule.
   *
   * @throws MaskException if the template and the tokenizer both put a BOS first (a BOS written by
   *     message content is content, and allowed)
   */
  public Encoding tokenize(RenderedConversation rendered) {
    String text = rendered.text();
    var bos = tokenizer.specialTokens().bos();
    boolean rendersBos = bos.isPresent() && text.startsWith(bos.get());
    Encoding encoding = tokenizer.encode(text, !rendersBos);
    if (bos.isPresent() && encoding.length() >= 2) {
      int bosId = tokenizer.specialTokens().bosId().getAsInt();
      if (encoding.id(0) == bosId
          && encoding.id(1) == bosId
          && !isContent(rendered, encoding.start(1), encoding.end(1))) {
        throw new MaskException(
            "the sequence starts with two BOS tokens ("
                + bos.get()
                + "); the template and the tokenizer both add one");
      }
    }
    return encoding;
  }

  private static boolean isContent(RenderedConversation rendered, int start, int end) {
    for (RenderedConversation.Span span : rendered.spans()) {
      if (span.kind().isContent() && span.start() < end && start < span.end()) {
        return true;
      }
    }
    return false;
  }

  private void checkPrefixes(Conversation conversation, String whole) {
    List<Message> messages = conversation.messages();
    for (int k = 1; k < messages.size(); k++) {
      if (messages.get(k).role() != Role.ASSISTANT) {
        continue;
      }
      String prompt = template.render(new Conversation(messages.subList(0, k)), true).text();
      if (!whole.startsWith(prompt)) {
        int at = 0;
        int common = Math.min(prompt.length(), whole.length());
        while (at < common && prompt.charAt(at) == whole.charAt(at)) {
          at++;
        }
        throw new MaskException(
            "template '"
                + template.name()
                + "' renders the prompt for assistant message "
                + k
                + " differently from the same turn inside the whole conversation (first"
                + " difference at character "
                + at
                + "): training text would not match inference text");
      }
    }
  }
}
