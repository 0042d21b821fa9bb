package dev.im4j.core.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.im4j.core.data.Conversation;
import dev.im4j.core.data.Message;
import dev.im4j.core.template.RenderedConversation.Span;
import java.util.List;
import org.junit.jupiter.api.Test;

class BuiltinTemplateTest {
  private static final Conversation CHAT =
      Conversation.of(
          Message.system("  Be brief. "),
          Message.user("What is 2+2?\n"),
          Message.assistant(" 4"),
          Message.user("And 3+3?"),
          Message.assistant("6\n\n"));

  @Test
  void tuluIsByteExactWithStrippedContentAndString() {
    RenderedConversation r = BuiltinTemplate.TULU.create("</s>").render(CHAT, false);
    assertEquals(
        "<|system|>\nBe brief.\n<|user|>\nWhat is 2+2?\n<|assistant|>\n4</s>\n"
            + "<|user|>\nAnd 3+3?\n<|assistant|>\n6</s>",
        r.text());
    assertEquals(
        List.of(
            new Span(0, 11, SpanKind.TEMPLATE, -1),
            new Span(11, 20, SpanKind.SYSTEM, 0),
            new Span(20, 30, SpanKind.TEMPLATE, -1),
            new Span(30, 42, SpanKind.USER, 1),
            new Span(42, 57, SpanKind.TEMPLATE, -1),
            new Span(57, 58, SpanKind.ASSISTANT, 2),
            new Span(58, 72, SpanKind.TEMPLATE, -1),
            new Span(72, 80, SpanKind.USER, 3),
            new Span(80, 95, SpanKind.TEMPLATE, -1),
            new Span(95, 96, SpanKind.ASSISTANT, 4),
            new Span(96, 100, SpanKind.TEMPLATE, -1)),
        r.spans());
  }

  @Test
  void tuluGenerationPromptKeepsItsNewline() {
    Conversation prompt = Conversation.of(Message.user(" Hi "));
    assertEquals(
        "<|user|>\nHi\n<|assistant|>\n",
        BuiltinTemplate.TULU.create("</s>").render(prompt, true).text());
  }

  @Test
  void emptyContentLeavesAnAnchor() {
    RenderedConversation r =
        BuiltinTemplate.TULU
            .create("</s>")
            .render(Conversation.of(Message.user("q"), Message.assistant("   ")), false);
    assertEquals("<|user|>\nq\n<|assistant|>\n</s>", r.text());
    assertEquals(new Span(25, 25, SpanKind.ASSISTANT, 1), r.spans().get(3));
  }

  @Test
  void chatmlKeepsContentVerbatim() {
    RenderedConversation r =
        BuiltinTemplate.CHATML
            .create("</s>")
            .render(Conversation.of(Message.user(" a "), Message.assistant("b\n")), true);
    assertEquals(
        "<|im_start|>user\n a <|im_end|>\n<|im_start|>assistant\nb\n<|im_end|>\n"
            + "<|im_start|>assistant\n",
        r.text());
  }

  @Test
  void llama3WritesBosAndStripsContent() {
    RenderedConversation r =
        BuiltinTemplate.LLAMA3
            .create("</s>")
            .render(Conversation.of(Message.user(" a "), Message.assistant("b\n")), false);
    assertEquals(
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\na<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\nb<|eot_id|>",
        r.text());
  }

  @Test
  void alpacaUsesThePreambleOrTheSystemMessage() {
    ChatTemplate alpaca = BuiltinTemplate.ALPACA.create("</s>");
    assertEquals(
        BuiltinTemplate.ALPACA_PREAMBLE + "\n\n### Instruction:\nq\n\n### Response:\na</s>",
        alpaca.render(Conversation.of(Message.user("q"), Message.assistant("a")), false).text());
    assertEquals(
        "S\n\n### Instruction:\nq\n\n### Response:\na</s>\n\n### Instruction:\nr\n\n### Response:\n",
        alpaca
            .render(
                Conversation.of(
                    Message.system("S"),
                    Message.user("q"),
                    Message.assistant("a"),
                    Message.user("r")),
                true)
            .text());
    TemplateException late =
        assertThrows(
            TemplateException.class,
            () ->
                alpaca.render(
                    Conversation.of(Message.user("q"), Message.system("S"), Message.assistant("a")),
                    false));
    assertEquals(
        "alpaca: a system message is allowed only first, but message 1 is a system message",
        late.getMessage());
  }

  @Test
  void namesParseCaseInsensitively() {
    assertEquals(BuiltinTemplate.CHATML, BuiltinTemplate.fromName("ChatML"));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> BuiltinTemplate.fromName("vicuna"));
    assertEquals(
        "unknown built-in template 'vicuna'; allowed: tulu, chatml, llama3, alpaca",
        e.getMessage());
  }
}
