package dev.im4j.cli;

import dev.im4j.core.collate.Batch;
import dev.im4j.core.collate.Collator;
import dev.im4j.core.collate.CollatorConfig;
import dev.im4j.core.loss.Reduction;
import dev.im4j.core.loss.ReferenceLoss;
import dev.im4j.core.loss.StepCoefficients;
import dev.im4j.core.mask.ClassifiedExample;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.mask.TokenizedExample;
import dev.im4j.onnx.runtime.InferenceModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Token-mean next-token loss of a model over examples under the output-only (IT) and the
 * instruction-modelling (IM) policy: {@code Σ w·nll / Σ w} over all predicted positions, as the
 * trainer's evaluation defines it. The label shift is the collator's and the loss {@link
 * ReferenceLoss}'s: one example per row, whole (no truncation), TOKEN_MEAN coefficients over the
 * whole set.
 *
 * @param outputOnly the IT loss (NaN without IT targets)
 * @param instruction the IM loss (NaN without IM targets)
 * @param outputTargets Σ of the IT weights
 * @param instructionTargets Σ of the IM weights
 */
record HeldOutLoss(
    double outputOnly, double instruction, double outputTargets, double instructionTargets) {

  /**
   * Evaluates {@code examples}, weighed by IT and by IM, with {@code lm}: one forward pass per
   * example serves both policies.
   */
  static HeldOutLoss of(InferenceModel lm, List<ClassifiedExample> examples) {
    List<LossPolicy> policies = List.of(LossPolicy.outputOnly(), LossPolicy.instructionModelling());
    int longest = 1;
    for (ClassifiedExample e : examples) {
      longest = Math.max(longest, e.length());
    }
    Collator collator = Collator.of(CollatorConfig.of(longest));
    List<List<Batch>> rows = new ArrayList<>(); // [policy][row]: one example per row
    List<StepCoefficients> coefficients = new ArrayList<>();
    for (LossPolicy policy : policies) {
      List<TokenizedExample> weighed = new ArrayList<>(examples.size());
      for (ClassifiedExample e : examples) {
        weighed.add(policy.weigh(e));
      }
      List<Batch> policyRows = collator.collate(weighed, 1).batches();
      rows.add(policyRows);
      coefficients.add(StepCoefficients.of(Reduction.TOKEN_MEAN, policyRows));
    }
    double[] loss = new double[policies.size()];
    for (int b = 0; b < rows.get(0).size(); b++) {
      int[] ids = rows.get(0).get(b).inputIds();
      float[][] logits = lm.logits(ids); // [seqLen, vocab]
      int vocab = logits[0].length;
      float[] flat = new float[logits.length * vocab]; // [1, seqLen, vocab]
      for (int t = 0; t < logits.length; t++) {
        System.arraycopy(logits[t], 0, flat, t * vocab, vocab);
      }
      for (int p = 0; p < policies.size(); p++) {
        Batch row = rows.get(p).get(b);
        if (p > 0 && !Arrays.equals(row.inputIds(), ids)) {
          throw new IllegalStateException("the collator ordered the policies' rows differently");
        }
        loss[p] += ReferenceLoss.compute(row, coefficients.get(p).forBatch(b), flat, vocab).loss();
      }
    }
    double itWeight = coefficients.get(0).totalWeight();
    double imWeight = coefficients.get(1).totalWeight();
    return new HeldOutLoss(
        itWeight == 0 ? Double.NaN : loss[0],
        imWeight == 0 ? Double.NaN : loss[1],
        itWeight,
        imWeight);
  }
}
