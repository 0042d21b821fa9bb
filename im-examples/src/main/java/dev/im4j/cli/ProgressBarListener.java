package dev.im4j.cli;

import dev.im4j.onnx.train.TrainingListener;
import java.io.PrintWriter;
import java.util.Locale;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A terminal progress bar for {@code im4j train} (steps done of all, elapsed, ETA), with the last
 * loss and the approximate token rate as its message; evaluations are printed as lines.
 */
final class ProgressBarListener implements TrainingListener, AutoCloseable {
  private final ProgressBar bar;
  private final PrintWriter out;
  private final double tokensPerStep;
  private final long started = System.nanoTime();

  ProgressBarListener(PrintWriter out, long totalSteps, double tokensPerStep) {
    this.out = out;
    this.tokensPerStep = tokensPerStep;
    this.bar =
        new ProgressBarBuilder()
            .setTaskName("train")
            .setInitialMax(totalSteps)
            .setStyle(ProgressBarStyle.ASCII)
            .setUnit(" steps", 1)
            .build();
  }

  @Override
  public void onStep(StepMetrics m) {
    double seconds = (System.nanoTime() - started) / 1e9;
    bar.stepTo(m.step());
    bar.setExtraMessage(
        String.format(
            Locale.ROOT, " loss %.4f ~%.0f tok/s", m.loss(), tokensPerStep * m.step() / seconds));
  }

  @Override
  public void onEval(EvalMetrics m) {
    out.printf(
        Locale.ROOT,
        "%neval step %d  output-only loss %.4f  IM loss %.4f%n",
        m.step(),
        m.outputOnlyLoss(),
        m.instructionLoss());
    out.flush();
  }

  @Override
  public void close() {
    bar.close();
  }
}
