package dev.im4j.core.mask;

import static com.google.common.base.Preconditions.checkNotNull;

/**
 * One encoded conversation: token ids, each token's {@link TokenClass} and the message it belongs
 * to, and no loss weights yet. A {@link LossPolicy} turns it into a {@link TokenizedExample} with
 * {@link LossPolicy#weigh}; that is the only way weights are made from an encoded conversation, so
 * the policy is decided in one place (the trainer's, {@code prepare}'s or an evaluation's).
 *
 * <p>Immutable.
 */
public final class ClassifiedExample {
  /**
   * The tokens with every weight 0: classes and turns are what this type offers, and an example
   * that escaped unweighed would train nothing rather than something unasked for.
   */
  private final TokenizedExample unweighed;

  private ClassifiedExample(TokenizedExample unweighed) {
    this.unweighed = unweighed;
  }

  /** Wraps an example built under {@link LossPolicy#NONE} (all weights 0). */
  static ClassifiedExample adopt(TokenizedExample unweighed) {
    return new ClassifiedExample(unweighed);
  }

  /** The ids, classes and turns of {@code example}; its weights are dropped. */
  public static ClassifiedExample of(TokenizedExample example) {
    checkNotNull(example, "example");
    return new ClassifiedExample(LossPolicy.NONE.reweigh(example));
  }

  /** Validates and copies the arrays, as {@link TokenizedExample}'s constructor does. */
  public static ClassifiedExample of(int[] ids, byte[] classes, int[] turns) {
    checkNotNull(ids, "ids");
    return new ClassifiedExample(new TokenizedExample(ids, new float[ids.length], classes, turns));
  }

  /** The example weighed by {@code policy}: see {@link LossPolicy#weigh}. */
  TokenizedExample weighedBy(LossPolicy policy) {
    return policy.reweigh(unweighed);
  }

  /** Number of tokens. */
  public int length() {
    return unweighed.length();
  }

  public int idAt(int i) {
    return unweighed.idAt(i);
  }

  public TokenClass classAt(int i) {
    return unweighed.classAt(i);
  }

  public int turnAt(int i) {
    return unweighed.turnAt(i);
  }

  /** Token ids, a copy. */
  public int[] ids() {
    return unweighed.ids();
  }

  /** Class ordinals, a fresh array. */
  public byte[] classes() {
    return unweighed.classes();
  }

  /** Message index per token (-1 for template text), a fresh array. */
  public int[] turns() {
    return unweighed.turns();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ClassifiedExample other && unweighed.equals(other.unweighed);
  }

  @Override
  public int hashCode() {
    return unweighed.hashCode();
  }

  @Override
  public String toString() {
    return "ClassifiedExample[" + length() + " tokens]";
  }
}
