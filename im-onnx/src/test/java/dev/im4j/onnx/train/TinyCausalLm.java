package dev.im4j.onnx.train;

import static com.google.common.base.Preconditions.checkArgument;

import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.graph.Shape;
import dev.im4j.onnx.graph.Value;
import dev.im4j.onnx.model.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * A tiny causal LM for im-onnx's tests: per position, no mixing between positions (a bigram model
 * with a residual MLP), with a plain-Java twin in {@link TinyLmReference}.
 *
 * <pre>
 * x = E[ids] + noise                     // [B, T, H], E = model.embed_tokens.weight [V, H]
 * h = x + tanh(x · Wᵀ)                   // [B, T, H], W = model.layers.0.mlp.weight [H, H]
 * logits = h · Lᵀ                        // [B, T, V], L = lm_head.weight [V, H], or E if tied
 * </pre>
 *
 * Weights are drawn uniformly from ±0.5 with a seeded generator.
 */
public final class TinyCausalLm implements CausalLmSource {
  /** The embedding's name. */
  public static final String EMBED = "model.embed_tokens.weight";

  /** The MLP weight's name. */
  public static final String MLP = "model.layers.0.mlp.weight";

  /** The untied LM head's name. */
  public static final String LM_HEAD = "lm_head.weight";

  private final int vocab;
  private final int hidden;
  private final boolean tied;
  private final long seed;

  private TinyCausalLm(int vocab, int hidden, boolean tied, long seed) {
    checkArgument(vocab > 1 && hidden > 0, "vocab > 1, hidden > 0 but %s, %s", vocab, hidden);
    this.vocab = vocab;
    this.hidden = hidden;
    this.tied = tied;
    this.seed = seed;
  }

  /**
   * A model of vocabulary {@code vocab} and width {@code hidden}; {@code tied} shares E as head.
   */
  public static TinyCausalLm of(int vocab, int hidden, boolean tied, long seed) {
    return new TinyCausalLm(vocab, hidden, tied, seed);
  }

  @Override
  public TrainingGraph trainingGraph(Set<String> frozen) {
    return LmGraphs.build(this::forward, hidden, frozen).training();
  }

  /** The forward pass: declares the parameters and returns the logits [B, T, V]. */
  public LmGraphs.Forward forward(Graph g, LmGraphs.Inputs inputs) {
    Value e = g.input(EMBED, DType.FLOAT, Shape.of(vocab, hidden)); // [V, H]
    Value w = g.input(MLP, DType.FLOAT, Shape.of(hidden, hidden)); // [H, H]
    Value head = tied ? e : g.input(LM_HEAD, DType.FLOAT, Shape.of(vocab, hidden)); // [V, H]
    Value x = g.add(g.gather(e, inputs.inputIds(), 0), inputs.embeddingNoise()); // [B, T, H]
    Value h = g.add(x, g.tanh(g.matMul(x, g.transpose(w, 1, 0)))); // [B, T, H]
    Value logits = g.matMul(h, g.transpose(head, 1, 0)); // [B, T, V]
    List<Value> params = new ArrayList<>(List.of(e, w));
    if (!tied) {
      params.add(head);
    }
    return new LmGraphs.Forward(logits, params);
  }

  @Override
  public List<Tensor> initialWeights() {
    SplittableRandom random = new SplittableRandom(seed);
    List<Tensor> out = new ArrayList<>();
    out.add(Tensor.of(EMBED, new long[] {vocab, hidden}, uniform(random, vocab * hidden)));
    out.add(Tensor.of(MLP, new long[] {hidden, hidden}, uniform(random, hidden * hidden)));
    if (!tied) {
      out.add(Tensor.of(LM_HEAD, new long[] {vocab, hidden}, uniform(random, vocab * hidden)));
    }
    return out;
  }

  @Override
  public int hiddenSize() {
    return hidden;
  }

  @Override
  public int vocabSize() {
    return vocab;
  }

  /** Whether the LM head is the embedding. */
  public boolean tied() {
    return tied;
  }

  private static float[] uniform(SplittableRandom random, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) (random.nextDouble() - 0.5);
    }
    return a;
  }
}
