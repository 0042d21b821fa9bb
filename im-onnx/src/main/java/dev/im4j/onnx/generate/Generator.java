package dev.im4j.onnx.generate;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import java.util.Arrays;
import java.util.Set;

/**
 * Generates a continuation token by token: asks the model for next-token logits, picks a token with
 * a {@link Sampler}, stops at a stop token (EOS or end of turn; it is included in the output) or
 * after {@link SamplingConfig#maxNewTokens()}.
 */
public final class Generator {
  private final LogitsFunction model;
  private final Set<Integer> stopTokens;

  /**
   * @param model next-token logits
   * @param stopTokens ids that end generation (for chat models the EOS and end-of-turn ids)
   */
  public Generator(LogitsFunction model, Set<Integer> stopTokens) {
    this.model = checkNotNull(model, "model");
    this.stopTokens = Set.copyOf(stopTokens);
  }

  /** The generated ids (without the prompt), ending with a stop token if one was produced. */
  public int[] generate(int[] prompt, SamplingConfig config) {
    checkArgument(prompt.length > 0, "the prompt must hold at least one token");
    Sampler sampler = new Sampler(config);
    int[] sequence = Arrays.copyOf(prompt, prompt.length + config.maxNewTokens());
    int length = prompt.length;
    for (int step = 0; step < config.maxNewTokens(); step++) {
      int next = sampler.next(model.nextTokenLogits(Arrays.copyOf(sequence, length)));
      sequence[length++] = next;
      if (stopTokens.contains(next)) {
        break;
      }
    }
    return Arrays.copyOfRange(sequence, prompt.length, length);
  }
}
