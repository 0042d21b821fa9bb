package dev.im4j.core.collate;

import static dev.im4j.core.collate.Batch.IGNORE;
import static dev.im4j.core.collate.Fixtures.example;
import static dev.im4j.core.mask.TokenClass.ASSISTANT;
import static dev.im4j.core.mask.TokenClass.SYSTEM;
import static dev.im4j.core.mask.TokenClass.TEMPLATE;
import static dev.im4j.core.mask.TokenClass.TERMINATOR;
import static dev.im4j.core.mask.TokenClass.USER;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.core.collate.CollateReport.Event;
import dev.im4j.core.collate.CollateReport.Reason;
import dev.im4j.core.mask.TokenizedExample;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Hand-checkable collation cases with odd sentinels: pad id 7777, weights 0.25 / 0.5 / 1. */
class CollatorTest {
  private static final int PAD = 7777;
  private static final int X = IGNORE;

  /** BOS-like header, user token, assistant token, terminator. */
  private static final TokenizedExample A =
      example(
          new int[] {11, 12, 13, 14},
          new float[] {0f, 0.25f, 0.5f, 1f},
          TEMPLATE,
          USER,
          ASSISTANT,
          TERMINATOR);

  private static final TokenizedExample B =
      example(new int[] {21, 22}, new float[] {0f, 1f}, TEMPLATE, ASSISTANT);

  private static final TokenizedExample C =
      example(new int[] {31, 32, 33}, new float[] {0f, 0.5f, 0.5f}, TEMPLATE, USER, ASSISTANT);

  private static CollatorConfig.Builder config(int maxLength) {
    return CollatorConfig.builder(maxLength).padId(PAD);
  }

  @Test
  void paddedRight() {
    CollateResult result = Collator.of(config(10).build()).collate(List.of(A, B), 2);
    assertEquals(1, result.batches().size());
    Batch b = result.batches().get(0);
    assertEquals(2, b.rows());
    assertEquals(4, b.seqLen());
    assertArrayEquals(new int[] {11, 12, 13, 14, 21, 22, PAD, PAD}, b.inputIds());
    assertArrayEquals(new int[] {0, 1, 2, 3, 0, 1, 0, 0}, b.positionIds());
    assertArrayEquals(new int[] {1, 1, 1, 1, 1, 1, 0, 0}, b.segmentIds());
    assertArrayEquals(new int[] {12, 13, 14, X, 22, X, X, X}, b.targets());
    assertArrayEquals(new float[] {0.25f, 0.5f, 1f, 0f, 1f, 0f, 0f, 0f}, b.weights());
    assertArrayEquals(new int[] {0, 0, 0, 0, 1, 1, -1, -1}, b.exampleIds());

    CollateReport report = result.report();
    assertEquals(2, report.examplesIn());
    assertEquals(2, report.examplesOut());
    assertEquals(6, report.tokens());
    assertEquals(2, report.paddingTokens());
    assertEquals(0.25, report.paddingFraction());
    assertEquals(List.of(), report.events());
  }

  @Test
  void paddedLeftToMultipleOfThree() {
    CollatorConfig cfg = config(10).paddingSide(PaddingSide.LEFT).padToMultipleOf(3).build();
    Batch b = Collator.of(cfg).collate(List.of(A, B), 8).batches().get(0);
    assertEquals(6, b.seqLen());
    assertArrayEquals(
        new int[] {PAD, PAD, 11, 12, 13, 14, PAD, PAD, PAD, PAD, 21, 22}, b.inputIds());
    assertArrayEquals(new int[] {0, 0, 0, 1, 2, 3, 0, 0, 0, 0, 0, 1}, b.positionIds());
    assertArrayEquals(new int[] {0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1}, b.segmentIds());
    assertArrayEquals(new int[] {X, X, 12, 13, 14, X, X, X, X, X, 22, X}, b.targets());
    assertArrayEquals(
        new float[] {0f, 0f, 0.25f, 0.5f, 1f, 0f, 0f, 0f, 0f, 0f, 1f, 0f}, b.weights());
    assertArrayEquals(new int[] {-1, -1, 0, 0, 0, 0, -1, -1, -1, -1, 1, 1}, b.exampleIds());
  }

  @Test
  void packedBestFitDecreasing() {
    // Lengths 4, 2, 3 into rows of 6: 4 opens row 0 (2 free), 3 opens row 1 (3 free),
    // 2 fits best into row 0.
    CollatorConfig cfg = config(6).packing(true).build();
    CollateResult result = Collator.of(cfg).collate(List.of(A, B, C), 4);
    Batch b = result.batches().get(0);
    assertEquals(2, b.rows());
    assertEquals(6, b.seqLen());
    assertArrayEquals(new int[] {11, 12, 13, 14, 21, 22, 31, 32, 33, PAD, PAD, PAD}, b.inputIds());
    assertArrayEquals(new int[] {0, 1, 2, 3, 0, 1, 0, 1, 2, 0, 0, 0}, b.positionIds());
    assertArrayEquals(new int[] {1, 1, 1, 1, 2, 2, 1, 1, 1, 0, 0, 0}, b.segmentIds());
    // 14 -> 21 would cross a segment boundary: the last token of each segment has no target.
    assertArrayEquals(new int[] {12, 13, 14, X, 22, X, 32, 33, X, X, X, X}, b.targets());
    assertArrayEquals(
        new float[] {0.25f, 0.5f, 1f, 0f, 1f, 0f, 0.5f, 0.5f, 0f, 0f, 0f, 0f}, b.weights());
    assertArrayEquals(new int[] {0, 0, 0, 0, 1, 1, 2, 2, 2, -1, -1, -1}, b.exampleIds());
    assertEquals(3, result.report().examplesOut());
    assertEquals(9, result.report().tokens());
    assertEquals(3, result.report().paddingTokens());
  }

  @Test
  void theSeedOrdersEqualLengthsDeterministically() {
    List<TokenizedExample> same = List.of(C, C, C, C, C, C);
    Set<List<Integer>> orders = new HashSet<>();
    for (long seed = 0; seed < 10; seed++) {
      CollatorConfig cfg = config(6).packing(true).seed(seed).build();
      int[] first = Collator.of(cfg).collate(same, 8).batches().get(0).exampleIds();
      int[] again = Collator.of(cfg).collate(same, 8).batches().get(0).exampleIds();
      assertArrayEquals(first, again);
      orders.add(Arrays.stream(first).boxed().toList());
    }
    assertTrue(orders.size() > 1, "the seed should reorder ties");
  }

  @Test
  void padIdMayEqualATrainedTokenId() {
    // Pad id 14 equals A's terminator: padding is found by segment id, so 14 stays trained.
    Batch b =
        Collator.of(config(10).padId(14).groupByLength(false).build())
            .collate(List.of(B, A), 2)
            .batches()
            .get(0);
    assertArrayEquals(new int[] {21, 22, 14, 14, 11, 12, 13, 14}, b.inputIds());
    assertArrayEquals(new int[] {22, X, X, X, 12, 13, 14, X}, b.targets());
    assertArrayEquals(new float[] {1f, 0f, 0f, 0f, 0.25f, 0.5f, 1f, 0f}, b.weights());
  }

  @Test
  void rowsAreSplitIntoBatchesWithTheirOwnLength() {
    CollateResult result =
        Collator.of(config(10).groupByLength(false).build()).collate(List.of(B, A, C), 1);
    assertEquals(3, result.batches().size());
    assertEquals(2, result.batches().get(0).seqLen());
    assertEquals(4, result.batches().get(1).seqLen());
    assertEquals(3, result.batches().get(2).seqLen());
    assertArrayEquals(new int[] {2, 2, 2}, result.batches().get(2).exampleIds());
  }

  @Test
  void byDefaultRowsAreGroupedByLength() {
    // Lengths 2, 4, 3, 4: rows 1, 3, 2, 0 (ties in input order); two rows per batch.
    CollateResult result = Collator.of(config(10).build()).collate(List.of(B, A, C, A), 2);
    assertEquals(2, result.batches().size());
    assertArrayEquals(new int[] {1, 1, 1, 1, 3, 3, 3, 3}, result.batches().get(0).exampleIds());
    assertArrayEquals(new int[] {2, 2, 2, 0, 0, -1}, result.batches().get(1).exampleIds());
    assertEquals(1, result.report().paddingTokens());
    CollatorConfig inOrder = config(10).groupByLength(false).build();
    assertEquals(3, Collator.of(inOrder).collate(List.of(B, A, C, A), 2).report().paddingTokens());
  }

  @Test
  void firstExampleIdOffsetsIds() {
    CollateResult result = Collator.of(config(10).build()).collate(List.of(B), 5, 1);
    assertArrayEquals(new int[] {5, 5}, result.batches().get(0).exampleIds());
  }

  @Test
  void keepStartCutsTheEndWithoutInventingATerminator() {
    CollateResult result =
        Collator.of(config(3).truncation(TruncationStrategy.KEEP_START).build())
            .collate(List.of(A), 1);
    Batch b = result.batches().get(0);
    assertArrayEquals(new int[] {11, 12, 13}, b.inputIds());
    // The answer is cut after 13: its terminator 14 is gone, and nothing replaces it.
    assertArrayEquals(new int[] {12, 13, X}, b.targets());
    assertArrayEquals(new float[] {0.25f, 0.5f, 0f}, b.weights());
    assertEquals(
        List.of(new Event(0, Reason.TRUNCATED_KEEP_START, 4, 3)), result.report().events());
    assertEquals(1, result.report().truncated());
  }

  @Test
  void keepEndCutsTheStart() {
    CollateResult result =
        Collator.of(config(3).truncation(TruncationStrategy.KEEP_END).build())
            .collate(List.of(A), 1);
    Batch b = result.batches().get(0);
    assertArrayEquals(new int[] {12, 13, 14}, b.inputIds());
    assertArrayEquals(new int[] {0, 1, 2}, b.positionIds());
    assertArrayEquals(new int[] {13, 14, X}, b.targets());
    assertArrayEquals(new float[] {0.5f, 1f, 0f}, b.weights());
    assertEquals(List.of(new Event(0, Reason.TRUNCATED_KEEP_END, 4, 3)), result.report().events());
  }

  @Test
  void dropRemovesAndReports() {
    CollateResult result =
        Collator.of(config(3).truncation(TruncationStrategy.DROP).groupByLength(false).build())
            .collate(List.of(B, A, C), 4);
    assertArrayEquals(new int[] {0, 0, -1, 2, 2, 2}, result.batches().get(0).exampleIds());
    CollateReport report = result.report();
    assertEquals(3, report.examplesIn());
    assertEquals(2, report.examplesOut());
    assertEquals(1, report.dropped());
    assertEquals(0, report.truncated());
    assertEquals(List.of(new Event(1, Reason.DROPPED_TOO_LONG, 4, 0)), report.events());
  }

  @Test
  void errorNamesTheExampleAndLengths() {
    Collator collator = Collator.of(config(3).truncation(TruncationStrategy.ERROR).build());
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> collator.collate(List.of(B, A), 4));
    assertTrue(
        e.getMessage().contains("example 1 has 4 tokens but maxLength is 3"), e.getMessage());
  }

  @Test
  void trimInstructionRemovesEarliestInstructionTokensFirst() {
    TokenizedExample e =
        example(
            new int[] {1, 40, 41, 2, 42, 3, 50, 51, 9},
            new float[] {0f, 0.25f, 0.25f, 0f, 0.25f, 0f, 1f, 1f, 1f},
            TEMPLATE,
            SYSTEM,
            SYSTEM,
            TEMPLATE,
            USER,
            TEMPLATE,
            ASSISTANT,
            ASSISTANT,
            TERMINATOR);
    CollateResult result =
        Collator.of(config(6).truncation(TruncationStrategy.TRIM_INSTRUCTION).build())
            .collate(List.of(e), 1);
    Batch b = result.batches().get(0);
    // 3 tokens too many: system 40, 41 and user 42 go; templates and outputs stay.
    assertArrayEquals(new int[] {1, 2, 3, 50, 51, 9}, b.inputIds());
    assertArrayEquals(new int[] {2, 3, 50, 51, 9, X}, b.targets());
    // 2 and 3 follow a removed run: their context never occurred, so they are not trained.
    assertArrayEquals(new float[] {0f, 0f, 1f, 1f, 1f, 0f}, b.weights());
    assertEquals(List.of(new Event(0, Reason.TRIMMED_INSTRUCTION, 9, 6)), result.report().events());

    // Only 1 token too many: only the earliest instruction token goes.
    Batch b7 =
        Collator.of(config(8).truncation(TruncationStrategy.TRIM_INSTRUCTION).build())
            .collate(List.of(e), 1)
            .batches()
            .get(0);
    assertArrayEquals(new int[] {1, 41, 2, 42, 3, 50, 51, 9}, b7.inputIds());
    assertArrayEquals(new float[] {0f, 0f, 0.25f, 0f, 1f, 1f, 1f, 0f}, b7.weights());
  }

  @Test
  void trimInstructionFallsBackToKeepStart() {
    TokenizedExample e =
        example(
            new int[] {1, 40, 50, 51, 52, 9},
            new float[] {0f, 0.25f, 1f, 1f, 1f, 1f},
            TEMPLATE,
            USER,
            ASSISTANT,
            ASSISTANT,
            ASSISTANT,
            TERMINATOR);
    CollateResult result =
        Collator.of(config(3).truncation(TruncationStrategy.TRIM_INSTRUCTION).build())
            .collate(List.of(e), 1);
    assertArrayEquals(new int[] {1, 40, 50}, result.batches().get(0).inputIds());
    assertEquals(
        List.of(new Event(0, Reason.TRIM_FELL_BACK_TO_KEEP_START, 6, 3)), result.report().events());
  }

  @Test
  void examplesWithoutTargetAreDroppedAndListed() {
    TokenizedExample onlyFirstWeighted =
        example(new int[] {5, 6}, new float[] {1f, 0f}, ASSISTANT, ASSISTANT);
    TokenizedExample single = example(new int[] {5}, new float[] {1f}, ASSISTANT);
    TokenizedExample answerCutOff =
        example(new int[] {1, 2, 3}, new float[] {0f, 0f, 1f}, TEMPLATE, TEMPLATE, ASSISTANT);
    CollateResult result =
        Collator.of(config(2).build())
            .collate(List.of(onlyFirstWeighted, B, single, answerCutOff), 4);
    CollateReport report = result.report();
    assertEquals(4, report.examplesIn());
    assertEquals(1, report.examplesOut());
    assertEquals(3, report.noTarget());
    assertEquals(1, report.truncated());
    assertEquals(
        List.of(
            new Event(0, Reason.DROPPED_NO_TARGET, 2, 2),
            new Event(2, Reason.DROPPED_NO_TARGET, 1, 1),
            new Event(3, Reason.TRUNCATED_KEEP_START, 3, 2),
            new Event(3, Reason.DROPPED_NO_TARGET, 3, 2)),
        report.events());
    assertArrayEquals(new int[] {1, 1}, result.batches().get(0).exampleIds());
  }

  @Test
  void nothingLeftGivesNoBatches() {
    CollateResult result = Collator.of(config(4).build()).collate(List.of(), 4);
    assertEquals(List.of(), result.batches());
    assertEquals(0.0, result.report().paddingFraction());
  }

  @Test
  void directBuffersAreNativeOrderCopies() {
    Batch b = Collator.of(config(10).build()).collate(List.of(A, B), 2).batches().get(0);
    IntBuffer ids = b.inputIdsBuffer();
    FloatBuffer weights = b.weightsBuffer();
    assertTrue(ids.isDirect() && weights.isDirect());
    assertEquals(ByteOrder.nativeOrder(), ids.order());
    assertEquals(ByteOrder.nativeOrder(), weights.order());
    int[] read = new int[ids.remaining()];
    ids.get(read);
    assertArrayEquals(b.inputIds(), read);
    float[] readWeights = new float[weights.remaining()];
    weights.get(readWeights);
    assertArrayEquals(b.weights(), readWeights);
    int[] copy = b.targets();
    copy[0] = -1;
    assertEquals(12, b.targetAt(0));
  }

  @Test
  void configValidationSaysWhatAndHow() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> CollatorConfig.of(-3));
    assertTrue(e.getMessage().contains("maxLength must be > 0 but was -3"), e.getMessage());
    assertThrows(
        IllegalArgumentException.class, () -> CollatorConfig.builder(8).padToMultipleOf(0).build());
    assertThrows(IllegalArgumentException.class, () -> CollatorConfig.builder(8).padId(-1).build());
    assertThrows(
        NullPointerException.class, () -> CollatorConfig.builder(8).truncation(null).build());
    assertThrows(
        IllegalArgumentException.class,
        () -> Collator.of(CollatorConfig.of(8)).collate(List.of(A), 0));
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> CollatorConfig.builder(8).packing(true).groupByLength(false).build());
    assertTrue(e.getMessage().startsWith("packing orders examples by length"), e.getMessage());
  }

  @Test
  void defaultsAreThePapersWithRowsGroupedByLength() {
    CollatorConfig cfg = CollatorConfig.of(2048);
    assertEquals(TruncationStrategy.KEEP_START, cfg.truncation());
    assertEquals(PaddingSide.RIGHT, cfg.paddingSide());
    assertEquals(1, cfg.padToMultipleOf());
    assertEquals(0, cfg.padId());
    assertEquals(false, cfg.packing());
    assertEquals(true, cfg.groupByLength());
    assertEquals(cfg, cfg.toBuilder().build());
  }
}
