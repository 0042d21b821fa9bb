package dev.im4j.onnx.generate;

import static com.google.common.base.Preconditions.checkArgument;

/**
 * How the next token is chosen.
 *
 * <p>With {@code temperature == 0} decoding is greedy (the arg-max, lowest id on ties) and the
 * other fields are ignored. Otherwise logits are divided by the temperature, the {@code topK} most
 * likely tokens are kept ({@code 0} keeps all), then the smallest set of most likely tokens whose
 * probabilities sum to at least {@code topP} ({@code 1} keeps all), and one token is drawn from the
 * renormalised rest with a generator seeded by {@code seed}.
 *
 * @param maxNewTokens most tokens to generate, {@code > 0}
 * @param temperature {@code >= 0}; 0 is greedy
 * @param topK {@code >= 0}; 0 disables the filter
 * @param topP in {@code (0, 1]}; 1 disables the filter
 * @param seed seed of the sampling generator
 */
public record SamplingConfig(
    int maxNewTokens, double temperature, int topK, double topP, long seed) {

  /** Tokens generated when not told otherwise. */
  public static final int DEFAULT_MAX_NEW_TOKENS = 128;

  public SamplingConfig {
    checkArgument(maxNewTokens > 0, "maxNewTokens must be > 0 but was %s", maxNewTokens);
    checkArgument(
        temperature >= 0 && Double.isFinite(temperature),
        "temperature must be finite and >= 0 but was %s",
        temperature);
    checkArgument(topK >= 0, "topK must be >= 0 (0 disables it) but was %s", topK);
    checkArgument(topP > 0 && topP <= 1, "topP must be in (0, 1] (1 disables it) but was %s", topP);
  }

  /** Greedy decoding of up to {@link #DEFAULT_MAX_NEW_TOKENS} tokens. */
  public static SamplingConfig greedy() {
    return new SamplingConfig(DEFAULT_MAX_NEW_TOKENS, 0, 0, 1, 0);
  }

  public SamplingConfig withMaxNewTokens(int value) {
    return new SamplingConfig(value, temperature, topK, topP, seed);
  }
}
