package dev.im4j.core.mask;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.im4j.core.data.Conversation;
import dev.im4j.core.data.Message;
import dev.im4j.core.data.Role;
import dev.im4j.core.template.BuiltinTemplate;
import dev.im4j.core.template.ChatTemplate;
import dev.im4j.core.template.RenderedConversation;
import dev.im4j.core.testing.WordTokenizer;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;

/** Masks written out by hand for small Tulu conversations and the word tokenizer. */
class MaskBuilderTest {
  private static final ChatTemplate TULU = BuiltinTemplate.TULU.create("</s>");
  private static final Conversation QA =
      Conversation.of(Message.user("Hi there"), Message.assistant("Hello"));

  // "<s>" + "<|user|>\nHi there\n<|assistant|>\nHello</s>" with the word tokenizer:
  //  0 <s>  1 <  2 |  3 user  4 |  5 >  6 \n  7 Hi  8 " "  9 there  10 \n  11 <  12 |
  //  13 assistant  14 |  15 >  16 \n  17 Hello  18 </s>
  private static final String CLASSES = "TTTTTTTUUUTTTTTTTAE";

  private static float[] weights(String classes, float template, float user, float output) {
    float[] w = new float[classes.length()];
    for (int i = 0; i < w.length; i++) {
      w[i] =
          switch (classes.charAt(i)) {
            case 'T' -> template;
            case 'U', 'S' -> user;
            default -> output;
          };
    }
    return w;
  }

  private static TokenizedExample encode(LossPolicy policy, Conversation c) {
    return policy.weigh(ExampleEncoder.of(TULU, WordTokenizer.llamaLike()).encode(c).example());
  }

  @Test
  void classesOfATuluExample() {
    TokenizedExample e = encode(LossPolicy.instructionModelling(), QA);
    StringBuilder actual = new StringBuilder();
    for (int i = 0; i < e.length(); i++) {
      actual.append("TSUAE".charAt(e.classAt(i).ordinal()));
    }
    assertEquals(CLASSES, actual.toString());
    assertEquals(1, e.idAt(0)); // exactly one BOS, added by the tokenizer
    assertEquals(2, e.idAt(18)); // </s> closes the answer
    assertEquals(1, e.turnAt(18));
  }

  @Test
  void weightsPerPolicy() {
    assertArrayEquals(weights(CLASSES, 0, 0, 1), encode(LossPolicy.outputOnly(), QA).weights());
    assertArrayEquals(
        weights(CLASSES, 0, 1, 1), encode(LossPolicy.instructionModelling(), QA).weights());
    assertArrayEquals(weights(CLASSES, 1, 1, 1), encode(LossPolicy.allTokens(), QA).weights());
    assertArrayEquals(
        weights(CLASSES, 0, 0.25f, 1), encode(LossPolicy.promptWeight(0.25f), QA).weights());
    // Reference code: all but BOS and the first header "<|user|>\n" (tokens 0..6).
    float[] reference = new float[CLASSES.length()];
    java.util.Arrays.fill(reference, 7, reference.length, 1f);
    assertArrayEquals(reference, encode(LossPolicy.referenceCodeCompatible(), QA).weights());
  }

  @Test
  void terminatorCanBeLeftUntrained() {
    float[] w = encode(LossPolicy.outputOnly().withTrainTerminator(false), QA).weights();
    assertEquals(1f, w[17]);
    assertEquals(0f, w[18]);
  }

  @Test
  void lastAssistantTurnOnlyTreatsEarlierAnswersAsPrompt() {
    Conversation two =
        Conversation.of(
            Message.user("a"), Message.assistant("b"), Message.user("c"), Message.assistant("d"));
    // <s> <|user|>\n a \n <|assistant|>\n b </s> \n <|user|>\n c \n <|assistant|>\n d </s>
    TokenizedExample it = encode(LossPolicy.outputOnly().withLastAssistantTurnOnly(true), two);
    TokenizedExample im =
        encode(LossPolicy.instructionModelling().withLastAssistantTurnOnly(true), two);
    for (int i = 0; i < it.length(); i++) {
      boolean lastTurn = it.turnAt(i) == 3;
      boolean content = it.classAt(i) != TokenClass.TEMPLATE;
      assertEquals(lastTurn ? 1f : 0f, it.weightAt(i), "IT token " + i);
      assertEquals(content ? 1f : 0f, im.weightAt(i), "IM token " + i);
    }
  }

  @Test
  void roleSelectionDropsSystemContent() {
    Conversation withSystem =
        Conversation.of(Message.system("sys"), Message.user("u"), Message.assistant("a"));
    TokenizedExample e =
        encode(
            LossPolicy.instructionModelling().withRoles(EnumSet.of(Role.USER, Role.ASSISTANT)),
            withSystem);
    for (int i = 0; i < e.length(); i++) {
      TokenClass c = e.classAt(i);
      float expected = c == TokenClass.USER || c.isOutput() ? 1f : 0f;
      assertEquals(expected, e.weightAt(i), "token " + i + " " + c);
    }
  }

  @Test
  void straddlingTokenTakesTheHighestContentClass() {
    // One token "xy" whose x is user content and y assistant content.
    RenderedConversation r =
        RenderedConversation.builder()
            .content("x", dev.im4j.core.template.SpanKind.USER, 0)
            .content("y", dev.im4j.core.template.SpanKind.ASSISTANT, 1)
            .build();
    var encoding =
        new dev.im4j.core.tokenizer.Encoding(new int[] {7}, new int[] {0}, new int[] {2});
    MaskBuilder.Result result =
        MaskBuilder.of(LossPolicy.outputOnly(), id -> false).build(r, 2, encoding);
    assertEquals(TokenClass.ASSISTANT, result.example().classAt(0));
    assertEquals(1, result.example().turnAt(0));
    assertEquals(1, result.missingTerminators());
  }

  @Test
  void duplicateBosIsRejected() {
    ChatTemplate bosTwice =
        new ChatTemplate() {
          @Override
          public RenderedConversation render(Conversation c, boolean prompt) {
            return RenderedConversation.builder()
                .template("<s><s>")
                .content(c.get(0).content(), dev.im4j.core.template.SpanKind.USER, 0)
                .build();
          }

          @Override
          public String name() {
            return "bos-twice";
          }
        };
    MaskException e =
        assertThrows(
            MaskException.class,
            () ->
                ExampleEncoder.of(bosTwice, WordTokenizer.llamaLike())
                    .encode(Conversation.of(Message.user("x"))));
    assertEquals(
        "the sequence starts with two BOS tokens (<s>); the template and the tokenizer both add one",
        e.getMessage());
  }

  @Test
  void templateWhosePromptIsNotAPrefixIsRejected() {
    ChatTemplate unstable =
        new ChatTemplate() {
          @Override
          public RenderedConversation render(Conversation c, boolean prompt) {
            RenderedConversation.Builder b = RenderedConversation.builder();
            b.template(c.size() > 1 ? "[long]" : "[short]");
            for (int i = 0; i < c.size(); i++) {
              b.content(c.get(i).content(), dev.im4j.core.template.SpanKind.of(c.get(i).role()), i);
            }
            return b.build();
          }

          @Override
          public String name() {
            return "unstable";
          }
        };
    MaskException e =
        assertThrows(
            MaskException.class,
            () -> ExampleEncoder.of(unstable, WordTokenizer.noBos()).encode(QA));
    assertEquals(
        "template 'unstable' renders the prompt for assistant message 1 differently from the same"
            + " turn inside the whole conversation (first difference at character 1): training"
            + " text would not match inference text",
        e.getMessage());
  }

  @Test
  void policyNamesAndValidation() {
    assertEquals(LossPolicy.outputOnly(), LossPolicy.fromName("it"));
    assertEquals(LossPolicy.instructionModelling(), LossPolicy.fromName("IM"));
    IllegalArgumentException bad =
        assertThrows(IllegalArgumentException.class, () -> LossPolicy.promptWeight(1.5f));
    assertEquals("promptWeight must be in [0, 1] but was 1.5", bad.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> LossPolicy.referenceCodeCompatible().withLastAssistantTurnOnly(true));
  }

  @Test
  void eachExampleIsTokenizedExactlyOnce() {
    int[] calls = {0};
    WordTokenizer words = WordTokenizer.llamaLike();
    dev.im4j.core.tokenizer.Tokenizer counting =
        new dev.im4j.core.tokenizer.Tokenizer() {
          @Override
          public dev.im4j.core.tokenizer.Encoding encode(String text, boolean add) {
            calls[0]++;
            return words.encode(text, add);
          }

          @Override
          public String decode(int[] ids, boolean skip) {
            return words.decode(ids, skip);
          }

          @Override
          public dev.im4j.core.tokenizer.SpecialTokens specialTokens() {
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
          public void close() {}
        };
    Conversation tenTurns =
        new Conversation(
            java.util.stream.IntStream.range(0, 20)
                .mapToObj(i -> i % 2 == 0 ? Message.user("q" + i) : Message.assistant("a" + i))
                .toList());
    ExampleEncoder.of(TULU, counting).encode(tenTurns);
    assertEquals(1, calls[0], "one tokenization of the whole rendering, none per turn");
  }

  @Test
  void aTemplateThatRendersNoContentIsAnError() {
    ChatTemplate noSpans =
        new ChatTemplate() {
          @Override
          public RenderedConversation render(Conversation c, boolean prompt) {
            return RenderedConversation.builder().template("everything is template").build();
          }

          @Override
          public String name() {
            return "opaque";
          }
        };
    MaskException e =
        assertThrows(
            MaskException.class,
            () -> ExampleEncoder.of(noSpans, WordTokenizer.llamaLike()).encode(QA));
    assertEquals(
        "template 'opaque' left 2 of 2 messages out of the rendering (no content span); their"
            + " tokens cannot be classified. Use a template that renders every message.",
        e.getMessage());
  }

  @Test
  void aBosWrittenByContentIsContentNotADuplicate() {
    // Alpaca starts with the system message; this one starts with the BOS text twice.
    Conversation c =
        Conversation.of(Message.system("<s><s>sys"), Message.user("q"), Message.assistant("a"));
    ClassifiedExample e =
        ExampleEncoder.of(BuiltinTemplate.ALPACA.create("</s>"), WordTokenizer.llamaLike())
            .encode(c)
            .example();
    assertEquals(1, e.idAt(0));
    assertEquals(1, e.idAt(1));
    assertEquals(TokenClass.SYSTEM, e.classAt(1));
  }
}
