package dev.im4j.core.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.core.data.Conversation;
import dev.im4j.core.data.Message;
import dev.im4j.core.data.ReadLimits;
import dev.im4j.core.mask.ExampleEncoder;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@link ChatTemplate#render(Conversation, boolean, int)}: a rendering longer than the caller's
 * bound fails with {@link RenderLimitException}; a Jinja template is stopped while it renders, and
 * renderings within the bound are exactly those without one.
 */
class RenderLimitTest {
  /** Writes each message's content 100,000 times: within the interpreter's own caps. */
  static final String RUNAWAY =
      "{%- for m in messages -%}{%- for i in range(100000) -%}{{ m['content'] }}"
          + "{%- endfor -%}{%- endfor -%}";

  private static final Clock FIXED =
      Clock.fixed(Instant.parse("2026-01-02T00:00:00Z"), ZoneOffset.UTC);

  private static final Conversation QA =
      Conversation.of(Message.user("Hi there"), Message.assistant("Hello"));

  private static String message(String template, String what, long length, int limit) {
    return "template '"
        + template
        + "' "
        + what.formatted(length)
        + ", more than the limit of "
        + limit
        + " rendered characters per example; either the template repeats text (check its loops"
        + " and repetitions) or the example is very long: raise the limit with"
        + " --max-rendered-chars (ExampleEncoder.withMaxRenderedChars) if the rendering is meant"
        + " to be this long";
  }

  @Test
  void aRunawayJinjaTemplateIsStoppedAtTheLimitNotAtTheInterpretersCaps() {
    JinjaChatTemplate runaway = JinjaChatTemplate.of(RUNAWAY, Map.of());
    Conversation forty =
        Conversation.of(Message.user("u".repeat(40)), Message.assistant("a".repeat(40)));
    // Within the interpreter's caps (10,000,000 characters, 1,000,000 iterations) it renders 8 M.
    assertEquals(8_000_000, runaway.render(forty, false).text().length());

    RenderLimitException e =
        assertThrows(RenderLimitException.class, () -> runaway.render(forty, false, 2_000_000));
    // Stopped at the first write past the bound: 50,000 writes of 40 characters fill it exactly.
    assertEquals(2_000_040, e.length());
    assertTrue(e.stopped());
    assertEquals(2_000_000, e.limit());
    assertEquals("jinja", e.templateName());
    assertEquals(
        message("jinja", "was stopped at %d rendered characters", 2_000_040, 2_000_000),
        e.getMessage());
  }

  @Test
  void theLimitStopsOutputWrittenThroughAFilterBlockWithoutWrappingIt() {
    JinjaChatTemplate upper =
        JinjaChatTemplate.of(
            "{% filter upper %}{% for i in range(1000) %}{{ messages[0]['content'] }}"
                + "{% endfor %}{% endfilter %}",
            Map.of());
    RenderLimitException e =
        assertThrows(RenderLimitException.class, () -> upper.render(QA, false, 100));
    assertEquals(8_000, e.length()); // the filter's whole result, one write
    assertEquals(
        message("jinja", "was stopped at %d rendered characters", 8_000, 100), e.getMessage());
  }

  @Test
  void theInterpretersOwnOutputCapStillAppliesAboveIt() {
    JinjaChatTemplate runaway = JinjaChatTemplate.of(RUNAWAY, Map.of());
    Conversation big = Conversation.of(Message.user("u".repeat(101)), Message.assistant("a"));
    TemplateException e =
        assertThrows(TemplateException.class, () -> runaway.render(big, false, 20_000_000));
    assertFalse(e instanceof RenderLimitException, e.toString());
    assertEquals(
        "string or output longer than 10000000 characters; the template produces too much text",
        e.getMessage());
  }

  @Test
  void builtInsAreMeasuredAfterRenderingAndExactAtTheBound() {
    for (BuiltinTemplate format : BuiltinTemplate.values()) {
      ChatTemplate template = format.create("</s>");
      int length = template.render(QA, false).text().length();
      assertEquals(
          template.render(QA, false).text(),
          template.render(QA, false, length).text(),
          format.name());
      RenderLimitException e =
          assertThrows(RenderLimitException.class, () -> template.render(QA, false, length - 1));
      assertFalse(e.stopped());
      assertEquals(length, e.length());
      assertEquals(
          message(format.shortName(), "rendered %d characters", length, length - 1),
          e.getMessage());
    }
  }

  @Test
  void theLargestDefaultExampleRendersUnchangedUnderTheDefaultBound() {
    // 1,000,000 content characters (the reader's default bound), in words, over five messages.
    String quarter = "word ".repeat(50_000);
    String eighth = "word ".repeat(25_000);
    assertEquals(ReadLimits.DEFAULT_MAX_EXAMPLE_CHARS, 3 * quarter.length() + 2 * eighth.length());
    Conversation largest =
        Conversation.of(
            Message.system(quarter),
            Message.user(quarter),
            Message.assistant(quarter),
            Message.user(eighth),
            Message.assistant(eighth));
    List<ChatTemplate> templates = new ArrayList<>();
    for (BuiltinTemplate format : BuiltinTemplate.values()) {
      templates.add(format.create("</s>"));
    }
    for (String model : List.of("qwen3", "llama3")) {
      templates.add(
          JinjaChatTemplate.fromTokenizerConfig(
                  Path.of(
                      System.getProperty("im4j.test.tokenizers"),
                      model,
                      "package",
                      "models",
                      "tokenizer_config.json"))
              .withClock(FIXED));
    }
    int bound = ExampleEncoder.DEFAULT_MAX_RENDERED_CHARS;
    for (ChatTemplate template : templates) {
      for (boolean generationPrompt : new boolean[] {false, true}) {
        RenderedConversation free = template.render(largest, generationPrompt);
        RenderedConversation bounded = template.render(largest, generationPrompt, bound);
        assertEquals(free.text(), bounded.text(), template.name());
        assertEquals(free.spans(), bounded.spans(), template.name());
      }
    }
  }

  @Test
  void aBoundBelowOneIsACallerMistake() {
    ChatTemplate tulu = BuiltinTemplate.TULU.create("</s>");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> tulu.render(QA, false, 0));
    assertEquals("maxChars must be >= 1 but was 0", e.getMessage());
    JinjaChatTemplate jinja = JinjaChatTemplate.of(RUNAWAY, Map.of());
    assertEquals(
        "maxChars must be >= 1 but was -1",
        assertThrows(IllegalArgumentException.class, () -> jinja.render(QA, false, -1))
            .getMessage());
  }

  @Test
  void theExceptionChecksItsArguments() {
    RenderLimitException e = new RenderLimitException("t", 11, false, 10);
    assertEquals("t", e.templateName());
    assertEquals(11, e.length());
    assertFalse(e.stopped());
    assertEquals(10, e.limit());
    assertEquals(message("t", "rendered %d characters", 11, 10), e.getMessage());
    assertThrows(
        IllegalArgumentException.class, () -> new RenderLimitException("t", 10, false, 10));
    assertThrows(IllegalArgumentException.class, () -> new RenderLimitException("t", 1, true, 0));
  }
}
