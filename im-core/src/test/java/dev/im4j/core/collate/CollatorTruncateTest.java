package dev.im4j.core.collate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.core.mask.TokenClass;
import dev.im4j.core.mask.TokenizedExample;
import org.junit.jupiter.api.Test;

class CollatorTruncateTest {
  // ids 10..15: template, user, user, template, assistant, terminator
  private static final TokenizedExample EXAMPLE =
      new TokenizedExample(
          new int[] {10, 11, 12, 13, 14, 15},
          new float[] {0, 1, 1, 0, 1, 1},
          new byte[] {
            (byte) TokenClass.TEMPLATE.ordinal(),
            (byte) TokenClass.USER.ordinal(),
            (byte) TokenClass.USER.ordinal(),
            (byte) TokenClass.TEMPLATE.ordinal(),
            (byte) TokenClass.ASSISTANT.ordinal(),
            (byte) TokenClass.TERMINATOR.ordinal()
          },
          new int[] {-1, 0, 0, -1, 1, 1});

  private static Collator collator(int maxLength, TruncationStrategy strategy) {
    return Collator.of(CollatorConfig.builder(maxLength).truncation(strategy).build());
  }

  @Test
  void shortExamplesComeBackUnchanged() {
    assertSame(EXAMPLE, collator(6, TruncationStrategy.ERROR).truncate(EXAMPLE).orElseThrow());
  }

  @Test
  void keepStartSlicesEveryArray() {
    TokenizedExample kept =
        collator(4, TruncationStrategy.KEEP_START).truncate(EXAMPLE).orElseThrow();
    assertArrayEquals(new int[] {10, 11, 12, 13}, kept.ids());
    assertArrayEquals(new float[] {0, 1, 1, 0}, kept.weights());
    assertEquals(TokenClass.TEMPLATE, kept.classAt(3));
    assertArrayEquals(new int[] {-1, 0, 0, -1}, kept.turns());
  }

  @Test
  void trimInstructionKeepsClassesOfTheKeptTokens() {
    TokenizedExample kept =
        collator(5, TruncationStrategy.TRIM_INSTRUCTION).truncate(EXAMPLE).orElseThrow();
    assertArrayEquals(new int[] {10, 12, 13, 14, 15}, kept.ids());
    // The token after the removed one lost its context: weight 0.
    assertArrayEquals(new float[] {0, 0, 0, 1, 1}, kept.weights());
    assertEquals(TokenClass.USER, kept.classAt(1));
    assertEquals(TokenClass.TERMINATOR, kept.classAt(4));
  }

  @Test
  void dropReturnsEmpty() {
    assertTrue(collator(3, TruncationStrategy.DROP).truncate(EXAMPLE).isEmpty());
  }
}
