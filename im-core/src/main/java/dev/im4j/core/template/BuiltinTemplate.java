package dev.im4j.core.template;

import static com.google.common.base.Preconditions.checkNotNull;

import dev.im4j.core.data.Conversation;
import dev.im4j.core.data.Message;
import dev.im4j.core.data.Role;
import java.util.Locale;

/**
 * Chat formats built into im4j, written in Java with exact span bookkeeping.
 *
 * <p>Each constant {@link #create creates} a {@link ChatTemplate} for a given end-of-sequence token
 * text (used by the formats that close assistant turns with EOS).
 */
public enum BuiltinTemplate {
  /**
   * The Tulu format used by the paper (open-instruct): {@code <|system|>\n{content}\n}, {@code
   * <|user|>\n{content}\n}, {@code <|assistant|>\n{content}{eos}\n}; each content is stripped, and
   * so is the whole training string. The tokenizer adds BOS. A generation prompt appends {@code
   * <|assistant|>\n} to the unstripped messages, so it is a prefix of the training text.
   */
  TULU {
    @Override
    RenderedConversation render(Conversation conversation, boolean prompt, String eos) {
      RenderedConversation.Builder out = RenderedConversation.builder();
      for (int i = 0; i < conversation.size(); i++) {
        Message m = conversation.get(i);
        out.template("<|" + m.role().wireName() + "|>\n");
        out.content(PythonText.strip(m.content()), SpanKind.of(m.role()), i);
        out.template(m.role() == Role.ASSISTANT ? eos + "\n" : "\n");
      }
      if (prompt) {
        // Not stripped: the prompt must be a prefix of the stripped training text.
        return out.template("<|assistant|>\n").build();
      }
      return out.build().stripped();
    }
  },

  /**
   * ChatML: {@code <|im_start|>{role}\n{content}<|im_end|>\n} per message, content verbatim; the
   * generation prompt is {@code <|im_start|>assistant\n}. No BOS.
   */
  CHATML {
    @Override
    RenderedConversation render(Conversation conversation, boolean prompt, String eos) {
      RenderedConversation.Builder out = RenderedConversation.builder();
      for (int i = 0; i < conversation.size(); i++) {
        Message m = conversation.get(i);
        out.template("<|im_start|>" + m.role().wireName() + "\n");
        out.content(m.content(), SpanKind.of(m.role()), i);
        out.template("<|im_end|>\n");
      }
      if (prompt) {
        out.template("<|im_start|>assistant\n");
      }
      return out.build();
    }
  },

  /**
   * Llama 3: {@code <|begin_of_text|>}, then {@code
   * <|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>} per message with content
   * stripped. Unlike the original Hugging Face template, the assistant header is appended only for
   * a generation prompt.
   */
  LLAMA3 {
    @Override
    RenderedConversation render(Conversation conversation, boolean prompt, String eos) {
      RenderedConversation.Builder out = RenderedConversation.builder();
      out.template("<|begin_of_text|>");
      for (int i = 0; i < conversation.size(); i++) {
        Message m = conversation.get(i);
        out.template("<|start_header_id|>" + m.role().wireName() + "<|end_header_id|>\n\n");
        out.content(PythonText.strip(m.content()), SpanKind.of(m.role()), i);
        out.template("<|eot_id|>");
      }
      if (prompt) {
        out.template("<|start_header_id|>assistant<|end_header_id|>\n\n");
      }
      return out.build();
    }
  },

  /**
   * Stanford Alpaca's prompt: a system message (or Alpaca's default preamble) followed by blank
   * line, then per exchange {@code ### Instruction:\n{user}\n\n### Response:\n{assistant}{eos}},
   * exchanges separated by a blank line. The tokenizer adds BOS. Content is verbatim.
   */
  ALPACA {
    @Override
    RenderedConversation render(Conversation conversation, boolean prompt, String eos) {
      RenderedConversation.Builder out = RenderedConversation.builder();
      int first = 0;
      if (conversation.get(0).role() == Role.SYSTEM) {
        out.content(conversation.get(0).content(), SpanKind.SYSTEM, 0);
        out.template("\n\n");
        first = 1;
      } else {
        out.template(ALPACA_PREAMBLE + "\n\n");
      }
      boolean separate = false;
      for (int i = first; i < conversation.size(); i++) {
        Message m = conversation.get(i);
        switch (m.role()) {
          case SYSTEM ->
              throw new TemplateException(
                  "alpaca: a system message is allowed only first, but message "
                      + i
                      + " is a system message");
          case USER -> {
            out.template((separate ? "\n\n" : "") + "### Instruction:\n");
            out.content(m.content(), SpanKind.USER, i);
          }
          case ASSISTANT -> {
            out.template("\n\n### Response:\n");
            out.content(m.content(), SpanKind.ASSISTANT, i);
            out.template(eos);
          }
        }
        separate = true;
      }
      if (prompt) {
        out.template("\n\n### Response:\n");
      }
      return out.build();
    }
  };

  /** Stanford Alpaca's default instruction preamble. */
  public static final String ALPACA_PREAMBLE =
      "Below is an instruction that describes a task. "
          + "Write a response that appropriately completes the request.";

  /** The end-of-sequence text used when a tokenizer declares none: Llama-2's {@code </s>}. */
  public static final String DEFAULT_EOS = "</s>";

  abstract RenderedConversation render(Conversation conversation, boolean prompt, String eos);

  /** The template's lower-case name, e.g. {@code tulu}, as {@link #fromName} takes it. */
  public String shortName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * Parses a built-in template name, case-insensitively.
   *
   * @throws IllegalArgumentException naming the allowed names
   */
  public static BuiltinTemplate fromName(String name) {
    for (BuiltinTemplate t : values()) {
      if (t.shortName().equalsIgnoreCase(name)) {
        return t;
      }
    }
    throw new IllegalArgumentException(
        "unknown built-in template '" + name + "'; allowed: tulu, chatml, llama3, alpaca");
  }

  /**
   * A chat template of this format that closes assistant turns with {@code eosToken} where the
   * format uses EOS (Tulu, Alpaca).
   */
  public ChatTemplate create(String eosToken) {
    checkNotNull(eosToken, "eosToken");
    BuiltinTemplate format = this;
    return new ChatTemplate() {
      @Override
      public RenderedConversation render(Conversation conversation, boolean addGenerationPrompt) {
        return format.render(conversation, addGenerationPrompt, eosToken);
      }

      @Override
      public String name() {
        return format.shortName();
      }

      @Override
      public String toString() {
        return "BuiltinTemplate." + format.name() + "(eos=" + eosToken + ")";
      }
    };
  }
}
