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
 * <p>Arrays are copied in and handed out as copies; use the {@code ...At} accessors in hot loops.
 *
 * @param ids token ids, {@code [length]}
 * @param weights loss weight per token as a target, each finite and {@code >= 0}, {@code [length]}
 * @param classes token class ordinals, {@code [length]}
 * @param turns message index per token, {@code [length]}
 */
public record TokenizedExample(int[] ids, float[] weights, byte[] classes, int[] turns) {
  public TokenizedExample {
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
    for (int i = 0; i < weights.length; i++) {
      float w = weights[i];
      checkArgument(
          Float.isFinite(w) && w >= 0f,
          "weights[%s] must be finite and >= 0 but was %s",
          i,
          (Float) w);
      checkArgument(
          classes[i] >= 0 && classes[i] < TokenClass.values().length,
          "classes[%s] is not a TokenClass ordinal: %s",
          i,
          classes[i]);
    }
    ids = ids.clone();
    weights = weights.clone();
    classes = classes.clone();
    turns = turns.clone();
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

  @Override
  public int[] ids() {
    return ids.clone();
  }

  @Override
  public float[] weights() {
    return weights.clone();
  }

  @Override
  public byte[] classes() {
    return classes.clone();
  }

  @Override
  public int[] turns() {
    return turns.clone();
  }

  /** Sum of the weights of tokens 1..length-1: the weight that can actually be predicted. */
  public double predictedWeight() {
    double sum = 0;
    for (int i = 1; i < weights.length; i++) {
      sum += weights[i];
    }
    return sum;
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
