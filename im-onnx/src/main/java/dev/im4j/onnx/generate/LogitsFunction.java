package dev.im4j.onnx.generate;

/** A causal language model seen from generation: the next-token logits of a token sequence. */
@FunctionalInterface
public interface LogitsFunction {
  /**
   * Logits for the token after {@code ids}.
   *
   * @param ids the sequence so far, {@code [length]}
   * @return {@code [vocab]}
   */
  float[] nextTokenLogits(int[] ids);
}
