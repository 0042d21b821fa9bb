package dev.im4j.core.stats;

import java.util.Locale;

/**
 * Suggests Instruction Modelling or plain instruction tuning from dataset statistics, quoting the
 * empirical fits of Shi et al. (NeurIPS 2024) as fits, never as guarantees.
 *
 * <p>The paper's fits of the relative AlpacaEval 1.0 gain of IM over IT (in %), from LLaMA-2 7B
 * experiments:
 *
 * <ul>
 *   <li>against the length ratio r on fixed-size subsets: {@code gain ≈ 18.85·ln(r) + 25.83};
 *   <li>against the number of training examples N with r held near 10: {@code gain ≈ −39.37·ln(N) +
 *       431.74}.
 * </ul>
 *
 * <p>Rule: IM is suggested when the ratio fit predicts a gain above {@link #MIN_GAIN_PERCENT} (that
 * is, r above about 0.25); the example-count fit is quoted only when r is at least {@link
 * #HIGH_RATIO} (near the range it was fitted on).
 */
public final class Advisor {
  /** Predicted gain (percent) above which IM is suggested. */
  public static final double MIN_GAIN_PERCENT = 0.0;

  /** Length ratio from which the example-count fit is quoted. */
  public static final double HIGH_RATIO = 5.0;

  private Advisor() {}

  /** The suggested policy. */
  public enum Recommendation {
    INSTRUCTION_MODELLING,
    OUTPUT_ONLY,
    /** No output words: the ratio is undefined. */
    UNDECIDED
  }

  /**
   * The advice.
   *
   * @param recommendation what to use
   * @param ratioFitGainPercent the ratio fit's prediction, NaN if undefined
   * @param sizeFitGainPercent the example-count fit's prediction, NaN if not applicable
   * @param explanation a few sentences for people, quoting the fits
   */
  public record Advice(
      Recommendation recommendation,
      double ratioFitGainPercent,
      double sizeFitGainPercent,
      String explanation) {}

  /** The paper's ratio fit: predicted relative gain of IM over IT, in percent. */
  public static double ratioFitGainPercent(double lengthRatio) {
    return 18.85 * Math.log(lengthRatio) + 25.83;
  }

  /** The paper's example-count fit (ratio near 10): predicted relative gain, in percent. */
  public static double sizeFitGainPercent(long examples) {
    return -39.37 * Math.log(examples) + 431.74;
  }

  /** Advice for a dataset. */
  public static Advice advise(DatasetStatistics stats) {
    double ratio = stats.lengthRatio();
    if (stats.plainTexts() > 0 && stats.plainTexts() == stats.examples()) {
      return new Advice(
          Recommendation.UNDECIDED,
          Double.NaN,
          Double.NaN,
          "Plain-text rows have no instruction and no output: every token is trained under every"
              + " policy, so the choice between IT and IM does not arise.");
    }
    if (!(ratio > 0) || Double.isInfinite(ratio)) {
      return new Advice(
          Recommendation.UNDECIDED,
          Double.NaN,
          Double.NaN,
          "The length ratio is undefined (no output or no instruction words), so the paper's"
              + " guidance does not apply.");
    }
    double gain = ratioFitGainPercent(ratio);
    double sizeGain =
        ratio >= HIGH_RATIO && stats.examples() > 0
            ? sizeFitGainPercent(stats.examples())
            : Double.NaN;
    Recommendation rec =
        gain > MIN_GAIN_PERCENT ? Recommendation.INSTRUCTION_MODELLING : Recommendation.OUTPUT_ONLY;
    StringBuilder text = new StringBuilder();
    text.append(
        String.format(
            Locale.ROOT,
            "Length ratio %.3f (mean instruction words %.1f / mean output words %.1f). The paper's"
                + " fit on fixed-size subsets, gain = 18.85 ln(r) + 25.83, predicts %+.1f%%"
                + " relative AlpacaEval 1.0 for IM over IT.",
            ratio,
            stats.meanInstructionWords(),
            stats.meanOutputWords(),
            gain));
    if (!Double.isNaN(sizeGain)) {
      text.append(
          String.format(
              Locale.ROOT,
              " With a high ratio, its fit over dataset size, gain = -39.37 ln(N) + 431.74,"
                  + " predicts %+.1f%% for N = %d examples.",
              sizeGain,
              stats.examples()));
    }
    text.append(
        rec == Recommendation.INSTRUCTION_MODELLING
            ? " Suggestion: Instruction Modelling (IM)."
            : " Suggestion: output-only instruction tuning (IT).");
    text.append(
        " These are the paper's empirical fits for LLaMA-2 7B, not guarantees; compare both on"
            + " held-out data.");
    return new Advice(rec, gain, sizeGain, text.toString());
  }
}
