package dev.im4j.cli;

import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.mask.TokenizedExample;
import dev.im4j.onnx.runtime.InferenceModel;
import java.util.List;

/**
 * Token-mean next-token loss of a model over examples under the output-only (IT) and the
 * instruction-modelling (IM) policy: {@code Σ w·nll / Σ w} over all predicted positions.
 *
 * @param outputOnly the IT loss (NaN without IT targets)
 * @param instruction the IM loss (NaN without IM targets)
 * @param outputTargets Σ of the IT weights
 * @param instructionTargets Σ of the IM weights
 */
record HeldOutLoss(
    double outputOnly, double instruction, double outputTargets, double instructionTargets) {

  /** Evaluates {@code examples} (classified by the mask builder; any policy) with {@code lm}. */
  static HeldOutLoss of(InferenceModel lm, List<TokenizedExample> examples) {
    LossPolicy it = LossPolicy.outputOnly();
    LossPolicy im = LossPolicy.instructionModelling();
    double[] sums = new double[2];
    double[] weights = new double[2];
    for (TokenizedExample example : examples) {
      float[] out = it.reweigh(example).weights();
      float[] all = im.reweigh(example).weights();
      float[][] logits = lm.logits(example.ids()); // [T, V]
      for (int t = 0; t + 1 < example.length(); t++) {
        double nll = nll(logits[t], example.idAt(t + 1));
        sums[0] += out[t + 1] * nll;
        weights[0] += out[t + 1];
        sums[1] += all[t + 1] * nll;
        weights[1] += all[t + 1];
      }
    }
    return new HeldOutLoss(
        weights[0] == 0 ? Double.NaN : sums[0] / weights[0],
        weights[1] == 0 ? Double.NaN : sums[1] / weights[1],
        weights[0],
        weights[1]);
  }

  /** −log softmax(logits)[target], computed stably in double. */
  static double nll(float[] logits, int target) {
    double max = Double.NEGATIVE_INFINITY;
    for (float l : logits) {
      max = Math.max(max, l);
    }
    double sum = 0;
    for (float l : logits) {
      sum += Math.exp(l - max);
    }
    return max + Math.log(sum) - logits[target];
  }
}
