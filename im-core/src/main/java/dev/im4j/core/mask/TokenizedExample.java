package dev.im4j.core.mask;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkElementIndex;
import static com.google.common.base.Preconditions.checkNotNull;
import static com.google.common.base.Preconditions.checkPositionIndexes;

import dev.im4j.core.internal.Fill;
import java.util.Arrays;

/**
 * One tokenized training example: token ids, the loss weight of each token as a prediction target,
 * and each token's class.
 *
 * <p>{@code weights[i]} is the weight of predicting token {@code i} from tokens {@code 0..i-1}
 * (before any shift). Token 0 is never predicted, whatever its weight; the label shift happens
 * once, in the collator. {@code classes[i]} is {@link TokenClass#ordinal()} of token {@code i};
 * {@code turns[i]} is the index of the message token {@code i} belongs to, or -1 for template text
 * outside any message.
 *
 * <p>Classes, turns and weights change only at span boundaries, so they are stored as runs: maximal
 * stretches of tokens with one class, turn and weight. Ids are stored per token. {@code ...At}
 * accessors find a token's run in O(log r) for r runs; the array accessors write fresh per-token
 * arrays; {@link #copyWeights} fills from the runs, which is what the collator's hot loop uses.
 *
 * <p>Immutable: arrays are copied in and handed out as copies. (An example built by {@link
 * MaskBuilder} shares its ids array with the immutable {@code Encoding} it came from; neither ever
 * writes it.)
 */
public final class TokenizedExample {
  private final int[] ids; // [length]
  private final int runCount;
  // [runCount * 4, possibly more capacity]: per run, one past its last token (increasing, the
  // last = length), its message index or -1, its TokenClass ordinal and its weight's float bits
  // (finite and >= 0).
  private final int[] runs;

  /**
   * Validates and copies the arrays.
   *
   * @param ids token ids, {@code [length]}
   * @param weights loss weight per token as a target, each finite and {@code >= 0}, {@code
   *     [length]}
   * @param classes token class ordinals, {@code [length]}
   * @param turns message index per token, {@code [length]}
   * @throws IllegalArgumentException if the lengths differ or a value is out of range
   */
  public TokenizedExample(int[] ids, float[] weights, byte[] classes, int[] turns) {
    checkNotNull(ids, "ids");
    checkNotNull(weights, "weights");
    checkNotNull(classes, "classes");
    checkNotNull(turns, "turns");
    checkArgument(
        ids.length == weights.length && ids.length == classes.length && ids.length == turns.length,
        "ids, weights, classes and turns must have one length but had %s, %s, %s, %s",
        ids.length,
        weights.length,
        classes.length,
        turns.length);
    int classCount = TokenClass.values().length;
    Runs runs = new Runs(16);
    for (int i = 0; i < weights.length; i++) {
      float w = weights[i];
      if (!(w >= 0f && w < Float.POSITIVE_INFINITY)) {
        throw new IllegalArgumentException(
            "weights[" + i + "] must be finite and >= 0 but was " + w);
      }
      if (classes[i] < 0 || classes[i] >= classCount) {
        throw new IllegalArgumentException(
            "classes[" + i + "] is not a TokenClass ordinal: " + classes[i]);
      }
      runs.append(i + 1, classes[i], turns[i], w);
    }
    this.ids = ids.clone();
    this.runCount = runs.count;
    this.runs = Arrays.copyOf(runs.data, runs.count * Runs.STRIDE);
  }

  /** Takes ownership of {@code ids} and of runs that cover them exactly. */
  private TokenizedExample(int[] ids, Runs runs) {
    int covered = runs.count == 0 ? 0 : runs.data[(runs.count - 1) * Runs.STRIDE];
    checkArgument(
        covered == ids.length, "runs cover %s tokens but there are %s ids", covered, ids.length);
    this.ids = ids;
    this.runCount = runs.count;
    this.runs = runs.data;
  }

  /**
   * Keeps ids that are never written (an encoding's, shared) and takes ownership of runs that
   * {@link MaskBuilder} just built, without copying or validating their values: its classes are
   * ordinals by construction and its weights come from a validated {@link LossPolicy}, so only the
   * coverage is checked.
   */
  static TokenizedExample adopt(int[] ids, Runs runs) {
    return new TokenizedExample(ids, runs);
  }

  /**
   * The same tokens, classes and turns with weights {@code byClass[class]} (indexed by {@link
   * TokenClass} ordinal; validated by the caller).
   */
  TokenizedExample withClassWeights(float[] byClass) {
    Runs out = new Runs(runCount);
    for (int k = 0; k < runCount; k++) {
      out.append(end(k), kind(k), turn(k), byClass[kind(k)]);
    }
    return new TokenizedExample(ids, out);
  }

  /** Tokens {@code from..from+length-1} as an example of their own, classes and weights kept. */
  public TokenizedExample slice(int from, int length) {
    checkPositionIndexes(from, from + length, ids.length);
    Runs out = new Runs(4);
    for (int k = length == 0 ? runCount : runOf(from); k < runCount; k++) {
      int end = Math.min(end(k), from + length) - from;
      out.append(end, kind(k), turn(k), weight(k));
      if (end == length) {
        break;
      }
    }
    return new TokenizedExample(Arrays.copyOfRange(ids, from, from + length), out);
  }

  /** Number of tokens. */
  public int length() {
    return ids.length;
  }

  public int idAt(int i) {
    return ids[i];
  }

  public float weightAt(int i) {
    return weight(runOf(i));
  }

  public TokenClass classAt(int i) {
    return TokenClass.ofOrdinal(kind(runOf(i)));
  }

  public int turnAt(int i) {
    return turn(runOf(i));
  }

  /** Copies {@code length} ids starting at token {@code from} into {@code dest[destPos...]}. */
  public void copyIds(int from, int[] dest, int destPos, int length) {
    System.arraycopy(ids, from, dest, destPos, length);
  }

  /**
   * Copies {@code length} weights starting at token {@code from} into {@code dest[destPos...]}.
   *
   * <p>The whole range first gets the weight of its last run (usually the output's, which most
   * tokens share) in one bulk copy; then only the runs of another weight are written over it. Short
   * copies cost far more per cell than one long one, so one long copy and a few short ones beat a
   * copy per run.
   */
  public void copyWeights(int from, float[] dest, int destPos, int length) {
    checkPositionIndexes(from, from + length, ids.length);
    checkPositionIndexes(destPos, destPos + length, dest.length);
    if (length == 0) {
      return;
    }
    int to = from + length;
    int last = to == ids.length ? runCount - 1 : runOf(to - 1);
    int baseBits = weightBits(last);
    Fill.fill(dest, destPos, destPos + length, Float.intBitsToFloat(baseBits));
    for (int k = runOf(from), i = from; k < last; k++) { // runs before last end within the range
      if (weightBits(k) != baseBits) {
        Fill.fill(dest, destPos + i - from, destPos + end(k) - from, weight(k));
      }
      i = end(k);
    }
  }

  /** Token ids, a copy. */
  public int[] ids() {
    return ids.clone();
  }

  /** Weights, a fresh array. */
  public float[] weights() {
    float[] out = new float[ids.length];
    copyWeights(0, out, 0, ids.length);
    return out;
  }

  /** Class ordinals, a fresh array. */
  public byte[] classes() {
    byte[] out = new byte[ids.length];
    for (int k = 0, i = 0; k < runCount; i = end(k++)) {
      Arrays.fill(out, i, end(k), kind(k));
    }
    return out;
  }

  /** Message index per token, a fresh array. */
  public int[] turns() {
    int[] out = new int[ids.length];
    for (int k = 0, i = 0; k < runCount; i = end(k++)) {
      Arrays.fill(out, i, end(k), turn(k));
    }
    return out;
  }

  /**
   * Sum of the weights of tokens 1..length-1 (the weight that can actually be predicted), in double
   * precision, added token by token in order: exactly what a loop over the cells of a batch's
   * weight column adds for this example (the loss normalisers rely on that).
   */
  public double predictedWeight() {
    return addPredictedWeights(0);
  }

  /**
   * {@code sum} plus the weights of tokens 1..length-1, added one at a time in token order (zeros
   * skipped), so that sums over several examples round exactly as a loop over their cells does.
   */
  public double addPredictedWeights(double sum) {
    for (int k = 0, i = 0; k < runCount; i = end(k++)) {
      double w = weight(k);
      if (w != 0) {
        for (int t = Math.max(i, 1); t < end(k); t++) {
          sum += w;
        }
      }
    }
    return sum;
  }

  /** Number of tokens 1..length-1 with a positive weight: the targets the example trains. */
  public int targetCount() {
    int count = 0;
    for (int k = 0, i = 0; k < runCount; i = end(k++)) {
      count += weight(k) > 0f ? end(k) - Math.max(i, 1) : 0;
    }
    return count;
  }

  /** Whether some token 1..length-1 has a positive weight: whether the example trains anything. */
  public boolean hasTarget() {
    for (int k = 0; k < runCount; k++) {
      if (weight(k) > 0f && end(k) > 1) {
        return true;
      }
    }
    return false;
  }

  /** The run holding token {@code i}: the first run that ends after it. */
  private int runOf(int i) {
    checkElementIndex(i, ids.length);
    int lo = 0;
    int hi = runCount - 1;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (end(mid) <= i) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  private int end(int run) {
    return runs[run * Runs.STRIDE];
  }

  private int turn(int run) {
    return runs[run * Runs.STRIDE + 1];
  }

  private byte kind(int run) {
    return (byte) runs[run * Runs.STRIDE + 2];
  }

  private float weight(int run) {
    return Float.intBitsToFloat(weightBits(run));
  }

  private int weightBits(int run) {
    return runs[run * Runs.STRIDE + 3];
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TokenizedExample e
        && Arrays.equals(ids, e.ids)
        && Arrays.equals(runs, 0, runCount * Runs.STRIDE, e.runs, 0, e.runCount * Runs.STRIDE);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(ids) * 31 + runCount;
  }

  @Override
  public String toString() {
    return "TokenizedExample[ids="
        + Arrays.toString(ids)
        + ", weights="
        + Arrays.toString(weights())
        + "]";
  }

  /**
   * Runs under construction: appending a run whose class, turn and weight equal the last one's
   * extends it, so runs stay maximal and equal examples have equal runs.
   */
  static final class Runs {
    static final int STRIDE = 4; // end, turn, class, weight bits
    int[] data;
    int count;

    Runs(int capacity) {
      data = new int[Math.max(capacity, 1) * STRIDE];
    }

    /** Tokens from the current end up to {@code to} (exclusive) have these values. */
    void append(int to, byte cls, int trn, float w) {
      int bits = Float.floatToIntBits(w);
      int last = (count - 1) * STRIDE;
      if (count > 0 && data[last + 1] == trn && data[last + 2] == cls && data[last + 3] == bits) {
        data[last] = to;
        return;
      }
      int at = count * STRIDE;
      if (at == data.length) {
        data = Arrays.copyOf(data, data.length * 2);
      }
      data[at] = to;
      data[at + 1] = trn;
      data[at + 2] = cls;
      data[at + 3] = bits;
      count++;
    }
  }
}
