package dev.im4j.onnx.train;

import java.util.ArrayDeque;
import java.util.OptionalDouble;

/**
 * The loss rule of {@link DivergenceLimits}: the mean of the last {@code window} step losses
 * against the mean of the first {@code window}. Its state is a function of the step losses in
 * order, so a resumed run rebuilds it from {@code metrics.jsonl}.
 */
final class LossRiseRule {
  private final double maxRise;
  private final int window;
  private final ArrayDeque<Double> recent = new ArrayDeque<>();
  private double recentSum;
  private double firstSum;
  private long seen;

  LossRiseRule(DivergenceLimits limits) {
    this.maxRise = limits.maxLossRise();
    this.window = limits.lossWindow();
  }

  /** Adds the next step's loss; returns the recent mean if it breaks the rule. */
  OptionalDouble add(double loss) {
    seen++;
    if (seen <= window) {
      firstSum += loss;
    }
    recent.addLast(loss);
    recentSum += loss;
    if (recent.size() > window) {
      recentSum -= recent.removeFirst();
    }
    if (seen < 2L * window || Double.isInfinite(maxRise)) {
      return OptionalDouble.empty();
    }
    double recentMean = recentSum / window;
    return recentMean > maxRise * firstMean()
        ? OptionalDouble.of(recentMean)
        : OptionalDouble.empty();
  }

  /** The mean of the first window's losses. */
  double firstMean() {
    return firstSum / Math.min(seen, window);
  }

  int window() {
    return window;
  }
}
