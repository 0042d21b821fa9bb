package dev.im4j.onnx.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/** {@link SeededGaussian} against {@code java.util.Random}, the sequence it must reproduce. */
class SeededGaussianProperties {

  @Property(tries = 10)
  void drawsTheSameFloatsAsJavaUtilRandomAcrossBlocks(
      @ForAll long seed, @ForAll @IntRange(min = 60_000, max = 120_000) int count) {
    // two blocks of 16,384 attempts give about 51,500 values: these counts pass their end
    assertSameAsRandom(seed, new SeededGaussian(seed), count);
  }

  @Property(tries = 200)
  void tinyBlocksGiveTheSameFloats(
      @ForAll long seed,
      @ForAll @IntRange(min = 1, max = 7) int blockAttempts,
      @ForAll @IntRange(min = 1, max = 3000) int count) {
    assertSameAsRandom(
        seed, new SeededGaussian(seed, blockAttempts, SeededGaussian.SLACK_ULPS), count);
  }

  @Property(tries = 50)
  void theExactPathGivesTheSameFloats(
      @ForAll long seed, @ForAll @IntRange(min = 1, max = 3000) int count) {
    // a slack of 2^40 ulps covers every float rounding boundary: each value takes StrictMath
    assertSameAsRandom(seed, new SeededGaussian(seed, 5, 0x1p40), count);
  }

  @Property(tries = 100)
  void aJumpIsThatManySteps(@ForAll long state, @ForAll @IntRange(min = 0, max = 2000) int steps) {
    long mask = (1L << 48) - 1;
    long expected = state & mask;
    for (int i = 0; i < steps; i++) {
      expected = (expected * 0x5DEECE66DL + 0xBL) & mask;
    }
    long[] jump = SeededGaussian.jump(steps);
    assertEquals(expected, ((state & mask) * jump[0] + jump[1]) & mask);
  }

  private static void assertSameAsRandom(long seed, SeededGaussian gaussian, int count) {
    Random reference = new Random(seed);
    for (int i = 0; i < count; i++) {
      int expected = Float.floatToRawIntBits((float) reference.nextGaussian());
      assertEquals(expected, Float.floatToRawIntBits(gaussian.next()), "draw " + i);
    }
  }
}
