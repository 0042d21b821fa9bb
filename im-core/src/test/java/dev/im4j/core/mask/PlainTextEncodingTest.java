package dev.im4j.core.mask;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.im4j.core.data.DatasetRecord;
import dev.im4j.core.data.PlainText;
import dev.im4j.core.data.Role;
import dev.im4j.core.template.BuiltinTemplate;
import dev.im4j.core.testing.WordTokenizer;
import java.util.List;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.Chars;
import net.jqwik.api.constraints.StringLength;
import org.junit.jupiter.api.Test;

/**
 * Plain text is encoded without a template: the tokenizer's added BOS (template class), the text,
 * then EOS, all text class; every policy trains the text and its EOS.
 */
class PlainTextEncodingTest {
  private static final byte T = (byte) TokenClass.TEMPLATE.ordinal();
  private static final byte X = (byte) TokenClass.TEXT.ordinal();

  private static ExampleEncoder encoder(WordTokenizer tokenizer) {
    return ExampleEncoder.of(BuiltinTemplate.TULU.create("</s>"), tokenizer);
  }

  @Test
  void bosIsTemplateTextAndTheAppendedEosAreText() {
    WordTokenizer tokenizer = WordTokenizer.llamaLike();
    ExampleEncoder.Result result = encoder(tokenizer).encode(new PlainText("a cat sat"));
    ClassifiedExample e = result.example();
    int[] textIds = tokenizer.encode("a cat sat", false).ids(); // a, ' ', cat, ' ', sat
    int[] expectedIds = new int[textIds.length + 2];
    expectedIds[0] = 1; // <s>, added by the tokenizer
    System.arraycopy(textIds, 0, expectedIds, 1, textIds.length);
    expectedIds[expectedIds.length - 1] = 2; // </s>
    assertArrayEquals(expectedIds, e.ids());
    assertArrayEquals(new byte[] {T, X, X, X, X, X, X}, e.classes());
    assertArrayEquals(new int[] {-1, 0, 0, 0, 0, 0, 0}, e.turns());
    assertEquals(0, result.missingTerminators());
  }

  @Test
  void everyPolicyTrainsEveryTextTokenAndTheEos() {
    ClassifiedExample e =
        encoder(WordTokenizer.llamaLike()).encode(new PlainText("one two")).example();
    float[] expected = {0, 1, 1, 1, 1}; // <s> one ' ' two </s>
    for (LossPolicy policy :
        List.of(
            LossPolicy.outputOnly(),
            LossPolicy.instructionModelling(),
            LossPolicy.referenceCodeCompatible(),
            LossPolicy.promptWeight(0.3f),
            LossPolicy.outputOnly().withLastAssistantTurnOnly(true),
            LossPolicy.instructionModelling().withRoles(Set.of(Role.USER)))) {
      assertArrayEquals(expected, policy.weigh(e).weights(), policy.toString());
      assertEquals(4, policy.weigh(e).targetCount(), policy.toString());
    }
    // ALL_TOKENS also trains the BOS, which is never a target (nothing predicts position 0).
    assertArrayEquals(new float[] {1, 1, 1, 1, 1}, LossPolicy.allTokens().weigh(e).weights());
    assertEquals(4, LossPolicy.allTokens().weigh(e).targetCount());
    // Restricted to no roles at all, a policy trains nothing, plain text included.
    assertEquals(0, LossPolicy.outputOnly().withRoles(Set.of()).weigh(e).targetCount());
  }

  /** Invariant 24, over arbitrary texts (special-token text included) and every policy kind. */
  @Property
  void everyPolicyTrainsAnyTextWhole(
      @ForAll @StringLength(max = 40) @Chars({'a', 'b', ' ', '\n', '<', '/', 's', '>', 'é'})
          String text,
      @ForAll boolean addsBos) {
    WordTokenizer tokenizer = addsBos ? WordTokenizer.llamaLike() : WordTokenizer.noBos();
    ClassifiedExample e = encoder(tokenizer).encode(new PlainText(text)).example();
    int[] alone = tokenizer.encode(text, true).ids();
    int[] ids = e.ids();
    int n = ids.length;
    assertEquals(2, ids[n - 1]); // ends in EOS...
    boolean endsWithEos = alone.length > 0 && alone[alone.length - 1] == 2;
    assertEquals(endsWithEos ? alone.length : alone.length + 1, n); // ...appended only if needed
    assertArrayEquals(alone, java.util.Arrays.copyOf(ids, alone.length)); // the text's own ids
    int firstText = addsBos ? 1 : 0;
    for (LossPolicy policy :
        List.of(
            LossPolicy.outputOnly(),
            LossPolicy.instructionModelling(),
            LossPolicy.allTokens(),
            LossPolicy.promptWeight(0.5f),
            LossPolicy.referenceCodeCompatible())) {
      float[] w = policy.weigh(e).weights();
      for (int i = firstText; i < n; i++) {
        assertEquals(1f, w[i], policy + " token " + i + " of " + java.util.Arrays.toString(ids));
      }
      assertEquals(n - 1, policy.weigh(e).targetCount(), policy.toString());
    }
  }

  @Test
  void anEosAlreadyAtTheEndIsNotDoubledAndEmptyTextTrainsItsEos() {
    ExampleEncoder encoder = encoder(WordTokenizer.llamaLike());
    assertArrayEquals(
        new byte[] {T, X, X}, encoder.encode(new PlainText("end</s>")).example().classes());
    assertEquals(3, encoder.encode(new PlainText("end</s>")).example().length());
    ClassifiedExample empty = encoder.encode(new PlainText("")).example();
    assertArrayEquals(new int[] {1, 2}, empty.ids());
    assertEquals(1, LossPolicy.outputOnly().weigh(empty).targetCount());
  }

  @Test
  void withoutAnAddedBosEveryTokenIsText() {
    ClassifiedExample e = encoder(WordTokenizer.noBos()).encode(new PlainText("hi")).example();
    assertArrayEquals(new byte[] {X, X}, e.classes()); // hi </s>
  }

  @Test
  void aRecordOfPlainTextEncodesLikeItsText() {
    ExampleEncoder encoder = encoder(WordTokenizer.llamaLike());
    assertEquals(
        encoder.encode(new PlainText("x y")).example(),
        encoder.encode(new DatasetRecord("d.jsonl", 3, new PlainText("x y"))).example());
  }
}
