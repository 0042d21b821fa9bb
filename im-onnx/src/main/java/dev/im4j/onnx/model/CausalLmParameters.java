package dev.im4j.onnx.model;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import dev.im4j.onnx.graph.DType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;

/**
 * The parameters transformers saves for each architecture, checking loaded weights against them,
 * and a seeded random initialisation.
 *
 * <p>LLaMA family ({@code LlamaForCausalLM}, {@code MistralForCausalLM}, {@code Qwen2ForCausalLM}):
 * {@code model.embed_tokens}, per layer {@code model.layers.{i}.self_attn.{q,k,v,o}_proj}, {@code
 * mlp.{gate,up,down}_proj} and the two RMSNorm scales, {@code model.norm}, and {@code lm_head}
 * unless tied. Linear weights are {@code [out, in]}.
 *
 * <p>GPT-2 ({@code GPT2LMHeadModel}): the body lives under {@code transformer.}; its Conv1D weights
 * are {@code [in, out]} (transposed against Linear), so {@code c_attn.weight} is {@code [H, 3H]}.
 * Checkpoints saved from the bare {@code GPT2Model} (such as OpenAI's original {@code gpt2}) have
 * no prefix; {@link #validate} accepts both and returns prefixed names.
 */
public final class CausalLmParameters {
  private static final String GPT2_PREFIX = "transformer.";

  private CausalLmParameters() {}

  /** Every parameter of {@code config}'s model, in module order. */
  public static List<ParameterSpec> expected(CausalLmConfig config) {
    checkNotNull(config, "config must not be null");
    List<ParameterSpec> out = new ArrayList<>();
    long v = config.vocabSize();
    long h = config.hiddenSize();
    long inter = config.intermediateSize();
    if (config.modelType() == ModelType.GPT2) {
      String p = GPT2_PREFIX;
      normal(out, p + "wte.weight", v, h); // [vocab, hidden]
      normal(out, p + "wpe.weight", config.maxPositionEmbeddings(), h); // [positions, hidden]
      for (int i = 0; i < config.numLayers(); i++) {
        String l = p + "h." + i + ".";
        layerNorm(out, l + "ln_1", h);
        normal(out, l + "attn.c_attn.weight", h, 3 * h); // [hidden, 3 * hidden], Conv1D
        zeros(out, l + "attn.c_attn.bias", 3 * h);
        normal(out, l + "attn.c_proj.weight", h, h); // [hidden, hidden]
        zeros(out, l + "attn.c_proj.bias", h);
        layerNorm(out, l + "ln_2", h);
        normal(out, l + "mlp.c_fc.weight", h, inter); // [hidden, inner]
        zeros(out, l + "mlp.c_fc.bias", inter);
        normal(out, l + "mlp.c_proj.weight", inter, h); // [inner, hidden]
        zeros(out, l + "mlp.c_proj.bias", h);
      }
      layerNorm(out, p + "ln_f", h);
    } else {
      long q = (long) config.numHeads() * config.headDim();
      long kv = (long) config.numKvHeads() * config.headDim();
      normal(out, "model.embed_tokens.weight", v, h); // [vocab, hidden]
      for (int i = 0; i < config.numLayers(); i++) {
        String l = "model.layers." + i + ".";
        ones(out, l + "input_layernorm.weight", h);
        normal(out, l + "self_attn.q_proj.weight", q, h); // [heads * headDim, hidden]
        if (config.qkvBias()) {
          zeros(out, l + "self_attn.q_proj.bias", q);
        }
        normal(out, l + "self_attn.k_proj.weight", kv, h); // [kvHeads * headDim, hidden]
        if (config.qkvBias()) {
          zeros(out, l + "self_attn.k_proj.bias", kv);
        }
        normal(out, l + "self_attn.v_proj.weight", kv, h); // [kvHeads * headDim, hidden]
        if (config.qkvBias()) {
          zeros(out, l + "self_attn.v_proj.bias", kv);
        }
        normal(out, l + "self_attn.o_proj.weight", h, q); // [hidden, heads * headDim]
        if (config.outputProjBias()) {
          zeros(out, l + "self_attn.o_proj.bias", h);
        }
        ones(out, l + "post_attention_layernorm.weight", h);
        normal(out, l + "mlp.gate_proj.weight", inter, h); // [intermediate, hidden]
        normal(out, l + "mlp.up_proj.weight", inter, h); // [intermediate, hidden]
        normal(out, l + "mlp.down_proj.weight", h, inter); // [hidden, intermediate]
      }
      ones(out, "model.norm.weight", h);
    }
    if (!config.tieWordEmbeddings()) {
      normal(out, "lm_head.weight", v, h); // [vocab, hidden]
    }
    return List.copyOf(out);
  }

  /** The name of the LM head, which a tied model may omit. */
  public static String lmHeadName() {
    return "lm_head.weight";
  }

  private static void normal(List<ParameterSpec> out, String name, long rows, long cols) {
    out.add(new ParameterSpec(name, new long[] {rows, cols}, ParameterSpec.Init.NORMAL));
  }

  private static void ones(List<ParameterSpec> out, String name, long n) {
    out.add(new ParameterSpec(name, new long[] {n}, ParameterSpec.Init.ONES));
  }

  private static void zeros(List<ParameterSpec> out, String name, long n) {
    out.add(new ParameterSpec(name, new long[] {n}, ParameterSpec.Init.ZEROS));
  }

  private static void layerNorm(List<ParameterSpec> out, String prefix, long n) {
    ones(out, prefix + ".weight", n);
    zeros(out, prefix + ".bias", n);
  }

  /**
   * A complete fresh weight set: Normal(0, {@code initializer_range}) matrices, ones for norm
   * scales, zeros for biases, stored as {@code dtype} (values are rounded to it so that saving is
   * exact). Each tensor draws from its own {@link Random} seeded by {@code seed} and its name, so a
   * tensor's values do not depend on the others; equal arguments give equal weights on every JVM.
   * Nothing is allocated: a tensor's values are generated again whenever they are read.
   *
   * <p>Simpler than transformers' own initialisation, which also zeroes the embedding row of {@code
   * pad_token_id} (LLaMA family) and scales GPT-2's {@code c_proj} weights by {@code 1/sqrt(2 *
   * n_layer)}; this one is meant for tests and demos, not for pre-training.
   *
   * @throws IllegalArgumentException if a tensor has more than {@link
   *     SafetensorsFile#MAX_ARRAY_ELEMENTS} elements or {@code dtype} is not floating
   */
  public static Weights initialize(CausalLmConfig config, long seed, DType dtype) {
    checkArgument(
        SafetensorsDTypes.isWeight(dtype), "dtype must be F32, F16 or BF16 but was %s", dtype);
    List<Tensor> tensors = new ArrayList<>();
    for (ParameterSpec spec : expected(config)) {
      long numel = spec.numel();
      checkArgument(
          numel <= SafetensorsFile.MAX_ARRAY_ELEMENTS,
          "%s has %s elements, more than one float array holds",
          spec.name(),
          numel);
      TensorValues values =
          switch (spec.init()) {
            case ONES -> new TensorValues.Constant(1f);
            case ZEROS -> new TensorValues.Constant(0f);
            case NORMAL ->
                new TensorValues.Gaussian(
                    seedFor(seed, spec.name()), (float) config.initializerRange(), dtype);
          };
      tensors.add(Tensor.lazy(spec.name(), dtype, spec.shape(), values));
    }
    return Weights.of(tensors);
  }

  /** The seed of tensor {@code name}'s own generator in a weight set seeded by {@code seed}. */
  static long seedFor(long seed, String name) {
    long z = seed * 0x9E3779B97F4A7C15L + name.hashCode();
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /**
   * Checks loaded weights against {@code config} and returns them under the canonical names.
   *
   * <p>Accepted besides the exact set: a tied model's {@code lm_head.weight} (ignored by
   * transformers, dropped here); GPT-2 names without the {@code transformer.} prefix; buffers that
   * older transformers versions saved ({@code attn.bias}, {@code attn.masked_bias} of GPT-2, {@code
   * rotary_emb.inv_freq} of LLaMA), which are dropped.
   *
   * @param source names the checkpoint in messages (a directory or file)
   * @throws SafetensorsException listing every missing, unexpected and misshaped tensor, or naming
   *     the first tensor holding a NaN or infinite value
   */
  public static Weights validate(CausalLmConfig config, Weights weights, String source) {
    Map<String, Tensor> byName = new LinkedHashMap<>();
    boolean gpt2 = config.modelType() == ModelType.GPT2;
    boolean unprefixed = gpt2 && weights.names().stream().noneMatch(n -> n.startsWith(GPT2_PREFIX));
    for (Tensor t : weights.tensors()) {
      String name = t.name();
      if (isLegacyBuffer(gpt2, name)) {
        continue;
      }
      if (unprefixed && !name.equals(lmHeadName())) {
        name = GPT2_PREFIX + name;
      }
      byName.put(name, name.equals(t.name()) ? t : t.withName(name));
    }
    List<ParameterSpec> expected = expected(config);
    TreeSet<String> missing = new TreeSet<>();
    List<String> misshaped = new ArrayList<>();
    List<Tensor> out = new ArrayList<>();
    for (ParameterSpec spec : expected) {
      Tensor t = byName.remove(spec.name());
      if (t == null) {
        missing.add(spec.name());
      } else if (!t.hasShape(spec.shape())) {
        misshaped.add(
            spec.name()
                + " is "
                + Arrays.toString(t.shape())
                + ", expected "
                + Arrays.toString(spec.shape()));
      } else {
        out.add(t);
      }
    }
    if (config.tieWordEmbeddings()) {
      Tensor head = byName.remove(lmHeadName());
      long[] embedding = {config.vocabSize(), config.hiddenSize()};
      if (head != null && !head.hasShape(embedding)) {
        misshaped.add(
            lmHeadName()
                + " is "
                + Arrays.toString(head.shape())
                + ", expected "
                + Arrays.toString(embedding));
      }
    }
    TreeSet<String> unexpected = new TreeSet<>(byName.keySet());
    if (!missing.isEmpty() || !unexpected.isEmpty() || !misshaped.isEmpty()) {
      StringBuilder b = new StringBuilder(source).append(": weights do not match config.json (");
      b.append(config.modelType().hfName())
          .append(", ")
          .append(config.numLayers())
          .append(" layers)");
      if (!missing.isEmpty()) {
        b.append("; missing ").append(missing.size()).append(": ").append(missing);
      }
      if (!unexpected.isEmpty()) {
        b.append("; unexpected ").append(unexpected.size()).append(": ").append(unexpected);
      }
      if (!misshaped.isEmpty()) {
        b.append("; misshaped ").append(misshaped.size()).append(": ").append(misshaped);
      }
      b.append("; check that config.json belongs to these weights");
      throw new SafetensorsException(b.toString());
    }
    for (Tensor t : out) {
      if (t.finiteByConstruction()) {
        continue; // seeded initialisation: producing every value only to look at it costs seconds
      }
      t.forEachChunk(
          (from, values, n) -> {
            for (int i = 0; i < n; i++) {
              if (!Float.isFinite(values[i])) {
                throw new SafetensorsException(
                    source
                        + ": tensor "
                        + t.name()
                        + " holds "
                        + values[i]
                        + " at element "
                        + (from + i)
                        + "; weights must be finite (the checkpoint is corrupt or from a diverged"
                        + " run)");
              }
            }
          });
    }
    return Weights.of(out);
  }

  private static boolean isLegacyBuffer(boolean gpt2, String name) {
    return gpt2
        ? name.endsWith(".attn.bias") || name.endsWith(".attn.masked_bias")
        : name.endsWith(".rotary_emb.inv_freq");
  }
}
