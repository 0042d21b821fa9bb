package dev.im4j.onnx.train;

import dev.im4j.core.mask.ClassifiedExample;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.mask.TokenClass;
import dev.im4j.core.mask.TokenizedExample;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Hand-made tokenized examples: a user prompt, then an assistant reply and a terminator. */
final class Examples {
  private Examples() {}

  /** One example: prompt ids (turn 0, USER), reply ids (turn 1, ASSISTANT), terminator 1. */
  static TokenizedExample of(LossPolicy policy, int[] prompt, int[] reply) {
    int n = prompt.length + reply.length + 1;
    int[] ids = new int[n];
    byte[] classes = new byte[n];
    int[] turns = new int[n];
    for (int i = 0; i < prompt.length; i++) {
      ids[i] = prompt[i];
      classes[i] = (byte) TokenClass.USER.ordinal();
    }
    for (int i = 0; i < reply.length; i++) {
      ids[prompt.length + i] = reply[i];
      classes[prompt.length + i] = (byte) TokenClass.ASSISTANT.ordinal();
      turns[prompt.length + i] = 1;
    }
    ids[n - 1] = 1;
    classes[n - 1] = (byte) TokenClass.TERMINATOR.ordinal();
    turns[n - 1] = 1;
    return new TokenizedExample(ids, policy.weights(classes, turns), classes, turns);
  }

  /** The examples' ids, classes and turns, as the trainer takes them (their weights dropped). */
  static List<ClassifiedExample> classified(List<TokenizedExample> examples) {
    return examples.stream().map(ClassifiedExample::of).toList();
  }

  /** {@code count} random examples over ids [2, vocab), lengths 2..6 prompt and 1..4 reply. */
  static List<TokenizedExample> random(LossPolicy policy, int count, int vocab, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    List<TokenizedExample> out = new ArrayList<>();
    for (int e = 0; e < count; e++) {
      int[] prompt = r.ints(2 + r.nextInt(5), 2, vocab).toArray();
      int[] reply = r.ints(1 + r.nextInt(4), 2, vocab).toArray();
      out.add(of(policy, prompt, reply));
    }
    return out;
  }
}
