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

  /** Evaluates {@code examples}, weighed by IT and by IM, with {@code lm}. */
  static HeldOutLoss of(InferenceModel lm, List<ClassifiedExample> examples) {
    double[] loss = new double[2];
    double[] weight = new double[2];
    List<LossPolicy> policies = List.of(LossPolicy.outputOnly(), LossPolicy.instructionModelling());
    for (int p = 0; p < 2; p++) {
      List<TokenizedExample> weighed = new ArrayList<>(examples.size());
      int longest = 1;
      for (ClassifiedExample e : examples) {
        weighed.add(policies.get(p).weigh(e));
        longest = Math.max(longest, e.length());
      }
      List<Batch> rows = Collator.of(CollatorConfig.of(longest)).collate(weighed, 1).batches();
      StepCoefficients c = StepCoefficients.of(Reduction.TOKEN_MEAN, rows);
      for (int b = 0; b < rows.size(); b++) {
        Batch row = rows.get(b);
        float[][] logits = lm.logits(row.inputIds()); // [seqLen, vocab]
        int vocab = logits[0].length;
        float[] flat = new float[logits.length * vocab]; // [1, seqLen, vocab]
        for (int t = 0; t < logits.length; t++) {
          System.arraycopy(logits[t], 0, flat, t * vocab, vocab);
        }
        loss[p] += ReferenceLoss.compute(row, c.forBatch(b), flat, vocab).loss();
      }
      weight[p] = c.totalWeight();
    }
    return new HeldOutLoss(
        weight[0] == 0 ? Double.NaN : loss[0],
        weight[1] == 0 ? Double.NaN : loss[1],
        weight[0],
        weight[1]);
  }
}
