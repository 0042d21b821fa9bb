package dev.im4j.onnx.model;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import dev.im4j.onnx.graph.DType;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * LoRA adapters (Hu et al., 2021) as Hugging Face PEFT defines them. Each targeted projection with
 * frozen weight {@code W} computes {@code x Wᵀ + s · (x Aᵀ) Bᵀ} with trainable {@code A [r, in]}
 * and {@code B [out, r]}; {@code s = alpha / r}, or {@code alpha / √r} with rsLoRA. {@code A}
 * starts as PEFT's Kaiming-uniform ({@code kaiming_uniform_(a=√5)}: uniform on {@code ±1/√in}),
 * {@code B} at zero, so that the adapted model starts as the base model.
 *
 * <p>Defaults are PEFT's {@code LoraConfig}: rank {@value #DEFAULT_RANK}, alpha {@value
 * #DEFAULT_ALPHA}, no rsLoRA; the targets default to every attention and MLP projection of the
 * family ({@link #defaultTargets}). A target names modules as PEFT's {@code target_modules} does: a
 * module matches if its full name equals the target or ends with {@code "." + target}, so {@code
 * c_proj} adapts both of GPT-2's. Adapter tensors are named after their module, {@code
 * <module>.lora_A.weight} and {@code <module>.lora_B.weight} (PEFT's names without its {@code
 * base_model.model.} prefix), in the layout of PEFT's {@code nn.Linear} for GPT-2's Conv1D layers
 * too.
 *
 * <p>Immutable; each {@code with...} returns a copy.
 */
public final class LoraConfig {
  /** PEFT's default rank {@code r}. */
  public static final int DEFAULT_RANK = 8;

  /** PEFT's default {@code lora_alpha}. */
  public static final double DEFAULT_ALPHA = 8;

  /** Suffix of an adapter's down projection, {@code [r, in]}. */
  public static final String A_SUFFIX = ".lora_A.weight";

  /** Suffix of an adapter's up projection, {@code [out, r]}. */
  public static final String B_SUFFIX = ".lora_B.weight";

  private static final List<String> LLAMA_TARGETS =
      List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");
  private static final List<String> GPT2_TARGETS = List.of("c_attn", "c_proj", "c_fc");

  private final int rank;
  private final double alpha;
  private final List<String> targets; // empty: the family's defaults
  private final boolean rsLora;
  private final double dropout;
  private final DType baseDType;

  private LoraConfig(
      int rank,
      double alpha,
      List<String> targets,
      boolean rsLora,
      double dropout,
      DType baseDType) {
    this.rank = rank;
    this.alpha = alpha;
    this.targets = targets;
    this.rsLora = rsLora;
    this.dropout = dropout;
    this.baseDType = baseDType;
  }

  /** Rank {@value #DEFAULT_RANK}, alpha {@value #DEFAULT_ALPHA}, the default targets. */
  public static LoraConfig defaults() {
    return of(DEFAULT_RANK);
  }

  /**
   * Adapters of rank {@code rank}, alpha {@value #DEFAULT_ALPHA}, on the default targets.
   *
   * @throws IllegalArgumentException if {@code rank < 1}
   */
  public static LoraConfig of(int rank) {
    checkArgument(rank >= 1, "LoRA rank must be >= 1 but was %s", rank);
    return new LoraConfig(rank, DEFAULT_ALPHA, List.of(), false, 0, DType.FLOAT);
  }

  /**
   * With scaling numerator {@code alpha}.
   *
   * @throws IllegalArgumentException unless {@code alpha} is finite and positive
   */
  public LoraConfig withAlpha(double alpha) {
    checkArgument(Double.isFinite(alpha) && alpha > 0, "LoRA alpha must be > 0 but was %s", alpha);
    return new LoraConfig(rank, alpha, targets, rsLora, dropout, baseDType);
  }

  /**
   * With adapters on the modules {@code targets} names (see the class comment); empty restores the
   * family's defaults.
   *
   * @throws IllegalArgumentException if a target is blank
   */
  public LoraConfig withTargets(List<String> targets) {
    checkNotNull(targets, "targets must not be null");
    for (String t : targets) {
      checkArgument(t != null && !t.isBlank(), "a LoRA target must not be blank: %s", targets);
    }
    return new LoraConfig(
        rank, alpha, List.copyOf(new LinkedHashSet<>(targets)), rsLora, dropout, baseDType);
  }

  /** With rsLoRA's scaling {@code alpha / √r} (Kalajdzievski, 2023) if {@code on}. */
  public LoraConfig withRsLora(boolean on) {
    return new LoraConfig(rank, alpha, targets, on, dropout, baseDType);
  }

  /**
   * With PEFT's {@code lora_dropout}: during training each element of an adapter's input is dropped
   * with probability {@code p} (the others scaled by {@code 1/(1-p)}), a fresh mask per module and
   * micro-batch; evaluation and inference use no dropout. Default 0 (PEFT's).
   *
   * @throws IllegalArgumentException unless {@code 0 <= p < 1}
   */
  public LoraConfig withDropout(double p) {
    checkArgument(p >= 0 && p < 1, "LoRA dropout must be in [0, 1) but was %s", p);
    return new LoraConfig(rank, alpha, targets, rsLora, p, baseDType);
  }

  /**
   * With the frozen base held in {@code dtype} while training: {@link DType#FLOAT} (the default)
   * keeps it in float32; {@link DType#BFLOAT16} or {@link DType#FLOAT16} store it in half the
   * memory, each weight widened to float32 where it is used (a short-lived copy per use, made again
   * in the backward pass rather than kept), so the computation stays float32 and only the stored
   * base weights are rounded (to nearest-even, exactly as a BF16 or F16 safetensors file holds
   * them). The adapters, their gradients and moments are float32 whatever this is. Not part of the
   * adapter's {@code adapter_config.json}: it is how this run holds the base, not a property of the
   * adapter.
   *
   * @throws IllegalArgumentException unless {@code dtype} is FLOAT, FLOAT16 or BFLOAT16
   */
  public LoraConfig withBaseDType(DType dtype) {
    checkNotNull(dtype, "dtype must not be null");
    checkArgument(
        dtype == DType.FLOAT || dtype == DType.FLOAT16 || dtype == DType.BFLOAT16,
        "the frozen base can be held in FLOAT, FLOAT16 or BFLOAT16 but not %s",
        dtype);
    return new LoraConfig(rank, alpha, targets, rsLora, dropout, dtype);
  }

  /** How the frozen base is held while training: FLOAT (default), FLOAT16 or BFLOAT16. */
  public DType baseDType() {
    return baseDType;
  }

  /** The probability of dropping an adapter input element in training (0: none). */
  public double dropout() {
    return dropout;
  }

  /** The rank {@code r}. */
  public int rank() {
    return rank;
  }

  /** The scaling numerator. */
  public double alpha() {
    return alpha;
  }

  /** Whether the scaling is rsLoRA's {@code alpha / √r}. */
  public boolean rsLora() {
    return rsLora;
  }

  /** The factor {@code s} of the adapter's output: {@code alpha / r}, or {@code alpha / √r}. */
  public double scaling() {
    return rsLora ? alpha / Math.sqrt(rank) : alpha / rank;
  }

  /** The targets as given, or {@link #defaultTargets} of {@code type} if none were. */
  public List<String> targets(ModelType type) {
    return targets.isEmpty() ? defaultTargets(type) : targets;
  }

  /**
   * Every attention and MLP projection: LLaMA family {@code q_proj, k_proj, v_proj, o_proj,
   * gate_proj, up_proj, down_proj}; GPT-2 {@code c_attn, c_proj, c_fc}.
   */
  public static List<String> defaultTargets(ModelType type) {
    return type == ModelType.GPT2 ? GPT2_TARGETS : LLAMA_TARGETS;
  }

  /**
   * One adapted module.
   *
   * @param module the module's name ({@code model.layers.0.self_attn.q_proj})
   * @param in the projection's input features
   * @param out its output features
   */
  public record Adapter(String module, long in, long out) {
    /** The name of {@code A}, {@code [r, in]}. */
    public String aName() {
      return module + A_SUFFIX;
    }

    /** The name of {@code B}, {@code [out, r]}. */
    public String bName() {
      return module + B_SUFFIX;
    }
  }

  /**
   * The adapters on {@code config}'s model, in module order. Only projections can be adapted (not
   * embeddings or the LM head).
   *
   * @throws IllegalArgumentException if a target matches no projection of the model
   */
  public List<Adapter> adapters(CausalLmConfig config) {
    checkNotNull(config, "config must not be null");
    boolean conv1d = config.modelType() == ModelType.GPT2; // weights [in, out]
    List<String> wanted = targets(config.modelType());
    Set<String> matched = new LinkedHashSet<>();
    Set<String> projections = new TreeSet<>();
    List<Adapter> out = new ArrayList<>();
    for (ParameterSpec p : CausalLmParameters.expected(config)) {
      long[] shape = p.shape();
      String name = p.name();
      if (shape.length != 2 || !name.endsWith(".weight") || !isProjection(name)) {
        continue;
      }
      String module = name.substring(0, name.length() - ".weight".length());
      projections.add(module.substring(module.lastIndexOf('.') + 1));
      for (String t : wanted) {
        if (module.equals(t) || module.endsWith("." + t)) {
          matched.add(t);
          out.add(
              conv1d
                  ? new Adapter(module, shape[0], shape[1])
                  : new Adapter(module, shape[1], shape[0]));
          break;
        }
      }
    }
    List<String> unmatched = new ArrayList<>(wanted);
    unmatched.removeAll(matched);
    checkArgument(
        unmatched.isEmpty(),
        "LoRA targets %s match no projection of this %s model; its projections are %s",
        unmatched,
        config.modelType().hfName(),
        projections);
    return List.copyOf(out);
  }

  /** The number of adapter parameters on {@code config}'s model: {@code r · (in + out)} each. */
  public long parameterCount(CausalLmConfig config) {
    long n = 0;
    for (Adapter a : adapters(config)) {
      n += (long) rank * (a.in() + a.out());
    }
    return n;
  }

  private static boolean isProjection(String weightName) {
    return weightName.contains(".layers.") || weightName.contains(".h.");
  }

  /**
   * Fresh adapters for {@code config}'s model: each {@code A} uniform on {@code ±1/√in} from its
   * own generator (seeded by {@code seed} and its name), each {@code B} zero; float32. Nothing is
   * allocated: values are produced when read.
   */
  public Weights initialize(CausalLmConfig config, long seed) {
    List<Tensor> tensors = new ArrayList<>();
    for (Adapter a : adapters(config)) {
      tensors.add(
          Tensor.lazy(
              a.aName(),
              DType.FLOAT,
              new long[] {rank, a.in()},
              new TensorValues.Uniform(
                  CausalLmParameters.seedFor(seed, a.aName()), (float) (1 / Math.sqrt(a.in())))));
      tensors.add(
          Tensor.lazy(
              a.bName(), DType.FLOAT, new long[] {a.out(), rank}, new TensorValues.Constant(0f)));
    }
    return Weights.of(tensors);
  }

  /**
   * Checks adapter weights against the adapters this configuration puts on {@code config}'s model
   * and returns them in adapter order.
   *
   * @param source names the weights in messages (a directory or file)
   * @throws IllegalArgumentException listing every missing, unexpected and misshaped tensor
   */
  public Weights validate(CausalLmConfig config, Weights adapterWeights, String source) {
    checkNotNull(adapterWeights, "adapterWeights must not be null");
    Set<String> unexpected = new TreeSet<>(adapterWeights.names());
    List<String> missing = new ArrayList<>();
    List<String> misshaped = new ArrayList<>();
    List<Tensor> out = new ArrayList<>();
    for (Adapter a : adapters(config)) {
      check(adapterWeights, a.aName(), new long[] {rank, a.in()}, missing, misshaped, out);
      check(adapterWeights, a.bName(), new long[] {a.out(), rank}, missing, misshaped, out);
      unexpected.remove(a.aName());
      unexpected.remove(a.bName());
    }
    checkArgument(
        missing.isEmpty() && unexpected.isEmpty() && misshaped.isEmpty(),
        "%s: adapters do not match %s on this %s model; missing %s, unexpected %s, misshaped %s",
        source,
        this,
        config.modelType().hfName(),
        missing,
        unexpected,
        misshaped);
    return Weights.of(out);
  }

  private static void check(
      Weights weights,
      String name,
      long[] shape,
      List<String> missing,
      List<String> misshaped,
      List<Tensor> out) {
    if (!weights.names().contains(name)) {
      missing.add(name);
      return;
    }
    Tensor t = weights.get(name);
    if (!t.hasShape(shape)) {
      misshaped.add(
          name
              + " is "
              + java.util.Arrays.toString(t.shape())
              + ", expected "
              + java.util.Arrays.toString(shape));
    } else {
      out.add(t);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof LoraConfig l
        && rank == l.rank
        && Double.compare(alpha, l.alpha) == 0
        && targets.equals(l.targets)
        && rsLora == l.rsLora
        && Double.compare(dropout, l.dropout) == 0
        && baseDType == l.baseDType;
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(rank, alpha, targets, rsLora, dropout, baseDType);
  }

  @Override
  public String toString() {
    return "LoRA r="
        + rank
        + " alpha="
        + alpha
        + (rsLora ? " (rsLoRA)" : "")
        + (dropout > 0 ? " dropout=" + dropout : "")
        + (baseDType != DType.FLOAT ? " base=" + baseDType : "")
        + " targets="
        + (targets.isEmpty() ? "default" : targets);
  }
}
