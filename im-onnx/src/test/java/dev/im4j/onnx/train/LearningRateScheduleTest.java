package dev.im4j.onnx.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.im4j.onnx.train.LearningRateSchedule.Kind;
import org.junit.jupiter.api.Test;

/** Hand-computed values of Hugging Face's linear, cosine and constant schedules with warm-up. */
class LearningRateScheduleTest {
  @Test
  void linearWithWarmup() {
    LearningRateSchedule s = new LearningRateSchedule(Kind.LINEAR, 0.2); // 10 steps, W = 2
    assertEquals(2, s.warmupSteps(10));
    assertEquals(0f, s.at(1f, 0, 10));
    assertEquals(0.5f, s.at(1f, 1, 10));
    assertEquals(1f, s.at(1f, 2, 10));
    assertEquals(0.5f, s.at(1f, 6, 10));
    assertEquals(0.125f, s.at(1f, 9, 10));
  }

  @Test
  void cosineWithWarmup() {
    LearningRateSchedule s = new LearningRateSchedule(Kind.COSINE, 0.2);
    assertEquals(1f, s.at(1f, 2, 10));
    assertEquals(0.5f, s.at(1f, 6, 10), 1e-6);
    assertEquals((float) (0.5 * (1 + Math.cos(Math.PI * 7 / 8))), s.at(1f, 9, 10), 1e-6);
  }

  @Test
  void constantAndDefaults() {
    assertEquals(0.3f, new LearningRateSchedule(Kind.CONSTANT, 0).at(0.3f, 0, 5));
    LearningRateSchedule d = LearningRateSchedule.defaults();
    assertEquals(Kind.LINEAR, d.kind());
    assertEquals(3, d.warmupSteps(100));
    assertThrows(IllegalArgumentException.class, () -> d.at(1f, 5, 5));
    assertThrows(IllegalArgumentException.class, () -> new LearningRateSchedule(Kind.LINEAR, 1.5));
  }
}
