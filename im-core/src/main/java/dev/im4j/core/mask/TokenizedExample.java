package dev.im4j.core.mask;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

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
 * <p>Immutable: arrays are copied in and handed out as copies; use the {@code ...At} accessors in
 * hot loops.
 */
public final class TokenizedExample {
  private final int[] ids; // [length]
  private final float[] weights; // [length], each finite and >= 0
  private final byte[] classes; // [length], TokenClass ordinals
  private final int[] turns; // [length], message index or -1

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
    this(
        checkNotNull(ids, "ids").clone(),
        checkNotNull(weights, "weights").clone(),
        checkNotNull(classes, "classes").clone(),
        checkNotNull(turns, "turns").clone(),
        true);
  }

  /** Takes ownership of the arrays; checks their values only if {@code validate}. */
  private TokenizedExample(
      int[] ids, float[] weights, byte[] classes, int[] turns, boolean validate) {
    checkArgument(
        ids.length == weights.length && ids.length == classes.length && ids.length == turns.length,
        "ids, weights, classes and turns must have one length but had %s, %s, %s, %s",
        ids.length,
        weights.length,
        classes.length,
        turns.length);
    int classCount = TokenClass.values().length;
    for (int i = 0; validate && i < weights.length; i++) {
      float w = weights[i];
      if (!(w >= 0f && w < Float.POSITIVE_INFINITY)) {
        throw new IllegalArgumentException(
            "weights[" + i + "] must be finite and >= 0 but was " + w);
      }
      if (classes[i] < 0 || classes[i] >= classCount) {
        throw new IllegalArgumentException(
            "classes[" + i + "] is not a TokenClass ordinal: " + classes[i]);
      }
    }
    this.ids = ids;
    this.weights = weights;
    this.classes = classes;
    this.turns = turns;
  }

  /**
   * Takes ownership of arrays that {@link MaskBuilder} just built, without copying or validating
   * them: its classes are ordinals by construction and its weights come from a validated {@link
   * LossPolicy}, so only the lengths are checked.
   */
  static TokenizedExample adopt(int[] ids, float[] weights, byte[] classes, int[] turns) {
    return new TokenizedExample(ids, weights, classes, turns, false);
  }

  /** Number of tokens. */
  public int length() {
    return ids.length;
  }

  public int idAt(int i) {
    return ids[i];
  }

  public float weightAt(int i) {
    return weights[i];
  }

  public TokenClass classAt(int i) {
    return TokenClass.ofOrdinal(classes[i]);
  }

  public int turnAt(int i) {
    return turns[i];
  }

  /** Copies {@code length} ids starting at token {@code from} into {@code dest[destPos...]}. */
  public void copyIds(int from, int[] dest, int destPos, int length) {
    System.arraycopy(ids, from, dest, destPos, length);
  }

  /** Copies {@code length} weights starting at token {@code from} into {@code dest[destPos...]}. */
  public void copyWeights(int from, float[] dest, int destPos, int length) {
    System.arraycopy(weights, from, dest, destPos, length);
  }

  /** Token ids, a copy. */
  public int[] ids() {
    return ids.clone();
  }

  /** Weights, a copy. */
  public float[] weights() {
    return weights.clone();
  }

  /** Class ordinals, a copy. */
  public byte[] classes() {
    return classes.clone();
  }

  /** Message index per token, a copy. */
  public int[] turns() {
    return turns.clone();
  }

  /**
   * Sum of the weights of tokens 1..length-1 (the weight that can actually be predicted), added up
   * in order in double precision; computed on each call.
   */
  public double predictedWeight() {
    double sum = 0;
    for (int i = 1; i < weights.length; i++) {
      sum += weights[i];
    }
    return sum;
  }

  /** Whether some token 1..length-1 has a positive weight: whether the example trains anything. */
  public boolean hasTarget() {
    for (int i = 1; i < weights.length; i++) {
      if (weights[i] > 0f) {
        return true;
      }
    }
    return false;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TokenizedExample e
        && Arrays.equals(ids, e.ids)
        && Arrays.equals(weights, e.weights)
        && Arrays.equals(classes, e.classes)
        && Arrays.equals(turns, e.turns);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(ids) * 31 + Arrays.hashCode(weights);
  }

  @Override
  public String toString() {
    return "TokenizedExample[ids="
        + Arrays.toString(ids)
        + ", weights="
        + Arrays.toString(weights)
        + "]";
  }
}
