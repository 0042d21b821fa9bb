package dev.im4j.core.mask;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import dev.im4j.core.data.Role;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * Which tokens get loss, and how much: the weight of every {@link TokenClass}.
 *
 * <table>
 *   <caption>Weights per token class</caption>
 *   <tr><th>kind</th><th>template</th><th>system/user</th><th>assistant + terminator</th></tr>
 *   <tr><td>{@link Kind#OUTPUT_ONLY} (IT)</td><td>0</td><td>0</td><td>1</td></tr>
 *   <tr><td>{@link Kind#INSTRUCTION_MODELLING} (IM, the paper's)</td><td>0</td><td>1</td><td>1</td></tr>
 *   <tr><td>{@link Kind#ALL_TOKENS}</td><td>1</td><td>1</td><td>1</td></tr>
 *   <tr><td>{@link Kind#PROMPT_WEIGHT} λ</td><td>0</td><td>λ</td><td>1</td></tr>
 *   <tr><td>{@link Kind#REFERENCE_CODE_COMPATIBLE}</td><td colspan="3">1 everywhere but the
 *       template tokens before the first content token (BOS and the first role header)</td></tr>
 * </table>
 *
 * <p>Plain text ({@link TokenClass#TEXT}) weighs 1 under every policy: a document has no prompt and
 * no template, so IT and IM agree on it; only a policy restricted to no roles at all ({@code
 * withRoles(Set.of())}), which trains nothing, gives it 0.
 *
 * <p>Options on top: {@link #roles()} keeps only the content of the selected roles (others weigh
 * 0); {@link #lastAssistantTurnOnly()} treats earlier assistant turns as prompt (they get the
 * prompt weight: 0 under IT, 1 under IM); {@link #trainTerminator()} trains the token that closes
 * each assistant turn with that turn's weight (otherwise the terminator counts as template). The
 * options do not apply to {@link Kind#REFERENCE_CODE_COMPATIBLE}, which reproduces the released
 * reference code (Shi et al., NeurIPS 2024) and must keep its defaults.
 *
 * @param kind the base policy
 * @param promptWeight weight of system and user content, in [0, 1]; fixed by the kind except for
 *     {@link Kind#PROMPT_WEIGHT}
 * @param roles roles whose content may be trained
 * @param lastAssistantTurnOnly whether only the last assistant message counts as output
 * @param trainTerminator whether each trained assistant turn's terminator is trained
 */
public record LossPolicy(
    Kind kind,
    float promptWeight,
    Set<Role> roles,
    boolean lastAssistantTurnOnly,
    boolean trainTerminator) {

  /** The base policies; see {@link LossPolicy}. */
  public enum Kind {
    OUTPUT_ONLY("it"),
    INSTRUCTION_MODELLING("im"),
    ALL_TOKENS("all"),
    PROMPT_WEIGHT("prompt-weight"),
    REFERENCE_CODE_COMPATIBLE("reference");

    private final String shortName;

    Kind(String shortName) {
      this.shortName = shortName;
    }

    /**
     * The policy's short name, as the paper abbreviates it: it, im, all, prompt-weight, reference.
     */
    public String shortName() {
      return shortName;
    }
  }

  public LossPolicy {
    checkNotNull(kind, "kind");
    checkNotNull(roles, "roles");
    // In enum order, so that equal policies also print alike (Set.copyOf's order varies by JVM).
    roles = roles.isEmpty() ? Set.of() : Collections.unmodifiableSet(EnumSet.copyOf(roles));
    checkArgument(
        promptWeight >= 0f && promptWeight <= 1f,
        "promptWeight must be in [0, 1] but was %s",
        promptWeight);
    float fixed = fixedPromptWeight(kind);
    checkArgument(
        kind == Kind.PROMPT_WEIGHT || promptWeight == fixed,
        "%s has prompt weight %s, but %s was given; use Kind.PROMPT_WEIGHT for another weight",
        kind,
        fixed,
        promptWeight);
    checkArgument(
        kind != Kind.REFERENCE_CODE_COMPATIBLE
            || (roles.equals(EnumSet.allOf(Role.class))
                && !lastAssistantTurnOnly
                && trainTerminator),
        "REFERENCE_CODE_COMPATIBLE reproduces the reference code and takes no options");
  }

  private static float fixedPromptWeight(Kind kind) {
    return kind == Kind.OUTPUT_ONLY ? 0f : 1f;
  }

  private static LossPolicy of(Kind kind, float promptWeight) {
    return new LossPolicy(kind, promptWeight, EnumSet.allOf(Role.class), false, true);
  }

  /** Weight 0 on every token: how {@link ClassifiedExample} holds its tokens. */
  static final LossPolicy NONE = new LossPolicy(Kind.OUTPUT_ONLY, 0f, Set.of(), false, true);

  /** IT: loss on assistant content and its terminator only. */
  public static LossPolicy outputOnly() {
    return of(Kind.OUTPUT_ONLY, 0f);
  }

  /** IM (the paper's definition, the default): loss on all content, no loss on template tokens. */
  public static LossPolicy instructionModelling() {
    return of(Kind.INSTRUCTION_MODELLING, 1f);
  }

  /** Plain language modelling: loss on every token. */
  public static LossPolicy allTokens() {
    return of(Kind.ALL_TOKENS, 1f);
  }

  /** Instruction content weighted λ ∈ [0, 1]: λ = 0 is IT, λ = 1 is IM. */
  public static LossPolicy promptWeight(float lambda) {
    return of(Kind.PROMPT_WEIGHT, lambda);
  }

  /** The released reference code's IM: loss on all but BOS and the first role header. */
  public static LossPolicy referenceCodeCompatible() {
    return of(Kind.REFERENCE_CODE_COMPATIBLE, 1f);
  }

  /**
   * Parses a policy's short name (it, im, all, reference) or its long form.
   *
   * @throws IllegalArgumentException naming the allowed names
   */
  public static LossPolicy fromName(String name) {
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "it", "output-only" -> outputOnly();
      case "im", "instruction-modelling" -> instructionModelling();
      case "all", "all-tokens" -> allTokens();
      case "reference", "reference-code-compatible" -> referenceCodeCompatible();
      default ->
          throw new IllegalArgumentException(
              "unknown policy '" + name + "'; allowed: it, im, all, reference");
    };
  }

  /** This policy restricted to the content of {@code selected} roles. */
  public LossPolicy withRoles(Set<Role> selected) {
    return new LossPolicy(kind, promptWeight, selected, lastAssistantTurnOnly, trainTerminator);
  }

  /** This policy with only the last assistant message counted as output. */
  public LossPolicy withLastAssistantTurnOnly(boolean value) {
    return new LossPolicy(kind, promptWeight, roles, value, trainTerminator);
  }

  /** This policy with terminator training switched on or off. */
  public LossPolicy withTrainTerminator(boolean value) {
    return new LossPolicy(kind, promptWeight, roles, lastAssistantTurnOnly, value);
  }

  /**
   * The weight of every token of a classified sequence.
   *
   * @param classes token class ordinals, {@code [n]}
   * @param turns message index per token (-1 for template text), {@code [n]}
   * @return weights, {@code [n]}
   */
  public float[] weights(byte[] classes, int[] turns) {
    int n = classes.length;
    float[] weights = new float[n];
    if (kind == Kind.REFERENCE_CODE_COMPATIBLE) {
      int i = 0;
      while (i < n && classes[i] == TokenClass.TEMPLATE.ordinal()) {
        i++; // BOS and the first header: the only tokens the reference code masks
      }
      for (; i < n; i++) {
        weights[i] = 1f;
      }
      return weights;
    }
    // One weight per class; only last-assistant-turn-only needs the turn of each token.
    float[] byClass = classWeights();
    float output = byClass[TokenClass.ASSISTANT.ordinal()];
    for (int i = 0; i < n; i++) {
      weights[i] = byClass[classes[i]];
    }
    if (lastAssistantTurnOnly && output > 0f) {
      int lastAssistant = -1;
      for (int i = 0; i < n; i++) {
        if (classes[i] == TokenClass.ASSISTANT.ordinal()) {
          lastAssistant = Math.max(lastAssistant, turns[i]);
        }
      }
      byte assistant = (byte) TokenClass.ASSISTANT.ordinal();
      byte terminator = (byte) TokenClass.TERMINATOR.ordinal();
      for (int i = 0; i < n; i++) {
        boolean answer = classes[i] == assistant || (classes[i] == terminator && trainTerminator);
        if (answer && turns[i] != lastAssistant) {
          weights[i] = promptWeight; // an earlier answer counts as prompt
        }
      }
    }
    return weights;
  }

  /**
   * The weight of each {@link TokenClass} (indexed by ordinal), before the last-assistant-turn
   * rule; not meaningful for {@link Kind#REFERENCE_CODE_COMPATIBLE}, which weighs by position.
   */
  float[] classWeights() {
    float template = kind == Kind.ALL_TOKENS ? 1f : 0f;
    float output = roles.contains(Role.ASSISTANT) ? 1f : 0f;
    float[] byClass = new float[TokenClass.values().length];
    byClass[TokenClass.TEMPLATE.ordinal()] = template;
    byClass[TokenClass.SYSTEM.ordinal()] = roles.contains(Role.SYSTEM) ? promptWeight : 0f;
    byClass[TokenClass.USER.ordinal()] = roles.contains(Role.USER) ? promptWeight : 0f;
    byClass[TokenClass.ASSISTANT.ordinal()] = output;
    byClass[TokenClass.TERMINATOR.ordinal()] = trainTerminator ? output : template;
    byClass[TokenClass.TEXT.ordinal()] = roles.isEmpty() ? 0f : 1f;
    return byClass;
  }

  /** Whether a token's weight depends only on its class ({@link #classWeights()} suffices). */
  boolean weighsByClassOnly() {
    return kind != Kind.REFERENCE_CODE_COMPATIBLE && !lastAssistantTurnOnly;
  }

  /**
   * Weighs an encoded conversation by this policy: the one step where weights are made from classes
   * and turns (the trainer, {@code prepare} and evaluations each call it with their policy).
   */
  public TokenizedExample weigh(ClassifiedExample example) {
    checkNotNull(example, "example");
    return example.weighedBy(this);
  }

  /** The same tokens weighted by this policy. */
  public TokenizedExample reweigh(TokenizedExample example) {
    if (weighsByClassOnly()) {
      return example.withClassWeights(classWeights());
    }
    return new TokenizedExample(
        example.ids(),
        weights(example.classes(), example.turns()),
        example.classes(),
        example.turns());
  }
}
