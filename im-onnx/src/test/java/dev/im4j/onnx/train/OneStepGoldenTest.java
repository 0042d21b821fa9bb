package dev.im4j.onnx.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.im4j.core.collate.Batch;
import dev.im4j.core.collate.Collator;
import dev.im4j.core.collate.CollatorConfig;
import dev.im4j.core.data.Conversation;
import dev.im4j.core.data.Message;
import dev.im4j.core.data.Role;
import dev.im4j.core.loss.Reduction;
import dev.im4j.core.loss.StepCoefficients;
import dev.im4j.core.mask.ExampleEncoder;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.mask.TokenizedExample;
import dev.im4j.core.template.BuiltinTemplate;
import dev.im4j.core.tokenizer.Encoding;
import dev.im4j.core.tokenizer.SpecialTokens;
import dev.im4j.core.tokenizer.Tokenizer;
import dev.im4j.onnx.model.LoraConfig;
import dev.im4j.onnx.model.ModelDirectory;
import dev.im4j.onnx.model.SafetensorsFile;
import dev.im4j.onnx.model.Tensor;
import dev.im4j.onnx.model.Weights;
import dev.im4j.onnx.runtime.PortableRuntime;
import dev.im4j.onnx.runtime.RuntimeOptions;
import dev.im4j.onnx.runtime.TrainingApiRuntime;
import dev.im4j.onnx.runtime.TrainingSteps;
import dev.im4j.onnx.testing.TestResources;
import dev.im4j.onnx.train.checkpoint.OptimizerGroup;
import dev.im4j.onnx.train.checkpoint.ParameterOptimizerState;
import dev.im4j.onnx.train.checkpoint.TrainingCheckpoint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * One whole optimizer step against PyTorch ({@code train/one_step/generate.py}, golden files beside
 * it): three tulu conversations go through the real data path (built-in tulu template, a tokenizer
 * over the fixture's hand-writable vocabulary, {@link ExampleEncoder}'s mask for IT or IM, the
 * packing {@link Collator} into two micro-batches, SEQUENCE_MEAN {@link StepCoefficients}), whose
 * ids and coefficients must equal the script's independent ones; then {@link HfCausalLm} trains one
 * step on ONNX Runtime (two accumulated train steps, one AdamW step) and loss, every gradient and
 * every updated weight must equal PyTorch's.
 *
 * <p>Gradients are read from the optimizer state: after the first AdamW step from zero moments,
 * ONNX Runtime's first moment is {@code m = (1 - β1) g} (one float multiplication), so {@code g = m
 * / (1 - β1)} to within a float rounding, and it is the accumulated gradient the optimizer really
 * used. Updated weights come from the saved checkpoint (the Java API cannot read a live session).
 *
 * <p>Error measures per tensor, bound {@value #TOLERANCE}. Loss and gradients: the larger of the
 * norm-wise relative error {@code ‖a - b‖₂ / ‖b‖₂} and the element-wise {@code |a_i - b_i| /
 * max(|b_i|, floor)} with {@code floor = }{@value #FLOOR}{@code · max_j |b_j|}, so elements that
 * are float-cancellation noise in both implementations do not dominate (as in {@code
 * CausalLmGraphsGoldenTest}). Updated weights, and the updates {@code w1 - w0} themselves (an
 * update is about lr = 1e-2 on weights of 0.1 to 1, so weights alone would hide an update wrong by
 * 1%): element-wise, the denominator widened by how far the update may move while the gradient
 * stays within its own tolerance ({@link #updateSlack}). That matters where the exact gradient is 0
 * or tiny: GPT-2's key bias has gradient 0 in exact arithmetic (softmax ignores a shift shared by a
 * row of scores) and about 1e-9 of float noise in both implementations, which Adam's first step,
 * {@code lr · g / (|g| + ε / √(1 - β2))}, turns into arbitrary steps of up to lr.
 *
 * <p>Both {@link AdamWConfig.Variant}s are checked: {@code TORCH} (ONNX Runtime's {@code adam_mode}
 * 0) against {@code torch.optim.AdamW}'s own step ({@code torch_adamw.<name>}), {@code
 * HUGGING_FACE_LEGACY} (mode 1) against mode 1's formula written out in PyTorch ({@code
 * adamw.<name>}); each also asserts that the other variant's golden update would fail its check
 * (docs/runtimes.md gives the measured difference).
 */
class OneStepGoldenTest {
  static final double TOLERANCE = 1e-4;
  static final double FLOOR = 1e-2;
  static final RuntimeOptions OPTIONS = RuntimeOptions.defaults().withThreads(1, 1);
  static final JsonNode STEP = json("train/one_step/step.json");

  @TempDir Path dir;

  @ParameterizedTest(name = "{0} {1} {2}")
  @CsvSource({
    "llama,it,TORCH",
    "llama,im,TORCH",
    "gpt2,it,TORCH",
    "gpt2,im,TORCH",
    "llama,it,HUGGING_FACE_LEGACY",
    "llama,im,HUGGING_FACE_LEGACY",
    "gpt2,it,HUGGING_FACE_LEGACY",
    "gpt2,im,HUGGING_FACE_LEGACY"
  })
  void oneStepEqualsPyTorch(String modelName, String policyName, AdamWConfig.Variant variant) {
    // The data path: template, tokenizer, mask, collator and coefficients of im-core.
    LossPolicy policy = LossPolicy.fromName(policyName);
    List<Batch> batches = collate(policy);
    StepCoefficients c = StepCoefficients.of(Reduction.SEQUENCE_MEAN, batches);
    JsonNode golden = STEP.get("policies").get(policyName);
    assertEquals(golden.size(), batches.size(), "micro-batches");
    for (int b = 0; b < batches.size(); b++) {
      Batch batch = batches.get(b);
      JsonNode g = golden.get(b);
      String at = policyName + " micro-batch " + b;
      assertArrayEquals(ints(g.get("input_ids")), batch.inputIds(), at + " input_ids");
      assertArrayEquals(ints(g.get("position_ids")), batch.positionIds(), at + " position_ids");
      assertArrayEquals(ints(g.get("segment_ids")), batch.segmentIds(), at + " segment_ids");
      assertArrayEquals(ints(g.get("targets")), batch.targets(), at + " targets");
      // Same double arithmetic rounded once to float on both sides: equal bit for bit.
      assertArrayEquals(floats(g.get("coefficients")), c.forBatch(b), 0f, at + " coefficients");
    }

    // The step on ONNX Runtime.
    Path modelDir = resource("train/one_step/" + modelName);
    ModelDirectory model = ModelDirectory.load(modelDir);
    AdamWConfig adamW = adamW(variant);
    Stepped stepped = step(HfCausalLm.of(model.config(), model.weights()), batches, c, adamW);
    Weights expected = readSafetensors(modelDir.resolve("expected_" + policyName + ".safetensors"));
    check(modelName + " " + policyName + " " + variant, adamW, stepped, expected, model.weights());
  }

  /** The same step on the portable runtime (standard-op graphs on ordinary sessions). */
  @ParameterizedTest(name = "portable {0} {1} {2}")
  @CsvSource({
    "llama,it,TORCH",
    "llama,im,TORCH",
    "gpt2,it,TORCH",
    "gpt2,im,TORCH",
    "llama,it,HUGGING_FACE_LEGACY",
    "llama,im,HUGGING_FACE_LEGACY",
    "gpt2,it,HUGGING_FACE_LEGACY",
    "gpt2,im,HUGGING_FACE_LEGACY"
  })
  void portableOneStepEqualsPyTorch(
      String modelName, String policyName, AdamWConfig.Variant variant) {
    List<Batch> batches = collate(LossPolicy.fromName(policyName));
    StepCoefficients c = StepCoefficients.of(Reduction.SEQUENCE_MEAN, batches);
    Path modelDir = resource("train/one_step/" + modelName);
    ModelDirectory model = ModelDirectory.load(modelDir);
    AdamWConfig adamW = adamW(variant);
    HfCausalLm lm = HfCausalLm.of(model.config(), model.weights());
    TrainingGraph training = lm.trainingGraph(Set.of());
    Stepped stepped;
    try (PortableRuntime rt =
        PortableRuntime.open(
            PortableGraphs.step(training),
            PortableGraphs.optimizer(PortableGraphs.trainable(training), adamW, 0),
            null,
            new PortableRuntime.State(lm.initialWeights(), List.of(), Map.of(), 0),
            OPTIONS)) {
      float[] losses = oneStep(rt, lm.hiddenSize(), batches, c, adamW);
      Path saved = dir.resolve("portable-after");
      PortableState.checkpoint(rt, adamW.learningRate(), true).write(saved);
      stepped = new Stepped(losses, TrainingCheckpoint.read(saved));
    }
    Weights expected = readSafetensors(modelDir.resolve("expected_" + policyName + ".safetensors"));
    check(
        "portable " + modelName + " " + policyName + " " + variant,
        adamW,
        stepped,
        expected,
        model.weights());
  }

  /**
   * The same step with LoRA adapters on every projection (rank, alpha and rsLoRA from step.json;
   * the script's given adapters, B not zero): loss, the adapters' gradients and updates equal
   * PyTorch's, and the frozen base weights come out bit-identical.
   */
  @ParameterizedTest(name = "LoRA {0} {1} {2}")
  @CsvSource({
    "llama,it,TORCH",
    "llama,im,TORCH",
    "gpt2,it,TORCH",
    "gpt2,im,TORCH",
    "llama,im,HUGGING_FACE_LEGACY",
    "gpt2,it,HUGGING_FACE_LEGACY"
  })
  void oneLoraStepEqualsPyTorch(String modelName, String policyName, AdamWConfig.Variant variant) {
    List<Batch> batches = collate(LossPolicy.fromName(policyName));
    StepCoefficients c = StepCoefficients.of(Reduction.SEQUENCE_MEAN, batches);
    Path modelDir = resource("train/one_step/" + modelName);
    ModelDirectory model = ModelDirectory.load(modelDir);
    JsonNode l = STEP.get("lora").get(modelName);
    List<String> targets = new ArrayList<>();
    l.get("target_modules").forEach(t -> targets.add(t.asText()));
    LoraConfig lora =
        LoraConfig.of(l.get("r").asInt())
            .withAlpha(l.get("alpha").asDouble())
            .withRsLora(l.get("use_rslora").asBoolean())
            .withTargets(targets);
    Weights adapters = readSafetensors(modelDir.resolve("lora_adapters.safetensors"));
    AdamWConfig adamW = adamW(variant);
    Stepped stepped =
        step(
            HfCausalLm.of(model.config(), model.weights()).withLora(lora, adapters),
            batches,
            c,
            adamW);
    Weights expected =
        readSafetensors(modelDir.resolve("expected_lora_" + policyName + ".safetensors"));
    check(
        "LoRA " + modelName + " " + policyName + " " + variant, adamW, stepped, expected, adapters);
    for (Tensor t : model.weights().tensors()) {
      assertArrayEquals(
          t.toArray(), stepped.after().parameter(t.name()).orElseThrow().toArray(), 0f, t.name());
    }
  }

  private static AdamWConfig adamW(AdamWConfig.Variant variant) {
    JsonNode h = STEP.get("adamw");
    return new AdamWConfig(
        (float) h.get("lr").asDouble(),
        (float) h.get("beta1").asDouble(),
        (float) h.get("beta2").asDouble(),
        (float) h.get("epsilon").asDouble(),
        (float) h.get("weight_decay").asDouble(),
        variant);
  }

  /** The micro-batches' losses and the checkpoint saved after the step. */
  private record Stepped(float[] losses, TrainingCheckpoint after) {}

  /** Two accumulated train steps and one AdamW step of {@code lm} on ONNX Runtime. */
  private Stepped step(HfCausalLm lm, List<Batch> batches, StepCoefficients c, AdamWConfig adamW) {
    var artifacts =
        TrainingArtifactsBuilder.of(lm.trainingGraph(Set.of()), lm.initialWeights())
            .frozen(lm.frozenParameters())
            .adamW(adamW)
            .write(dir.resolve("artifacts"));
    try (TrainingApiRuntime rt = TrainingApiRuntime.open(artifacts, OPTIONS)) {
      float[] losses = oneStep(rt, lm.hiddenSize(), batches, c, adamW);
      Path saved = dir.resolve("after");
      rt.saveCheckpoint(saved, true);
      return new Stepped(losses, TrainingCheckpoint.read(saved));
    }
  }

  /** The micro-batches' training steps and one AdamW step on either runtime; their losses. */
  private static float[] oneStep(
      TrainingSteps rt, int hidden, List<Batch> batches, StepCoefficients c, AdamWConfig adamW) {
    rt.setLearningRate(adamW.learningRate());
    rt.lazyResetGrad();
    FeedBuffers feeds = new FeedBuffers(hidden, true);
    float[] losses = new float[batches.size()];
    for (int b = 0; b < batches.size(); b++) {
      losses[b] = rt.trainStep(feeds.write(batches.get(b), c, b, 0, null)); // no NEFTune
    }
    rt.optimizerStep();
    return losses;
  }

  /**
   * Loss, and for every tensor of {@code initial} its gradient, updated weight and update, against
   * the golden file (see the class comment for the measures).
   */
  private static void check(
      String label, AdamWConfig adamW, Stepped stepped, Weights expected, Weights initial) {
    float[] losses = stepped.losses();
    TrainingCheckpoint after = stepped.after();
    // torch.optim.AdamW's own result, or ONNX Runtime's mode-1 formula written out in PyTorch.
    String goldenPrefix = adamW.variant() == AdamWConfig.Variant.TORCH ? "torch_adamw." : "adamw.";
    String otherPrefix = adamW.variant() == AdamWConfig.Variant.TORCH ? "adamw." : "torch_adamw.";
    double[] microLoss = doubles(expected.get("micro_loss").toArray());
    double lossError = relativeError(doubles(losses), microLoss);
    double total = 0;
    for (float l : losses) {
      total += l;
    }
    lossError =
        Math.max(
            lossError,
            relativeError(new double[] {total}, doubles(expected.get("loss").toArray())));
    assertTrue(lossError <= TOLERANCE, label + " loss relative error " + lossError);

    OptimizerGroup group = after.optimizerGroup(OptimizerGroup.DEFAULT_NAME).orElseThrow();
    assertEquals(1, group.step(), "one optimizer step");
    double firstMomentScale = 1f - adamW.beta1(); // ORT's (1.f - alpha_), in float
    Worst gradients = new Worst();
    Worst weights = new Worst();
    Worst updates = new Worst();
    Worst otherVariant = new Worst();
    for (String name : initial.names()) {
      double[] grad =
          doubles(
              group
                  .parameter(name)
                  .orElseThrow()
                  .momentum(ParameterOptimizerState.FIRST_MOMENT)
                  .orElseThrow()
                  .toArray());
      for (int i = 0; i < grad.length; i++) {
        grad[i] /= firstMomentScale;
      }
      double[] goldenGrad = doubles(expected.get("grad." + name).toArray());
      gradients.add(name, relativeError(grad, goldenGrad));
      double[] slack = updateSlack(adamW, goldenGrad);
      double[] w0 = doubles(initial.get(name).toArray());
      double[] w1 = doubles(after.parameter(name).orElseThrow().toArray());
      double[] golden1 = doubles(expected.get(goldenPrefix + name).toArray());
      double[] goldenUpdate = minus(golden1, w0);
      weights.add(name, elementError(w1, golden1, slack));
      updates.add(name, elementError(minus(w1, w0), goldenUpdate, slack));
      double[] otherUpdate = minus(doubles(expected.get(otherPrefix + name).toArray()), w0);
      otherVariant.add(name, elementError(otherUpdate, goldenUpdate, slack));
    }
    System.out.printf(
        Locale.ROOT,
        "%s: loss error %.3g; worst gradient %s; weight %s; update %s;"
            + " the other variant's golden update vs this one's %s%n",
        label,
        lossError,
        gradients,
        weights,
        updates,
        otherVariant);
    assertTrue(gradients.error <= TOLERANCE, label + " gradient " + gradients);
    assertTrue(weights.error <= TOLERANCE, label + " updated weight " + weights);
    assertTrue(updates.error <= TOLERANCE, label + " update " + updates);
    // The update check can tell the two AdamW variants apart at this learning rate.
    assertTrue(
        otherVariant.error > 10 * TOLERANCE, label + " other variant's update " + otherVariant);
  }

  /** The fixture's conversations through template, tokenizer, mask and collator. */
  static List<Batch> collate(LossPolicy policy) {
    List<String> vocab = new ArrayList<>();
    STEP.get("vocab").forEach(v -> vocab.add(v.asText()));
    ExampleEncoder encoder =
        ExampleEncoder.of(
            BuiltinTemplate.TULU.create(BuiltinTemplate.DEFAULT_EOS), new VocabTokenizer(vocab));
    List<TokenizedExample> examples = new ArrayList<>();
    JsonNode conversations = STEP.get("conversations");
    for (int e = 0; e < conversations.size(); e++) {
      List<Message> messages = new ArrayList<>();
      for (JsonNode m : conversations.get(e)) {
        messages.add(
            new Message(
                Role.valueOf(m.get(0).asText().toUpperCase(Locale.ROOT)), m.get(1).asText()));
      }
      ExampleEncoder.Result r = encoder.encode(new Conversation(messages));
      assertEquals(0, r.missingTerminators(), "conversation " + e + " terminators");
      assertArrayEquals(
          ints(STEP.get("tokens").get(e)), r.example().ids(), "conversation " + e + " tokens");
      JsonNode kinds = STEP.get("kinds").get(e);
      for (int i = 0; i < kinds.size(); i++) {
        assertEquals(
            kinds.get(i).asText(),
            r.example().classAt(i).name().toLowerCase(Locale.ROOT),
            "conversation " + e + " token " + i + " class");
      }
      examples.add(policy.weigh(r.example()));
    }
    CollatorConfig config =
        CollatorConfig.builder(STEP.get("max_length").asInt())
            .packing(true)
            .padToMultipleOf(STEP.get("pad_multiple").asInt())
            .build();
    return Collator.of(config).collate(examples, 1).batches(); // one row per micro-batch
  }

  /** The worst error over the tensors of one kind, and where. */
  static final class Worst {
    double error;
    String where = "none";

    void add(String name, double e) {
      if (e >= error) {
        error = e;
        where = name;
      }
    }

    @Override
    public String toString() {
      return String.format(Locale.ROOT, "%.3g (%s)", error, where);
    }
  }

  /** The larger of the norm-wise and the floored element-wise relative error (class comment). */
  static double relativeError(double[] actual, double[] expected) {
    double norm = 0;
    double diffNorm = 0;
    for (int i = 0; i < expected.length; i++) {
      double d = actual[i] - expected[i];
      diffNorm += d * d;
      norm += expected[i] * expected[i];
    }
    double normWise = norm > 0 ? Math.sqrt(diffNorm / norm) : Math.sqrt(diffNorm);
    return Math.max(normWise, elementError(actual, expected, new double[expected.length]));
  }

  /**
   * {@code max_i |a_i - b_i| / (max(|b_i|, floor) + slack_i)}, {@code floor = FLOOR · max_j |b_j|}.
   */
  static double elementError(double[] actual, double[] expected, double[] slack) {
    assertEquals(expected.length, actual.length, "element count");
    double scale = 0;
    for (double e : expected) {
      scale = Math.max(scale, Math.abs(e));
    }
    double floor = Math.max(FLOOR * scale, 1e-30);
    double worst = 0;
    for (int i = 0; i < actual.length; i++) {
      assertTrue(Double.isFinite(actual[i]), "element " + i + " is not finite: " + actual[i]);
      double denominator = Math.max(Math.abs(expected[i]), floor) + slack[i];
      worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / denominator);
    }
    return worst;
  }

  /**
   * How far the first AdamW update may move within the gradient's own tolerance: {@code |∂u/∂g| ·
   * max(|g_i|, FLOOR · max_j |g_j|)}. From zero moments the update is {@code u = lr · g / (|g| +
   * ε')} with {@code ε' = ε} for {@code TORCH} and {@code ε' = ε / √(1 - β2)} for {@code
   * HUGGING_FACE_LEGACY}, so {@code ∂u/∂g = lr · ε' / (|g| + ε')²}: about {@code lr / ε'} for
   * gradients far below ε' (Adam turns their float noise into steps of up to lr), and negligible
   * for gradients far above it.
   */
  static double[] updateSlack(AdamWConfig adamW, double[] gradient) {
    double epsilon =
        switch (adamW.variant()) {
          case TORCH -> adamW.epsilon();
          case HUGGING_FACE_LEGACY -> adamW.epsilon() / Math.sqrt(1 - adamW.beta2());
        };
    double scale = 0;
    for (double g : gradient) {
      scale = Math.max(scale, Math.abs(g));
    }
    double floor = FLOOR * scale;
    double[] slack = new double[gradient.length];
    for (int i = 0; i < gradient.length; i++) {
      double a = Math.abs(gradient[i]);
      double derivative = adamW.learningRate() * epsilon / ((a + epsilon) * (a + epsilon));
      slack[i] = derivative * Math.max(a, floor);
    }
    return slack;
  }

  /**
   * Greedy longest-match tokenizer over a fixed vocabulary; ids 0..2 are {@code <pad>}, {@code <s>}
   * (added, no characters) and {@code </s>}, the only special tokens.
   */
  static final class VocabTokenizer implements Tokenizer {
    static final int PAD = 0;
    static final int BOS = 1;
    static final int EOS = 2;
    private final List<String> vocab;

    VocabTokenizer(List<String> vocab) {
      this.vocab = List.copyOf(vocab);
    }

    @Override
    public Encoding encode(String text, boolean addSpecialTokens) {
      List<int[]> tokens = new ArrayList<>(); // {id, start, end}
      if (addSpecialTokens) {
        tokens.add(new int[] {BOS, 0, 0});
      }
      int at = 0;
      while (at < text.length()) {
        int best = -1;
        for (int id = EOS; id < vocab.size(); id++) {
          String piece = vocab.get(id);
          if (text.startsWith(piece, at)
              && (best < 0 || piece.length() > vocab.get(best).length())) {
            best = id;
          }
        }
        if (best < 0) {
          throw new IllegalArgumentException(
              "no token for " + text.substring(at) + " at character " + at);
        }
        tokens.add(new int[] {best, at, at + vocab.get(best).length()});
        at += vocab.get(best).length();
      }
      int n = tokens.size();
      int[] ids = new int[n];
      int[] starts = new int[n];
      int[] ends = new int[n];
      for (int i = 0; i < n; i++) {
        ids[i] = tokens.get(i)[0];
        starts[i] = tokens.get(i)[1];
        ends[i] = tokens.get(i)[2];
      }
      return new Encoding(ids, starts, ends);
    }

    @Override
    public String decode(int[] ids, boolean skipSpecialTokens) {
      StringBuilder sb = new StringBuilder();
      for (int id : ids) {
        if (!(skipSpecialTokens && isSpecial(id))) {
          sb.append(vocab.get(id));
        }
      }
      return sb.toString();
    }

    @Override
    public SpecialTokens specialTokens() {
      return new SpecialTokens(
          Optional.of(vocab.get(BOS)),
          OptionalInt.of(BOS),
          Optional.of(vocab.get(EOS)),
          OptionalInt.of(EOS),
          Optional.of(vocab.get(PAD)),
          OptionalInt.of(PAD));
    }

    @Override
    public boolean isSpecial(int id) {
      return id <= EOS;
    }

    @Override
    public int vocabSize() {
      return vocab.size();
    }

    @Override
    public void close() {}
  }

  static Path resource(String name) {
    return TestResources.path(name);
  }

  static JsonNode json(String name) {
    return TestResources.json(name);
  }

  static Weights readSafetensors(Path file) {
    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      return f.readAll();
    }
  }

  static int[] ints(JsonNode matrix) {
    List<Integer> out = new ArrayList<>();
    flatten(matrix, n -> out.add(n.asInt()));
    return out.stream().mapToInt(Integer::intValue).toArray();
  }

  static float[] floats(JsonNode matrix) {
    List<Float> out = new ArrayList<>();
    flatten(matrix, n -> out.add((float) n.asDouble()));
    float[] a = new float[out.size()];
    for (int i = 0; i < a.length; i++) {
      a[i] = out.get(i);
    }
    return a;
  }

  private static void flatten(JsonNode node, java.util.function.Consumer<JsonNode> sink) {
    if (node.isArray()) {
      node.forEach(child -> flatten(child, sink));
    } else {
      sink.accept(node);
    }
  }

  static double[] doubles(float[] f) {
    double[] d = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      d[i] = f[i];
    }
    return d;
  }

  static double[] minus(double[] a, double[] b) {
    double[] d = new double[a.length];
    for (int i = 0; i < a.length; i++) {
      d[i] = a[i] - b[i];
    }
    return d;
  }
}
