package dev.im4j.core.loss;

import static dev.im4j.core.collate.Batch.IGNORE;
import static dev.im4j.core.collate.Fixtures.example;
import static dev.im4j.core.mask.TokenClass.ASSISTANT;
import static dev.im4j.core.mask.TokenClass.TEMPLATE;
import static dev.im4j.core.mask.TokenClass.TERMINATOR;
import static dev.im4j.core.mask.TokenClass.USER;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.core.collate.Batch;
import dev.im4j.core.collate.Collator;
import dev.im4j.core.collate.CollatorConfig;
import dev.im4j.core.collate.Fixtures;
import dev.im4j.core.mask.TokenizedExample;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Hand-checkable coefficients and reference losses. */
class StepCoefficientsTest {
  private static final TokenizedExample A =
      example(
          new int[] {11, 12, 13, 14},
          new float[] {1f, 0.25f, 0.5f, 1f},
          TEMPLATE,
          USER,
          ASSISTANT,
          TERMINATOR);
  private static final TokenizedExample B =
      example(new int[] {21, 22}, new float[] {0f, 1f}, TEMPLATE, ASSISTANT);

  /** Rows [A] and [B, pad, pad]: A's targets weigh 0.25, 0.5, 1 (sum 1.75), B's 1. */
  private static List<Batch> step() {
    return Collator.of(CollatorConfig.builder(8).padId(7777).build())
        .collate(List.of(A, B), 2)
        .batches();
  }

  @Test
  void sequenceMeanAveragesPerExampleThenOverExamples() {
    StepCoefficients c = StepCoefficients.of(Reduction.SEQUENCE_MEAN, step());
    float a = 1f / 1.75f / 2f;
    assertArrayEquals(
        new float[] {0.25f * a, 0.5f * a, 1f * a, 0f, 0.5f, 0f, 0f, 0f}, c.forBatch(0), 1e-7f);
    assertEquals(2, c.countedExamples());
    // Token 0 of A weighs 1 but is never predicted: it is not in the normaliser (invariant 17).
    assertEquals(2.75, c.totalWeight(), 1e-12);
  }

  @Test
  void tokenMeanDividesByTheStepsTotalWeight() {
    StepCoefficients c = StepCoefficients.of(Reduction.TOKEN_MEAN, step());
    float t = 1f / 2.75f;
    assertArrayEquals(
        new float[] {0.25f * t, 0.5f * t, 1f * t, 0f, 1f * t, 0f, 0f, 0f}, c.forBatch(0), 1e-7f);
  }

  @Test
  void coefficientBufferIsDirectNativeOrder() {
    StepCoefficients c = StepCoefficients.of(Reduction.SUM, step());
    FloatBuffer buffer = c.buffer(0);
    assertTrue(buffer.isDirect());
    assertEquals(ByteOrder.nativeOrder(), buffer.order());
    float[] read = new float[buffer.remaining()];
    buffer.get(read);
    assertArrayEquals(c.forBatch(0), read);
  }

  @Test
  void sumKeepsTheWeights() {
    StepCoefficients c = StepCoefficients.of(Reduction.SUM, step());
    assertArrayEquals(new float[] {0.25f, 0.5f, 1f, 0f, 1f, 0f, 0f, 0f}, c.forBatch(0));
    assertEquals(Reduction.SUM, c.reduction());
    assertEquals(1, c.batchCount());
  }

  /** Two rows of one batch; row 0 is an example whose every weight is 0 (not from the collator). */
  private static Batch batchWithWeights(float[] weights) {
    return Fixtures.batch(
        2,
        3,
        new int[] {1, 2, 3, 4, 5, 6},
        new int[] {0, 1, 2, 0, 1, 2},
        new int[] {1, 1, 1, 1, 1, 1},
        new int[] {2, 3, IGNORE, 5, 6, IGNORE},
        weights,
        new int[] {0, 0, 0, 1, 1, 1});
  }

  @Test
  void stepWithoutTargetGivesZeroLossAndGradientNeverNaN() {
    Batch batch = batchWithWeights(new float[6]);
    float[] logits = new float[6 * 7];
    Arrays.fill(logits, 3e4f);
    for (Reduction reduction : Reduction.values()) {
      StepCoefficients c = StepCoefficients.of(reduction, List.of(batch));
      assertFalse(c.hasTarget());
      assertEquals(0, c.countedExamples());
      assertArrayEquals(new float[6], c.forBatch(0));
      ReferenceLoss.Result r = ReferenceLoss.compute(batch, c.forBatch(0), logits, 7);
      assertEquals(0.0, r.loss());
      assertArrayEquals(new float[logits.length], r.gradient());
    }
    StepCoefficients empty = StepCoefficients.of(Reduction.TOKEN_MEAN, List.of());
    assertEquals(0, empty.batchCount());
    assertFalse(empty.hasTarget());
  }

  @Test
  void sequenceMeanCountsOnlyExamplesWithWeight() {
    Batch batch = batchWithWeights(new float[] {0f, 0f, 0f, 0.25f, 0.25f, 0f});
    StepCoefficients c = StepCoefficients.of(Reduction.SEQUENCE_MEAN, List.of(batch));
    assertEquals(1, c.countedExamples());
    assertArrayEquals(new float[] {0f, 0f, 0f, 0.5f, 0.5f, 0f}, c.forBatch(0));
  }

  @Test
  void referenceLossHandValues() {
    // Uniform logits over 2 classes: nll = ln 2, gradient c * (0.5 - 1, 0.5).
    ReferenceLoss.Result r =
        ReferenceLoss.compute(new float[] {0f, 0f}, 2, new int[] {0}, new float[] {0.5f});
    assertEquals(0.5 * Math.log(2), r.loss(), 1e-15);
    assertArrayEquals(new float[] {-0.25f, 0.25f}, r.gradient());

    // Large logits stay finite thanks to the max subtraction.
    ReferenceLoss.Result big =
        ReferenceLoss.compute(new float[] {1000f, 0f}, 2, new int[] {1}, new float[] {1f});
    assertEquals(1000.0, big.loss(), 1e-9);
    assertArrayEquals(new float[] {1f, -1f}, big.gradient());
  }

  @Test
  void referenceLossSkipsZeroCoefficientsWithoutReadingThem() {
    float[] logits = {Float.NaN, Float.NaN, 1f, 2f};
    ReferenceLoss.Result r =
        ReferenceLoss.compute(logits, 2, new int[] {IGNORE, 1}, new float[] {0f, 1f});
    assertEquals(Math.log(Math.exp(1) + Math.exp(2)) - 2, r.loss(), 1e-12);
    assertEquals(0f, r.gradientAt(0));
    assertEquals(0f, r.gradientAt(1));
  }

  @Test
  void referenceLossRejectsMisuse() {
    assertThrows(
        IllegalArgumentException.class,
        () -> ReferenceLoss.compute(new float[2], 2, new int[] {IGNORE}, new float[] {1f}));
    assertThrows(
        IllegalArgumentException.class,
        () -> ReferenceLoss.compute(new float[3], 2, new int[] {0}, new float[] {1f}));
    assertThrows(
        IllegalArgumentException.class,
        () -> ReferenceLoss.compute(new float[2], 2, new int[] {0}, new float[] {Float.NaN}));
  }
}
