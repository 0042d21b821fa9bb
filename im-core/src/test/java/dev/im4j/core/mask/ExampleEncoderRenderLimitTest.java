package dev.im4j.core.mask;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.core.data.Conversation;
import dev.im4j.core.data.Message;
import dev.im4j.core.data.ReadLimits;
import dev.im4j.core.template.BuiltinTemplate;
import dev.im4j.core.template.ChatTemplate;
import dev.im4j.core.template.JinjaChatTemplate;
import dev.im4j.core.template.RenderLimitException;
import dev.im4j.core.testing.WordTokenizer;
import dev.im4j.core.tokenizer.Encoding;
import dev.im4j.core.tokenizer.SpecialTokens;
import dev.im4j.core.tokenizer.Tokenizer;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The encoder's bound on rendered characters: every rendering it makes is bounded, a runaway
 * template fails before anything is tokenized, and examples within the bound encode as before.
 */
class ExampleEncoderRenderLimitTest {
  private static final ChatTemplate TULU = BuiltinTemplate.TULU.create("</s>");
  private static final Conversation QA =
      Conversation.of(Message.user("Hi there"), Message.assistant("Hello"));

  /** The word tokenizer, counting the texts it is asked to encode. */
  private static final class CountingTokenizer implements Tokenizer {
    private final WordTokenizer words = WordTokenizer.llamaLike();
    int encodeCalls;

    @Override
    public Encoding encode(String text, boolean addSpecialTokens) {
      encodeCalls++;
      return words.encode(text, addSpecialTokens);
    }

    @Override
    public String decode(int[] ids, boolean skipSpecialTokens) {
      return words.decode(ids, skipSpecialTokens);
    }

    @Override
    public SpecialTokens specialTokens() {
      return words.specialTokens();
    }

    @Override
    public boolean isSpecial(int id) {
      return words.isSpecial(id);
    }

    @Override
    public int vocabSize() {
      return words.vocabSize();
    }

    @Override
    public void close() {
      words.close();
    }
  }

  @Test
  void theDefaultIsTwiceTheReadersContentBoundAndWithReturnsACopy() {
    assertEquals(2_000_000, ExampleEncoder.DEFAULT_MAX_RENDERED_CHARS);
    assertEquals(
        2 * ReadLimits.DEFAULT_MAX_EXAMPLE_CHARS, ExampleEncoder.DEFAULT_MAX_RENDERED_CHARS);
    ExampleEncoder encoder = ExampleEncoder.of(TULU, WordTokenizer.llamaLike());
    assertEquals(ExampleEncoder.DEFAULT_MAX_RENDERED_CHARS, encoder.maxRenderedChars());
    ExampleEncoder bounded = encoder.withMaxRenderedChars(5);
    assertEquals(5, bounded.maxRenderedChars());
    assertEquals(ExampleEncoder.DEFAULT_MAX_RENDERED_CHARS, encoder.maxRenderedChars());
    assertEquals(encoder.tokenizer(), bounded.tokenizer());
    assertEquals(encoder.template(), bounded.template());
  }

  @Test
  void aJinjaTemplateThatRepeatsContentFailsFastBeforeTokenizing() {
    // Each content written 100,000 times: 8,000,000 characters, within the interpreter's caps.
    JinjaChatTemplate runaway =
        JinjaChatTemplate.of(
            "{%- for m in messages -%}{%- for i in range(100000) -%}{{ m['content'] }}"
                + "{%- endfor -%}{%- endfor -%}",
            Map.of());
    Conversation forty =
        Conversation.of(Message.user("u".repeat(40)), Message.assistant("a".repeat(40)));
    CountingTokenizer tokenizer = new CountingTokenizer();
    ExampleEncoder encoder = ExampleEncoder.of(runaway, tokenizer);

    RenderLimitException e = assertThrows(RenderLimitException.class, () -> encoder.encode(forty));
    assertEquals(0, tokenizer.encodeCalls);
    assertTrue(e.stopped());
    assertEquals(2_000_040, e.length()); // stopped at the first write past 2,000,000
    assertEquals(
        "template 'jinja' was stopped at 2000040 rendered characters, more than the limit of"
            + " 2000000 rendered characters per example; either the template repeats text (check"
            + " its loops and repetitions) or the example is very long: raise the limit with"
            + " --max-rendered-chars (ExampleEncoder.withMaxRenderedChars) if the rendering is"
            + " meant to be this long",
        e.getMessage());

    RenderLimitException lower =
        assertThrows(
            RenderLimitException.class, () -> encoder.withMaxRenderedChars(1_000).encode(forty));
    assertEquals(1_000, lower.limit());
    assertEquals(1_040, lower.length());
    assertEquals(0, tokenizer.encodeCalls);
  }

  @Test
  void promptsOfThePrefixRuleAndForInferenceAreBoundedToo() {
    // Small for training; only the generation prompt runs away.
    JinjaChatTemplate template =
        JinjaChatTemplate.of(
            "{%- for m in messages -%}<{{ m['role'] }}>{{ m['content'] }}</s>{%- endfor -%}"
                + "{%- if add_generation_prompt -%}<assistant>"
                + "{%- for i in range(100000) -%}0123456789{%- endfor -%}{%- endif -%}",
            Map.of());
    CountingTokenizer tokenizer = new CountingTokenizer();
    ExampleEncoder encoder = ExampleEncoder.of(template, tokenizer).withMaxRenderedChars(10_000);
    assertTrue(template.render(QA, false, 10_000).text().length() < 100);

    // The prefix rule's prompt for the answer: "<user>Hi there</s><assistant>" (29 characters),
    // stopped at the first write of ten that passes 10,000: 29 + 998 * 10.
    RenderLimitException prefix =
        assertThrows(RenderLimitException.class, () -> encoder.encode(QA));
    assertEquals(10_009, prefix.length());
    assertEquals(10_000, prefix.limit());
    // The inference prompt after the answer: 49 characters before the loop, then 996 writes.
    RenderLimitException prompt =
        assertThrows(RenderLimitException.class, () -> encoder.encodePrompt(QA));
    assertEquals(10_009, prompt.length());
    assertEquals(0, tokenizer.encodeCalls);
  }

  @Test
  void builtInsEncodeAsBeforeUpToTheBoundAndFailOneCharacterBelow() {
    for (BuiltinTemplate format : BuiltinTemplate.values()) {
      ChatTemplate template = format.create("</s>");
      int length = template.render(QA, false).text().length();
      ExampleEncoder plain = ExampleEncoder.of(template, WordTokenizer.llamaLike());
      TokenizedExample expected =
          LossPolicy.instructionModelling().weigh(plain.encode(QA).example());
      TokenizedExample atBound =
          LossPolicy.instructionModelling()
              .weigh(plain.withMaxRenderedChars(length).encode(QA).example());
      assertArrayEquals(expected.ids(), atBound.ids(), format.name());
      assertArrayEquals(expected.weights(), atBound.weights(), format.name());

      RenderLimitException e =
          assertThrows(
              RenderLimitException.class,
              () -> plain.withMaxRenderedChars(length - 1).encode(QA),
              format.name());
      assertFalse(e.stopped());
      assertEquals(length, e.length());
      assertEquals(format.shortName(), e.templateName());
    }
  }

  @Test
  void aBoundBelowOneIsACallerMistake() {
    ExampleEncoder encoder = ExampleEncoder.of(TULU, WordTokenizer.llamaLike());
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> encoder.withMaxRenderedChars(0));
    assertEquals(
        "maxRenderedChars must be >= 1 but was 0; the default is 2000000 characters per rendering",
        e.getMessage());
  }
}
