package dev.im4j.core.mask;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import dev.im4j.core.data.Conversation;
import dev.im4j.core.data.DatasetRecord;
import dev.im4j.core.data.Example;
import dev.im4j.core.data.Message;
import dev.im4j.core.data.PlainText;
import dev.im4j.core.data.ReadLimits;
import dev.im4j.core.data.Role;
import dev.im4j.core.template.ChatTemplate;
import dev.im4j.core.template.RenderLimitException;
import dev.im4j.core.template.RenderedConversation;
import dev.im4j.core.template.TemplateException;
import dev.im4j.core.tokenizer.Encoding;
import dev.im4j.core.tokenizer.Tokenizer;
import java.util.List;

/**
 * Turns a conversation into a classified example: render once, tokenize once, classify every token
 * ({@link ClassifiedExample}). Weights are not made here: a {@link LossPolicy} makes them with
 * {@link LossPolicy#weigh}, once, where the policy is decided (the trainer, {@code prepare}, an
 * evaluation).
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
 * <p>Plain text ({@link PlainText}) has no template: {@link #encode(PlainText)} tokenizes it with
 * the tokenizer's added special tokens (a BOS where the tokenizer adds one) and appends the EOS
 * token, as TRL and Hugging Face's language-modelling recipes do, so that packed documents are
 * separated and the model learns where a document ends. Its tokens are {@link TokenClass#TEXT},
 * trained under every policy; an added BOS is {@link TokenClass#TEMPLATE} (it is never a target).
 *
 * <p>Length rule: every rendering (the whole conversation, each prompt of the prefix rule, {@link
 * #encodePrompt}) may have at most {@link #maxRenderedChars()} characters, {@link
 * #DEFAULT_MAX_RENDERED_CHARS} unless set with {@link #withMaxRenderedChars}; a longer one fails
 * with {@link RenderLimitException} before anything is tokenized, and a Jinja template is stopped
 * while it renders. This bounds what a template can make of an example whose content the reader has
 * already bounded ({@link ReadLimits}).
 *
 * <p>Immutable; thread-safe if the template and tokenizer are.
 */
public final class ExampleEncoder {
  /**
   * Default bound on the characters of one rendering: 2,000,000, twice the reader's default content
   * bound ({@link ReadLimits#DEFAULT_MAX_EXAMPLE_CHARS}).
   *
   * <p>Why this value: a chat template writes each message's content once plus short text of its
   * own (role headers, separators, an optional default system prompt), so a real example renders to
   * little more than its content; twice the content bound leaves room for a template that writes
   * content twice or escapes it (a {@code tojson} of text full of quotes) on the largest example
   * the reader passes. A template that loops or repeats content without bound, which the
   * interpreter's own caps (10,000,000 characters per string or output, 1,000,000 loop iterations)
   * allow to make megabytes from a short row, is stopped here, before the tokenizer, whose cost is
   * per token (about 150 bytes of Java heap and a few microseconds per token, see {@link
   * ReadLimits#DEFAULT_MAX_EXAMPLE_CHARS}): a rendering at this bound tokenizes in a few seconds.
   * An example near a raised content bound needs this bound raised too.
   */
  public static final int DEFAULT_MAX_RENDERED_CHARS = 2 * ReadLimits.DEFAULT_MAX_EXAMPLE_CHARS;

  private final ChatTemplate template;
  private final Tokenizer tokenizer;
  private final MaskBuilder maskBuilder;
  private final int maxRenderedChars;

  private ExampleEncoder(
      ChatTemplate template, Tokenizer tokenizer, MaskBuilder maskBuilder, int maxRenderedChars) {
    this.template = template;
    this.tokenizer = tokenizer;
    this.maskBuilder = maskBuilder;
    this.maxRenderedChars = maxRenderedChars;
  }

  /** An encoder with the default {@link #DEFAULT_MAX_RENDERED_CHARS bound on renderings}. */
  public static ExampleEncoder of(ChatTemplate template, Tokenizer tokenizer) {
    checkNotNull(template, "template");
    checkNotNull(tokenizer, "tokenizer");
    return new ExampleEncoder(
        template,
        tokenizer,
        MaskBuilder.of(LossPolicy.NONE, tokenizer::isSpecial),
        DEFAULT_MAX_RENDERED_CHARS);
  }

  /**
   * What {@link #encode} made of a conversation.
   *
   * @param example the classified tokens
   * @param missingTerminators assistant turns not followed by a special end-of-turn token (no
   *     terminator can be trained for them)
   */
  public record Result(ClassifiedExample example, int missingTerminators) {}

  /**
   * This encoder with renderings bounded to {@code maxRenderedChars} characters (UTF-16 units); on
   * the command line {@code --max-rendered-chars}.
   *
   * @throws IllegalArgumentException if {@code maxRenderedChars < 1}
   */
  public ExampleEncoder withMaxRenderedChars(int maxRenderedChars) {
    checkArgument(
        maxRenderedChars >= 1,
        "maxRenderedChars must be >= 1 but was %s; the default is %s characters per rendering",
        maxRenderedChars,
        DEFAULT_MAX_RENDERED_CHARS);
    return new ExampleEncoder(template, tokenizer, maskBuilder, maxRenderedChars);
  }

  /** The most characters one rendering may have. */
  public int maxRenderedChars() {
    return maxRenderedChars;
  }

  public ChatTemplate template() {
    return template;
  }

  public Tokenizer tokenizer() {
    return tokenizer;
  }

  /**
   * Renders, tokenizes and classifies one conversation.
   *
   * @throws MaskException if the template breaks the prefix rule, BOS is duplicated, or a message
   *     is missing from the rendering
   * @throws RenderLimitException if a rendering passes {@link #maxRenderedChars()}; nothing has
   *     been tokenized then
   * @throws dev.im4j.core.template.TemplateException if the template fails
   */
  public Result encode(Conversation conversation) {
    RenderedConversation rendered = template.render(conversation, false, maxRenderedChars);
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
    return new Result(ClassifiedExample.adopt(result.example()), result.missingTerminators());
  }

  /**
   * Encodes either kind of example: {@link #encode(Conversation)} or {@link #encode(PlainText)}.
   */
  public Result encode(Example example) {
    return example instanceof Conversation conversation
        ? encode(conversation)
        : encode((PlainText) example);
  }

  /**
   * Tokenizes and classifies a plain-text document: the tokenizer's added tokens ({@link
   * TokenClass#TEMPLATE}), the text, then the tokenizer's EOS unless the encoding already ends with
   * it (all {@link TokenClass#TEXT}, turn 0). A tokenizer without an EOS token gets none appended.
   * The rendering bound does not apply (there is no template); the reader's content bound does.
   */
  public Result encode(PlainText text) {
    Encoding encoding = tokenizer.encode(text.text(), true);
    int n = encoding.length();
    int eos = tokenizer.specialTokens().eosId().orElse(-1); // -1: the tokenizer has none
    boolean appendEos = eos >= 0 && (n == 0 || encoding.id(n - 1) != eos);
    int length = appendEos ? n + 1 : n;
    int[] ids = new int[length];
    byte[] classes = new byte[length];
    int[] turns = new int[length];
    for (int i = 0; i < n; i++) {
      ids[i] = encoding.id(i);
      boolean added = encoding.start(i) == encoding.end(i) && ids[i] != eos;
      classes[i] = (byte) (added ? TokenClass.TEMPLATE : TokenClass.TEXT).ordinal();
      turns[i] = added ? -1 : 0;
    }
    if (appendEos) {
      ids[n] = eos;
      classes[n] = (byte) TokenClass.TEXT.ordinal();
    }
    return new Result(ClassifiedExample.of(ids, classes, turns), 0);
  }

  /**
   * Encodes a dataset record's example; a template or mask failure becomes a {@link
   * dev.im4j.core.data.DatasetException} naming the record's file and line.
   */
  public Result encode(DatasetRecord record) {
    try {
      return encode(record.example());
    } catch (MaskException | TemplateException e) {
      throw record.error(e.getMessage(), e);
    }
  }

  /**
   * Token ids of the inference prompt for {@code conversation} (with the generation prompt).
   *
   * @throws RenderLimitException if the rendering passes {@link #maxRenderedChars()}
   */
  public int[] encodePrompt(Conversation conversation) {
    return tokenize(template.render(conversation, true, maxRenderedChars)).ids();
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
      String prompt =
          template.render(new Conversation(messages.subList(0, k)), true, maxRenderedChars).text();
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
