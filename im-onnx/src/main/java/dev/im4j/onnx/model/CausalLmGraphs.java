package dev.im4j.onnx.model;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import dev.im4j.onnx.autodiff.Autodiff;
import dev.im4j.onnx.autodiff.WeightedCrossEntropy;
import dev.im4j.onnx.graph.Composite;
import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.graph.Dim;
import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.graph.Shape;
import dev.im4j.onnx.graph.Tensor;
import dev.im4j.onnx.graph.Value;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * ONNX graphs of a decoder-only causal language model described by a {@link CausalLmConfig}: the
 * forward pass (token ids to logits) and the training graph (forward, weighted cross-entropy and
 * the backward pass). Computation is fp32.
 *
 * <p><b>Inputs</b> (all INT64 {@code [B, T]}): {@value #INPUT_IDS}, {@value #POSITION_IDS} (restart
 * at 0 in each packed segment) and {@value #SEGMENT_IDS} (0 = padding; a packed row holds segments
 * 1..k). Position {@code i} attends to position {@code j} only if {@code seg[i] == seg[j] != 0},
 * {@code j <= i} and, for Mistral's sliding window {@code w}, {@code i - j < w}. Disallowed scores
 * are replaced by {@link #MASK_VALUE} (finite, never -inf), so a padding position, which may attend
 * to nothing, gets a uniform softmax and finite (meaningless) logits instead of NaN. Packed
 * segments therefore give exactly the logits of the same examples run one by one
 * (docs/invariants.md, 14).
 *
 * <p><b>Parameters</b> are named exactly as the Hugging Face tensors ({@link
 * CausalLmParameters#expected}); they are graph inputs of their static shape (a training runtime
 * feeds them) unless baked as initializers for an inference export. A tied model has no {@code
 * lm_head.weight}: the LM head reuses the embedding.
 *
 * <p><b>Architectures.</b> LLaMA family (llama, qwen2, mistral): token embedding, pre-norm blocks
 * with RMSNorm, rotary embeddings computed in-graph from the position ids ({@code rope_theta}, with
 * Llama 3 frequency scaling), grouped-query attention, SwiGLU MLP, final RMSNorm, LM head. Qwen2
 * (and llama with {@code attention_bias}) adds q/k/v biases. GPT-2: token plus learned position
 * embeddings, pre-norm blocks with LayerNorm, fused {@code c_attn} in Conv1D layout ({@code x @ W},
 * {@code W} is {@code [in, out]}), tanh GELU, tied LM head.
 *
 * <p><b>Large vocabularies.</b> {@link #training(CausalLmConfig, Set, boolean, boolean)}
 * materialises the {@code [B, T, V]} logits and their gradient (several fp32 tensors of {@code
 * B·T·V} elements inside the loss). {@link #trainingChunked} runs the LM head, the loss and the LM
 * head's backward over blocks of {@code chunk} positions instead, so no tensor has more than {@code
 * B·chunk·V} elements; the head's weight gradient is accumulated block by block.
 *
 * <p>Stateless and thread-safe; each call returns a new {@link Graph}.
 */
public final class CausalLmGraphs {
  /** Token ids, INT64 [B, T]. */
  public static final String INPUT_IDS = "input_ids";

  /** Position of each token within its segment, INT64 [B, T]. */
  public static final String POSITION_IDS = "position_ids";

  /** Segment of each token (0 = padding), INT64 [B, T]. */
  public static final String SEGMENT_IDS = "segment_ids";

  /** Optional NEFTune noise added to the token embeddings, FLOAT [B, T, hidden]. */
  public static final String EMBEDDING_NOISE = "embedding_noise";

  /**
   * LoRA dropout's probability, FLOAT [1]: declared by the LoRA training graphs when {@link
   * LoraConfig#dropout} is above 0; fed as that value in training and 0 in evaluation (no dropout).
   */
  public static final String LORA_DROPOUT = "lora_dropout";

  /**
   * The seed of the LoRA dropout masks of one micro-batch, INT64 [1] in [0, {@link
   * #LORA_DROPOUT_MODULUS}): every mask is a function of it, the module and the element's index, so
   * a resumed run and a recomputed layer draw the same masks.
   */
  public static final String LORA_DROPOUT_SEED = "lora_dropout_seed";

  /**
   * The prime modulus of the dropout hash, 536,870,909 (below 2^29): a sum of three residues stays
   * below 2^31 and its square below 2^62, so the hash is exact in int64 on every device.
   */
  public static final long LORA_DROPOUT_MODULUS = 536_870_909L;

  /** Next-token targets, INT64 [B, T]; {@link WeightedCrossEntropy#IGNORE_INDEX} where unused. */
  public static final String TARGETS = "targets";

  /** Per-position loss coefficients, FLOAT [B, T]. */
  public static final String COEFFICIENTS = "coefficients";

  /** Output: FLOAT [B, T, vocab]. */
  public static final String LOGITS = "logits";

  /** Output of the training graph: FLOAT scalar {@code Σ c · nll}. */
  public static final String LOSS = "loss";

  /** Suffix of the gradient output of a parameter: {@code <name>_grad}. */
  public static final String GRAD_SUFFIX = "_grad";

  /**
   * The score given to disallowed (query, key) pairs before the softmax. Finite so that a row with
   * no allowed key (padding) stays finite; {@code exp(-1e9 - max)} is exactly 0 in fp32 whenever
   * any key is allowed, so it is equivalent to -inf there.
   */
  public static final float MASK_VALUE = -1e9f;

  /**
   * The seed-independent half of the LoRA dropout hash for tensors shaped like {@code x}: for each
   * element's flat index {@code i}, {@code ((i·A mod M)² + c) mod M}, int64 in [0, M). Computed
   * once per graph and width and shared by every module whose input has that shape, so each mask
   * costs only {@link #loraDropoutMask}'s two rounds. Indices {@code M} apart hash alike: masks
   * repeat within one micro-batch's input only past 536 M elements (tokens × width).
   */
  static Value loraDropoutIndexHash(Graph g, Value x) {
    Value m = g.scalar(DType.INT64, LORA_DROPOUT_MODULUS);
    Value index =
        g.reshape(
            g.range(g.scalar(DType.INT64, 0), g.size(x), g.scalar(DType.INT64, 1)),
            g.shape(x)); // 0, 1, 2, ... in x's shape
    Value h = mod(g, g.mul(index, g.scalar(DType.INT64, 48_271L)), m);
    return mod(g, g.add(g.mul(h, h), g.scalar(DType.INT64, 1_013_904_223L)), m);
  }

  /**
   * PEFT's dropout mask: 0 with probability {@code p}, else {@code 1/(1-p)}, for the elements whose
   * {@link #loraDropoutIndexHash} is {@code indexHash}. Each element draws {@code u = h/M} with
   * {@code h = ((k + seed + (module+1)·S)² + c) mod M} and once more {@code h ← (h² + c') mod M},
   * {@code k} its index hash: the index, the fed seed and the module all pass through nonlinear
   * rounds (an affine map would leave neighbouring elements correlated). Every intermediate is an
   * int64 below 2^62, so the mask is exact and the same on every device. Not on any parameter's
   * path: no gradient flows through it.
   *
   * @param p the probability, FLOAT [1]; 0 keeps every element with factor 1
   * @param seed INT64 [1] in [0, {@link #LORA_DROPOUT_MODULUS})
   */
  static Value loraDropoutMask(Graph g, Value indexHash, Value p, Value seed, int module) {
    Value m = g.scalar(DType.INT64, LORA_DROPOUT_MODULUS);
    Value salt =
        g.add(seed, g.scalar(DType.INT64, (module + 1) * 1_000_003L % LORA_DROPOUT_MODULUS));
    Value h = g.add(indexHash, salt); // three residues: below 2^31
    h = mod(g, g.add(g.mul(h, h), g.scalar(DType.INT64, 374_761_393L)), m);
    h = mod(g, g.add(g.mul(h, h), g.scalar(DType.INT64, 668_265_263L)), m);
    Value u = g.div(g.cast(h, DType.FLOAT), g.scalar(DType.FLOAT, LORA_DROPOUT_MODULUS)); // [0, 1)
    Value one = g.scalar(DType.FLOAT, 1);
    Value keep = g.div(one, g.sub(one, p)); // 1/(1-p)
    return g.where(g.less(u, p), g.scalar(DType.FLOAT, 0), keep);
  }

  /** {@code a mod m} for non-negative int64 {@code a} (Div truncates toward zero). */
  private static Value mod(Graph g, Value a, Value m) {
    return g.sub(a, g.mul(g.div(a, m), m));
  }

  private CausalLmGraphs() {}

  /**
   * The forward graph with parameters as graph inputs. Outputs {@value #LOGITS}.
   *
   * @param embeddingNoise whether to declare the {@value #EMBEDDING_NOISE} input
   */
  public static Graph forward(CausalLmConfig config, boolean embeddingNoise) {
    checkNotNull(config, "config must not be null");
    Builder b = new Builder(config, "causal_lm_forward", null, null, embeddingNoise, false);
    b.g.output(LOGITS, b.logits());
    return b.g;
  }

  /**
   * The forward graph of {@link #forward(CausalLmConfig, boolean)} with {@code lora}'s adapters on
   * the targeted projections; each adapter's {@code A} and {@code B} are graph inputs after the
   * base parameters, named as {@link LoraConfig.Adapter} names them.
   *
   * @throws IllegalArgumentException if a LoRA target matches no projection
   */
  public static Graph forward(CausalLmConfig config, LoraConfig lora, boolean embeddingNoise) {
    checkNotNull(config, "config must not be null");
    checkNotNull(lora, "lora must not be null");
    Builder b = new Builder(config, "causal_lm_lora_forward", null, lora, embeddingNoise, false);
    b.g.output(LOGITS, b.logits());
    return b.g;
  }

  /**
   * The forward graph with {@code weights} baked as initializers (an inference export). Outputs
   * {@value #LOGITS}; inputs are the three id tensors only. The weights are {@linkplain
   * Graph#streamedInitializer streamed}: read from {@code weights} (a file, for a loaded or trained
   * model) each time the graph is written, never copied into it, so write it with {@link
   * dev.im4j.onnx.graph.OnnxIo#write} (external data, any size) and keep the weights' files until
   * then.
   *
   * @throws IllegalArgumentException if {@code weights} do not match {@code config}
   */
  public static Graph inference(CausalLmConfig config, Weights weights) {
    checkNotNull(config, "config must not be null");
    checkNotNull(weights, "weights must not be null");
    CausalLmParameters.validate(config, weights, "weights");
    Builder b = new Builder(config, "causal_lm_inference", weights, null, false, false);
    b.g.output(LOGITS, b.logits());
    return b.g;
  }

  /**
   * The training graph: forward, {@code loss = Σ c · nll} over inputs {@value #TARGETS} and {@value
   * #COEFFICIENTS} (see {@link WeightedCrossEntropy}), and one output {@code <name>_grad} per
   * trainable parameter, in {@link CausalLmParameters#expected} order. Frozen parameters stay graph
   * inputs without a gradient. Outputs: {@value #LOSS}, then the gradients.
   *
   * @param frozen names of parameters not to train (each must be a parameter of the model)
   * @param embeddingNoise whether to declare the {@value #EMBEDDING_NOISE} input
   * @param gradientCheckpointing keep only each decoder layer's input for the backward pass and
   *     recompute the layer's forward there ({@link Autodiff#gradientsRecomputing}): the same
   *     gradients for about one more forward pass of compute and a fraction of the activations
   * @throws IllegalArgumentException if a frozen name is not a parameter, or nothing is trainable
   */
  public static Graph training(
      CausalLmConfig config,
      Set<String> frozen,
      boolean embeddingNoise,
      boolean gradientCheckpointing) {
    checkNotNull(config, "config must not be null");
    return training(
        new Builder(config, "causal_lm_training", null, null, embeddingNoise, false),
        frozen,
        gradientCheckpointing);
  }

  /**
   * The training graph of {@link #training(CausalLmConfig, Set, boolean, boolean)} with {@code
   * lora}'s adapters (see {@link #forward(CausalLmConfig, LoraConfig, boolean)}). Every base
   * parameter is frozen: the graph has a gradient output for the adapters only (those not in {@code
   * frozen}), and the base weights get no gradient work beyond what the adapters' inputs need.
   *
   * @throws IllegalArgumentException if a LoRA target matches no projection, a frozen name is not a
   *     parameter, or every adapter is frozen
   */
  public static Graph training(
      CausalLmConfig config,
      LoraConfig lora,
      Set<String> frozen,
      boolean embeddingNoise,
      boolean gradientCheckpointing) {
    checkNotNull(config, "config must not be null");
    checkNotNull(lora, "lora must not be null");
    Builder b =
        new Builder(
            config, "causal_lm_lora_training", null, lora, embeddingNoise, lora.dropout() > 0);
    return training(b, b.withBaseFrozen(frozen), gradientCheckpointing);
  }

  private static Graph training(Builder b, Set<String> frozen, boolean gradientCheckpointing) {
    checkNotNull(frozen, "frozen must not be null; use Set.of()");
    List<Value> trainable = trainable(b, frozen);
    Value logits = b.logits(); // [B, T, V]
    Value targets = b.g.input(TARGETS, DType.INT64, Shape.of(b.batch, b.seq));
    Value coefficients = b.g.input(COEFFICIENTS, DType.FLOAT, Shape.of(b.batch, b.seq));
    WeightedCrossEntropy.Result ce = WeightedCrossEntropy.build(b.g, logits, targets, coefficients);
    b.g.output(LOSS, ce.loss());
    Map<Value, Value> grads =
        gradients(b, Map.of(logits, ce.logitsGradient()), trainable, gradientCheckpointing);
    for (Value p : trainable) {
      b.g.output(p.name() + GRAD_SUFFIX, grads.get(p));
    }
    return b.g;
  }

  /**
   * The training graph of {@link #training(CausalLmConfig, Set, boolean, boolean)} with the LM head
   * and the loss computed over blocks of {@code chunk} positions along T: block {@code k} covers
   * positions {@code [k·chunk, (k+1)·chunk)} for {@code k < ceil(maxSeqLen / chunk) - 1} and the
   * last block covers everything after, so any T is correct; {@code maxSeqLen} only sets the block
   * count. Per block, on its {@code B·chunk} rows as one matrix: logits {@code [B·chunk, V]}, loss,
   * d loss / d logits, then at once d hidden = g·W and d W += gᵀ·h (each one GEMM), so a block's
   * {@code [B·chunk, V]} tensors are dead before the next block starts. Peak extra memory for the
   * head is then about {@code 4 · B · chunk · V} floats (logits, exp/probabilities, one-hot and
   * gradient of one block) plus the {@code [V, H]} weight gradient, which each block's GEMM adds
   * into the previous blocks' sum (so the runtime never holds one product per block, whatever order
   * it runs independent nodes in; ONNX Runtime's is in docs/runtimes.md). Same inputs and outputs
   * as the unchunked graph.
   *
   * @param chunk positions per block, {@code > 0}
   * @param maxSeqLen the longest T the graph is meant for, {@code >= chunk}
   * @param gradientCheckpointing as for {@link #training(CausalLmConfig, Set, boolean, boolean)}
   */
  public static Graph trainingChunked(
      CausalLmConfig config,
      Set<String> frozen,
      boolean embeddingNoise,
      int chunk,
      int maxSeqLen,
      boolean gradientCheckpointing) {
    checkNotNull(config, "config must not be null");
    return trainingChunked(
        new Builder(config, "causal_lm_training_chunked", null, null, embeddingNoise, false),
        frozen,
        chunk,
        maxSeqLen,
        gradientCheckpointing);
  }

  /**
   * The chunked training graph of {@link #trainingChunked(CausalLmConfig, Set, boolean, int, int,
   * boolean)} with {@code lora}'s adapters and every base parameter frozen, as {@link
   * #training(CausalLmConfig, LoraConfig, Set, boolean, boolean)}.
   */
  public static Graph trainingChunked(
      CausalLmConfig config,
      LoraConfig lora,
      Set<String> frozen,
      boolean embeddingNoise,
      int chunk,
      int maxSeqLen,
      boolean gradientCheckpointing) {
    checkNotNull(config, "config must not be null");
    checkNotNull(lora, "lora must not be null");
    Builder b =
        new Builder(
            config,
            "causal_lm_lora_training_chunked",
            null,
            lora,
            embeddingNoise,
            lora.dropout() > 0);
    return trainingChunked(b, b.withBaseFrozen(frozen), chunk, maxSeqLen, gradientCheckpointing);
  }

  private static Graph trainingChunked(
      Builder b, Set<String> frozen, int chunk, int maxSeqLen, boolean gradientCheckpointing) {
    checkNotNull(frozen, "frozen must not be null; use Set.of()");
    checkArgument(chunk > 0, "chunk must be > 0 but was %s", chunk);
    checkArgument(
        maxSeqLen >= chunk, "maxSeqLen must be >= chunk (%s) but was %s", chunk, maxSeqLen);
    List<Value> trainable = trainable(b, frozen);
    Graph g = b.g;
    Value hidden = b.finalHidden(); // [B, T, H]
    Value head = b.headWeight; // [V, H]
    Value targets = g.input(TARGETS, DType.INT64, Shape.of(b.batch, b.seq));
    Value coefficients = g.input(COEFFICIENTS, DType.FLOAT, Shape.of(b.batch, b.seq));
    boolean trainHead = trainable.contains(head);
    // a tied head (the embedding matrix) also gets the embedding lookup's gradient from autodiff
    boolean tiedHead = trainHead && !b.params.containsKey("lm_head.weight");
    int blocks = (maxSeqLen + chunk - 1) / chunk;
    Value loss = null; // []
    List<Value> hiddenGrads = new ArrayList<>(); // blocks x [B, chunk, H]
    List<Value> logitGrads = new ArrayList<>(); // blocks x [B·chunk, V]
    List<Value> blockHidden = new ArrayList<>(); // blocks x [B·chunk, H]
    for (int k = 0; k < blocks; k++) {
      long[] start = {(long) k * chunk};
      long[] end = {k == blocks - 1 ? Long.MAX_VALUE : (long) (k + 1) * chunk};
      long[] axis = {1};
      Value h = g.slice(hidden, start, end, axis, null); // [B, C, H]
      // the block's rows as one matrix: each product below is one GEMM, which runs faster than
      // MatMul's batched form of the same product
      Value rows = g.flatten(h, 2); // [B·C, H]
      Value logits = g.gemm(rows, head, null, 1, 0, false, true); // [B·C, V]
      WeightedCrossEntropy.Result ce =
          WeightedCrossEntropy.build(
              g,
              logits,
              g.reshape(g.slice(targets, start, end, axis, null), -1), // [B·C]
              g.reshape(g.slice(coefficients, start, end, axis, null), -1)); // [B·C]
      loss = loss == null ? ce.loss() : g.add(loss, ce.loss());
      Value rowGrads = g.gemm(ce.logitsGradient(), head, null, 1, 0, false, false); // [B·C, H]
      hiddenGrads.add(g.reshapeLiteral(rowGrads, g.shape(h))); // [B, C, H]; C may be 0
      if (trainHead) {
        logitGrads.add(ce.logitsGradient());
        blockHidden.add(rows);
      }
    }
    g.output(LOSS, loss);
    Value hiddenGrad = blocks == 1 ? hiddenGrads.get(0) : g.concat(1, hiddenGrads); // [B, T, H]
    List<Value> body = new ArrayList<>(trainable);
    if (trainHead && !tiedHead) {
      body.remove(head); // an untied head is reached by the blocks' gradients only
    }
    Map<Value, Value> grads = gradients(b, Map.of(hidden, hiddenGrad), body, gradientCheckpointing);
    for (Value p : trainable) {
      Value grad = grads.get(p);
      if (p == head) {
        // d W = Σ_k g_kᵀ·h_k as a chain of Gemms, each adding its block into the previous
        // result (C), starting from the lookup's gradient if tied: two [V, H] buffers live at a
        // time however many blocks, where products summed at the end would hold one per block
        Value acc = tiedHead ? grad : null;
        for (int k = 0; k < blocks; k++) {
          acc =
              g.gemm(
                  logitGrads.get(k), blockHidden.get(k), acc, 1, acc == null ? 0 : 1, true, false);
        }
        grad = acc;
      }
      g.output(p.name() + GRAD_SUFFIX, grad);
    }
    return g;
  }

  /** The gradients, recomputing each decoder layer's forward pass if {@code recompute}. */
  private static Map<Value, Value> gradients(
      Builder b, Map<Value, Value> seeds, List<Value> wrt, boolean recompute) {
    return recompute
        ? Autodiff.gradientsRecomputing(b.g, seeds, wrt, b.layerInputs)
        : Autodiff.gradients(b.g, seeds, wrt);
  }

  private static List<Value> trainable(Builder b, Set<String> frozen) {
    for (String f : frozen) {
      checkArgument(
          b.params.containsKey(f),
          "frozen parameter '%s' is not a parameter of this %s model; parameters are %s",
          f,
          b.c.modelType().hfName(),
          b.params.keySet());
    }
    List<Value> trainable = new ArrayList<>();
    for (Map.Entry<String, Value> e : b.params.entrySet()) {
      if (!frozen.contains(e.getKey())) {
        trainable.add(e.getValue());
      }
    }
    checkArgument(!trainable.isEmpty(), "every parameter is frozen; nothing to train");
    return trainable;
  }

  /**
   * Llama 3 scaled inverse frequencies (transformers' {@code _compute_llama3_parameters}): for
   * wavelength {@code λ = 2π / f}, {@code λ < L / high} keeps {@code f}, {@code λ > L / low} uses
   * {@code f / factor}, and in between {@code (1 - s) f / factor + s f} with {@code s = (L / λ -
   * low) / (high - low)}, where {@code L} is the original context length.
   */
  static double[] inverseFrequencies(CausalLmConfig c) {
    int half = c.headDim() / 2;
    double[] inv = new double[half];
    for (int i = 0; i < half; i++) {
      // transformers computes base ** (2i / dim) in fp32; round the exponent as it does
      float exponent = (float) (2 * i) / (float) c.headDim();
      inv[i] = 1.0 / Math.pow(c.ropeTheta(), exponent);
    }
    if (c.ropeScaling().isEmpty()) {
      return inv;
    }
    RopeScaling s = c.ropeScaling().get();
    double lowWavelen = s.originalMaxPositionEmbeddings() / s.lowFreqFactor();
    double highWavelen = s.originalMaxPositionEmbeddings() / s.highFreqFactor();
    for (int i = 0; i < half; i++) {
      double wavelen = 2 * Math.PI / inv[i];
      if (wavelen > lowWavelen) {
        inv[i] = inv[i] / s.factor();
      } else if (wavelen >= highWavelen) {
        double smooth =
            (s.originalMaxPositionEmbeddings() / wavelen - s.lowFreqFactor())
                / (s.highFreqFactor() - s.lowFreqFactor());
        inv[i] = (1 - smooth) * inv[i] / s.factor() + smooth * inv[i];
      }
    }
    return inv;
  }

  /** Builds one graph; parameters are looked up by their Hugging Face names. */
  private static final class Builder {
    final CausalLmConfig c;
    final Graph g;
    final Dim batch = Dim.sym("batch");
    final Dim seq = Dim.sym("seq");
    // parameters as declared: the frozen base of a LoRA graph in the config's base dtype
    final Map<String, Value> params = new LinkedHashMap<>();
    final Map<String, Value> widened = new HashMap<>(); // half-precision parameter -> its float32
    // LoRA: module name -> {A [r, in], B [out, r]}; empty without adapters
    final Map<String, Value[]> adapters = new LinkedHashMap<>();
    final double loraScaling;
    final Value ids; // [B, T]
    final Value positions; // [B, T]
    final Value segments; // [B, T]
    final Value noise; // [B, T, H] or null
    final Value dropout; // LoRA dropout probability [1], or null without dropout
    final Value dropoutSeed; // [1] int64, or null
    final Map<String, Integer> moduleIndex = new HashMap<>(); // salts each module's masks
    // input width -> the dropout index hash of [B, T, width], shared by the modules of that width
    final Map<Long, Value> dropoutIndexHashes = new HashMap<>();
    Value headWeight; // [V, H], set by finalHidden()
    Value rowShape; // [B, T] as int64, for reshaping Gemm rows back
    final Map<Long, Value> rowShapes = new HashMap<>(); // out width -> [B, T, out]
    // the residual stream [B, T, H] before each decoder layer and after the last
    final List<Value> layerInputs = new ArrayList<>();

    Builder(
        CausalLmConfig c,
        String name,
        Weights baked,
        LoraConfig lora,
        boolean embeddingNoise,
        boolean loraDropout) {
      checkArgument(
          c.headDim() % 2 == 0 || c.modelType() == ModelType.GPT2,
          "headDim must be even for rotary embeddings but was %s",
          c.headDim());
      this.c = c;
      this.g = Graph.create(name);
      ids = g.input(INPUT_IDS, DType.INT64, Shape.of(batch, seq));
      positions = g.input(POSITION_IDS, DType.INT64, Shape.of(batch, seq));
      segments = g.input(SEGMENT_IDS, DType.INT64, Shape.of(batch, seq));
      noise =
          embeddingNoise
              ? g.input(EMBEDDING_NOISE, DType.FLOAT, Shape.of(batch, seq, Dim.of(c.hiddenSize())))
              : null;
      Set<String> seen = new HashSet<>();
      DType baseDType = lora == null ? DType.FLOAT : lora.baseDType();
      for (ParameterSpec p : CausalLmParameters.expected(c)) {
        seen.add(p.name());
        Value v;
        if (baked == null) {
          v = g.input(p.name(), baseDType, Shape.of(p.shape()));
        } else {
          // streamed from its source when the graph is written: no copy of the model here
          v =
              g.streamedInitializer(
                  p.name(), DType.FLOAT, Shape.of(p.shape()), baked.get(p.name()).float32Bytes());
        }
        params.put(p.name(), v);
      }
      loraScaling = lora == null ? 0 : lora.scaling();
      if (lora != null) {
        for (LoraConfig.Adapter a : lora.adapters(c)) {
          Value down = g.input(a.aName(), DType.FLOAT, Shape.of(lora.rank(), a.in()));
          Value up = g.input(a.bName(), DType.FLOAT, Shape.of(a.out(), lora.rank()));
          params.put(a.aName(), down);
          params.put(a.bName(), up);
          adapters.put(a.module(), new Value[] {down, up});
          moduleIndex.put(a.module(), moduleIndex.size());
        }
      }
      dropout = loraDropout ? g.input(LORA_DROPOUT, DType.FLOAT, Shape.of(1)) : null;
      dropoutSeed = loraDropout ? g.input(LORA_DROPOUT_SEED, DType.INT64, Shape.of(1)) : null;
    }

    /** {@code frozen} and every base parameter: what a LoRA graph does not train. */
    Set<String> withBaseFrozen(Set<String> frozen) {
      checkNotNull(frozen, "frozen must not be null; use Set.of()");
      Set<String> all = new HashSet<>(frozen);
      for (ParameterSpec p : CausalLmParameters.expected(c)) {
        all.add(p.name());
      }
      return all;
    }

    /**
     * The parameter as float32: a half-precision base weight is widened by one Cast, made once per
     * graph. In the backward pass autodiff widens it again where it is read (see {@code
     * Backward.reread}), so this copy dies with its forward use.
     */
    Value p(String name) {
      Value v = declared(name);
      return v.dtype() == DType.FLOAT
          ? v
          : widened.computeIfAbsent(name, k -> g.cast(v, DType.FLOAT));
    }

    Value declared(String name) {
      Value v = params.get(name);
      if (v == null) {
        throw new IllegalStateException("no parameter '" + name + "' in " + params.keySet());
      }
      return v;
    }

    /** Rows {@code indices} of the table {@code name}, as float32 (a half table is read as is). */
    Value lookup(String name, Value indices) {
      Value table = declared(name);
      Value rows = g.gather(table, indices, 0);
      return table.dtype() == DType.FLOAT ? rows : g.cast(rows, DType.FLOAT);
    }

    Value f(double x) {
      return g.scalar(DType.FLOAT, x);
    }

    /** The logits [B, T, V]. */
    Value logits() {
      Value h = finalHidden(); // [B, T, H]
      return g.matMul(h, g.transpose(headWeight, 1, 0)); // [B, T, V]
    }

    /** The normalised last hidden state [B, T, H]; sets {@link #headWeight}. */
    Value finalHidden() {
      return c.modelType() == ModelType.GPT2 ? gpt2() : llama();
    }

    /** [B, 1, 1, T, T] BOOL: whether query i may attend to key j. */
    Value attentionAllowed() {
      Value segQ = g.unsqueeze(segments, 2); // [B, T, 1]
      Value segK = g.unsqueeze(segments, 1); // [B, 1, T]
      Value same = g.and(g.equal(segQ, segK), g.greater(segK, g.scalar(DType.INT64, 0))); // [B,T,T]
      Value t = g.squeeze(g.shape(ids, 1, 2), 0); // scalar T
      Value idx = g.range(g.scalar(DType.INT64, 0), t, g.scalar(DType.INT64, 1)); // [T]
      Value qi = g.unsqueeze(idx, 1); // [T, 1]
      Value kj = g.unsqueeze(idx, 0); // [1, T]
      Value allowed = g.not(g.greater(kj, qi)); // [T, T], j <= i
      if (c.slidingWindow().isPresent()) {
        // transformers' sliding window: j > i - w, i.e. the last w positions including i
        Value lowest = g.sub(qi, g.scalar(DType.INT64, c.slidingWindow().getAsInt())); // [T, 1]
        allowed = g.and(allowed, g.greater(kj, lowest)); // [T, T]
      }
      return g.unsqueeze(g.and(same, allowed), 1, 2); // [B, 1, 1, T, T]
    }

    /**
     * Scaled dot-product attention with grouped heads. {@code q} [B, KV, R, T, D], {@code k} and
     * {@code v} [B, KV, 1, T, D] (broadcast over the R query heads of each kv head, which is
     * transformers' {@code repeat_kv}: head {@code h = kv * R + r}); returns [B, T, KV * R * D].
     */
    Value attention(Value q, Value k, Value v, Value allowed) {
      double scale = 1.0 / Math.sqrt(c.headDim());
      Value scores = g.mul(g.matMul(q, g.transpose(k, 0, 1, 2, 4, 3)), f(scale)); // [B,KV,R,T,T]
      Value masked = g.where(allowed, scores, f(MASK_VALUE)); // [B, KV, R, T, T]
      Value probs = g.softmax(masked, -1); // [B, KV, R, T, T]
      Value ctx = g.matMul(probs, v); // [B, KV, R, T, D]
      return g.reshape(g.transpose(ctx, 0, 3, 1, 2, 4), 0, 0, -1); // [B, T, KV * R * D]
    }

    /** [B, T, N * D] -> [B, KV, N / KV, T, D]. */
    Value heads(Value x, int n) {
      Value r = g.reshape(x, 0, 0, c.numKvHeads(), n / c.numKvHeads(), c.headDim());
      return g.transpose(r, 0, 2, 3, 1, 4); // [B, KV, N / KV, T, D]
    }

    /** x @ W^T (+ b) for a torch Linear weight [out, in], plus the module's adapter if any. */
    Value linear(Value x, String prefix, boolean bias) {
      return adapted(
          x, prefix, rows(x, p(prefix + ".weight"), bias ? p(prefix + ".bias") : null, true));
    }

    /** x @ W + b for a GPT-2 Conv1D weight [in, out], plus the module's adapter if any. */
    Value conv1d(Value x, String prefix) {
      return adapted(x, prefix, rows(x, p(prefix + ".weight"), p(prefix + ".bias"), false));
    }

    /**
     * {@code base + s · (x Aᵀ) Bᵀ} if {@code module} has a LoRA adapter, else {@code base}. The
     * scaling multiplies the rank-r intermediate, the smallest tensor on the path.
     */
    Value adapted(Value x, String module, Value base) {
      Value[] ab = adapters.get(module);
      if (ab == null) {
        return base;
      }
      Value in = dropout == null ? x : g.mul(x, dropoutMask(x, moduleIndex.get(module)));
      Value down = g.mul(rows(in, ab[0], null, true), f(loraScaling)); // [B, T, r]
      return g.add(base, rows(down, ab[1], null, true)); // [B, T, out]
    }

    Value dropoutMask(Value x, int module) {
      long width = x.shape().dim(x.rank() - 1).size();
      Value indexHash = dropoutIndexHashes.computeIfAbsent(width, w -> loraDropoutIndexHash(g, x));
      return loraDropoutMask(g, indexHash, dropout, dropoutSeed, module);
    }

    /**
     * {@code x [B, T, in]} times a weight as one Gemm over the {@code B·T} rows (W transposed if
     * {@code transB}), plus {@code bias} if not null: [B, T, out]. A batched MatMul against a
     * shared weight would make its backward form one weight gradient per row, [B, in, out], and sum
     * them; the Gemm's backward is one [out, in] product, in the weight's own layout.
     */
    Value rows(Value x, Value w, Value bias, boolean transB) {
      long in = x.shape().dim(x.rank() - 1).size();
      long out = w.shape().dim(transB ? 0 : 1).size();
      Value y = g.gemm(g.reshape(x, -1, in), w, bias, 1, 1, false, transB); // [B·T, out]
      if (rowShape == null) {
        rowShape = g.shape(ids); // [B, T]
      }
      // [B, T, out], one per width: every projection of that width reshapes to it
      Value shape = rowShapes.computeIfAbsent(out, o -> g.concat(0, List.of(rowShape, g.longs(o))));
      return g.reshape(y, shape);
    }

    Value embed(String table) {
      Value x = lookup(table, ids); // [B, T, H]
      return noise == null ? x : g.add(x, noise);
    }

    Value llama() {
      Value allowed = attentionAllowed(); // [B, 1, 1, T, T]
      double[] invFreq = inverseFrequencies(c);
      float[] inv = new float[invFreq.length];
      for (int i = 0; i < inv.length; i++) {
        inv[i] = (float) invFreq[i];
      }
      Value pos = g.unsqueeze(g.cast(positions, DType.FLOAT), 2); // [B, T, 1]
      Value freqs =
          g.mul(pos, g.constant(Tensor.ofFloats(new long[] {inv.length}, inv))); // [B,T,D/2]
      Value angles = g.unsqueeze(g.concat(-1, List.of(freqs, freqs)), 1, 2); // [B, 1, 1, T, D]
      Value cos = g.cos(angles); // [B, 1, 1, T, D]
      Value sin = g.sin(angles); // [B, 1, 1, T, D]

      Value x = embed("model.embed_tokens.weight"); // [B, T, H]
      double eps = c.normEps();
      for (int l = 0; l < c.numLayers(); l++) {
        layerInputs.add(x);
        String pre = "model.layers." + l + ".";
        Value h = Composite.rmsNorm(g, x, p(pre + "input_layernorm.weight"), eps); // [B, T, H]
        String a = pre + "self_attn.";
        Value q = heads(linear(h, a + "q_proj", c.qkvBias()), c.numHeads()); // [B, KV, R, T, D]
        Value k = heads(linear(h, a + "k_proj", c.qkvBias()), c.numKvHeads()); // [B, KV, 1, T, D]
        Value v = heads(linear(h, a + "v_proj", c.qkvBias()), c.numKvHeads()); // [B, KV, 1, T, D]
        Value ctx = attention(rope(q, cos, sin), rope(k, cos, sin), v, allowed); // [B, T, N * D]
        x = g.add(x, linear(ctx, a + "o_proj", c.outputProjBias())); // [B, T, H]

        Value m = Composite.rmsNorm(g, x, p(pre + "post_attention_layernorm.weight"), eps);
        Value gate = linear(m, pre + "mlp.gate_proj", false); // [B, T, I]
        Value up = linear(m, pre + "mlp.up_proj", false); // [B, T, I]
        Value act = g.mul(g.mul(gate, g.sigmoid(gate)), up); // [B, T, I]
        x = g.add(x, linear(act, pre + "mlp.down_proj", false)); // [B, T, H]
      }
      layerInputs.add(x);
      headWeight = p(c.tieWordEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight");
      return Composite.rmsNorm(g, x, p("model.norm.weight"), eps); // [B, T, H]
    }

    /** Rotate-half RoPE: {@code x cos + rotate_half(x) sin} over the last axis. */
    Value rope(Value x, Value cos, Value sin) {
      long half = c.headDim() / 2;
      List<Value> halves = g.split(x, -1, half, half); // 2 x [..., D/2]
      Value rotated = g.concat(-1, List.of(g.neg(halves.get(1)), halves.get(0))); // [..., D]
      return g.add(g.mul(x, cos), g.mul(rotated, sin));
    }

    Value gpt2() {
      Value allowed = attentionAllowed(); // [B, 1, 1, T, T]
      String pre = "transformer.";
      Value x = g.add(embed(pre + "wte.weight"), lookup(pre + "wpe.weight", positions));
      double eps = c.normEps();
      long hidden = c.hiddenSize();
      for (int l = 0; l < c.numLayers(); l++) {
        layerInputs.add(x);
        String b = pre + "h." + l + ".";
        Value h = layerNorm(x, b + "ln_1", eps); // [B, T, H]
        List<Value> qkv = g.split(conv1d(h, b + "attn.c_attn"), -1, hidden, hidden, hidden);
        Value q = heads(qkv.get(0), c.numHeads()); // [B, N, 1, T, D]
        Value k = heads(qkv.get(1), c.numHeads()); // [B, N, 1, T, D]
        Value v = heads(qkv.get(2), c.numHeads()); // [B, N, 1, T, D]
        x = g.add(x, conv1d(attention(q, k, v, allowed), b + "attn.c_proj")); // [B, T, H]
        Value m = layerNorm(x, b + "ln_2", eps); // [B, T, H]
        Value act = Composite.geluTanh(g, conv1d(m, b + "mlp.c_fc")); // [B, T, I]
        x = g.add(x, conv1d(act, b + "mlp.c_proj")); // [B, T, H]
      }
      layerInputs.add(x);
      headWeight = p(pre + "wte.weight");
      return layerNorm(x, pre + "ln_f", eps); // [B, T, H]
    }

    Value layerNorm(Value x, String prefix, double eps) {
      return g.layerNorm(x, p(prefix + ".weight"), p(prefix + ".bias"), -1, eps);
    }
  }
}
