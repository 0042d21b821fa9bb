package dev.im4j.core.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.core.data.Conversation;
import dev.im4j.core.data.Message;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Span layout of rendered conversations and loading templates from tokenizer_config.json. */
class JinjaChatTemplateTest {

  private static Path tokenizerConfig(String model) {
    return Path.of(
        System.getProperty("im4j.test.tokenizers"),
        model,
        "package",
        "models",
        "tokenizer_config.json");
  }

  private static RenderedConversation.Span lastContentSpan(RenderedConversation r, int message) {
    RenderedConversation.Span last = null;
    for (RenderedConversation.Span s : r.spans()) {
      if (s.messageIndex() == message) {
        last = s;
      }
    }
    assertTrue(last != null, "message " + message + " has a content span");
    return last;
  }

  @Test
  void spansOfASimpleTemplate() {
    JinjaChatTemplate t =
        JinjaChatTemplate.of(
            "{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}",
            Map.of("bos_token", "<s>"));
    RenderedConversation r =
        t.render(Conversation.of(Message.user("hi"), Message.assistant("yo")), false);
    assertEquals("<s><user>hi<assistant>yo", r.text());
    assertEquals(
        List.of(
            new RenderedConversation.Span(0, 9, SpanKind.TEMPLATE, -1),
            new RenderedConversation.Span(9, 11, SpanKind.USER, 0),
            new RenderedConversation.Span(11, 22, SpanKind.TEMPLATE, -1),
            new RenderedConversation.Span(22, 24, SpanKind.ASSISTANT, 1)),
        r.spans());
  }

  @Test
  void emptyContentIsAnchoredWhereItWasPlaced() {
    JinjaChatTemplate t =
        JinjaChatTemplate.of(
            "{% for m in messages %}{{ '[' + m.content | trim + ']' }}{% endfor %}", Map.of());
    RenderedConversation r =
        t.render(Conversation.of(Message.user(" \n "), Message.assistant("")), false);
    assertEquals("[][]", r.text());
    assertEquals(
        List.of(
            new RenderedConversation.Span(0, 1, SpanKind.TEMPLATE, -1),
            new RenderedConversation.Span(1, 1, SpanKind.USER, 0),
            new RenderedConversation.Span(1, 3, SpanKind.TEMPLATE, -1),
            new RenderedConversation.Span(3, 3, SpanKind.ASSISTANT, 1),
            new RenderedConversation.Span(3, 4, SpanKind.TEMPLATE, -1)),
        r.spans());
  }

  @Test
  void llama3EmptyAssistantEndsBeforeItsTerminator() {
    JinjaChatTemplate t = JinjaChatTemplate.fromTokenizerConfig(tokenizerConfig("llama3"));
    RenderedConversation r =
        t.render(Conversation.of(Message.user("Q"), Message.assistant("  ")), false);
    RenderedConversation.Span s = lastContentSpan(r, 1);
    assertEquals(0, s.length());
    assertTrue(r.text().startsWith("<|eot_id|>", s.end()), r.toString());
  }

  @Test
  void qwen3ThinkingOnlyAnswerEndsBeforeImEnd() {
    JinjaChatTemplate t = JinjaChatTemplate.fromTokenizerConfig(tokenizerConfig("qwen3"));
    RenderedConversation r =
        t.render(
            Conversation.of(Message.user("x"), Message.assistant("<think>\nmull\n</think>\n\n")),
            false);
    RenderedConversation.Span s = lastContentSpan(r, 1);
    assertTrue(r.text().startsWith("<|im_end|>", s.end()), r.toString());
    // The reasoning is content of the message; the think tags are template text.
    assertEquals("mull", r.text().substring(lastNonEmpty(r, 1).start(), lastNonEmpty(r, 1).end()));
  }

  private static RenderedConversation.Span lastNonEmpty(RenderedConversation r, int message) {
    RenderedConversation.Span last = null;
    for (RenderedConversation.Span s : r.spans()) {
      if (s.messageIndex() == message && s.length() > 0) {
        last = s;
      }
    }
    return last;
  }

  @Test
  void readsTemplateListsAndTokenObjects(@TempDir Path dir) throws IOException {
    Path config = dir.resolve("tokenizer_config.json");
    Files.writeString(
        config,
        "{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"TOOLS\"},"
            + " {\"name\": \"default\", \"template\": \"{{ bos_token }}{{ eos_token }}|{{ pad_token"
            + " is defined }}\"}],"
            + " \"bos_token\": {\"content\": \"<s>\", \"lstrip\": false},"
            + " \"eos_token\": \"</s>\", \"pad_token\": null}");
    JinjaChatTemplate t = JinjaChatTemplate.fromTokenizerConfig(config);
    assertEquals(Map.of("bos_token", "<s>", "eos_token", "</s>"), t.specialTokens());
    assertEquals("<s></s>|False", t.render(Conversation.of(Message.user("u")), false).text());
  }

  @Test
  void missingChatTemplateNamesTheFile() {
    Path llama2 = tokenizerConfig("llama2");
    TemplateException e =
        assertThrows(TemplateException.class, () -> JinjaChatTemplate.fromTokenizerConfig(llama2));
    assertTrue(e.getMessage().contains(llama2.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("chat_template"), e.getMessage());
  }

  @Test
  void unreadableConfigKeepsTheCause(@TempDir Path dir) throws IOException {
    Path bad = dir.resolve("tokenizer_config.json");
    Files.writeString(bad, "{ not json");
    TemplateException e =
        assertThrows(TemplateException.class, () -> JinjaChatTemplate.fromTokenizerConfig(bad));
    assertTrue(e.getMessage().contains(bad.toString()));
    assertTrue(e.getCause() instanceof IOException);
  }

  @Test
  void syntaxErrorsInConfigNameFileLineAndColumn(@TempDir Path dir) throws IOException {
    Path config = dir.resolve("tokenizer_config.json");
    Files.writeString(config, "{\"chat_template\": \"ok\\n{% if %}\"}");
    TemplateException e =
        assertThrows(TemplateException.class, () -> JinjaChatTemplate.fromTokenizerConfig(config));
    assertTrue(e.getMessage().contains(config.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("line 2, column 7"), e.getMessage());
  }

  @Test
  void rejectsBadSpecialTokenNames() {
    assertThrows(
        IllegalArgumentException.class, () -> JinjaChatTemplate.of("x", Map.of("a-b", "")));
    assertThrows(
        IllegalArgumentException.class, () -> JinjaChatTemplate.of("x", Map.of("messages", "")));
  }

  @Test
  void rendersConcurrently() throws Exception {
    JinjaChatTemplate t = JinjaChatTemplate.fromTokenizerConfig(tokenizerConfig("qwen3"));
    Conversation c =
        Conversation.of(
            Message.system("s"), Message.user("u"), Message.assistant("<think>r</think>a"));
    RenderedConversation expected = t.render(c, true);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<RenderedConversation>> results = new ArrayList<>();
      for (int i = 0; i < 64; i++) {
        results.add(pool.submit(() -> t.render(c, true)));
      }
      for (Future<RenderedConversation> f : results) {
        assertEquals(expected, f.get());
      }
    } finally {
      pool.shutdown();
    }
  }
}
