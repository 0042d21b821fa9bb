package dev.im4j.onnx.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/** {@link SeededGaussian} against {@code java.util.Random}, the sequence it must reproduce. */
class SeededGaussianProperties {

  @Property(tries = 300)
  void drawsTheSameBitsAsJavaUtilRandom(
      @ForAll long seed, @ForAll @IntRange(min = 1, max = 5000) int count) {
    Random reference = new Random(seed);
    SeededGaussian gaussian = new SeededGaussian(seed);
    for (int i = 0; i < count; i++) {
      long expected = Double.doubleToRawLongBits(reference.nextGaussian());
      assertEquals(expected, Double.doubleToRawLongBits(gaussian.next()), "draw " + i);
    }
  }
}
