package dev.im4j.onnx.train;

import com.google.common.hash.Hasher;
import com.google.common.hash.Hashing;
import dev.im4j.core.mask.TokenizedExample;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * What defines a training run, recorded in every checkpoint's {@code trainer_state.json} so that a
 * resume with other data, another model or other options is refused instead of silently mixing two
 * runs: field name to value, in a fixed order.
 *
 * <p>Fields: {@code data.examples} and {@code data.sha256} (every training example's ids and
 * weights after the loss policy, in input order), {@code policy}, {@code reduction}, one {@code
 * model.*} field per entry of {@link CausalLmSource#identity()}, {@code optimizer}, {@code
 * schedule}, {@code batch}, {@code collator}, {@code maxGradNorm}, {@code neftuneAlpha}, {@code
 * frozen}, {@code shuffle}. The seed, the total steps and the AdamW formula are checked from their
 * own {@link TrainerState} fields.
 */
final class RunIdentity {
  private RunIdentity() {}

  static Map<String, String> of(
      List<TokenizedExample> reweighedTrain,
      Map<String, String> model,
      String policy,
      String reduction,
      AdamWConfig optimizer,
      LearningRateSchedule schedule,
      String batch,
      String collator,
      float maxGradNorm,
      double neftuneAlpha,
      java.util.Set<String> frozen,
      boolean shuffle) {
    Map<String, String> run = new LinkedHashMap<>();
    run.put("data.examples", Integer.toString(reweighedTrain.size()));
    run.put("data.sha256", dataHash(reweighedTrain));
    run.put("policy", policy);
    run.put("reduction", reduction);
    model.forEach((k, v) -> run.put("model." + k, v));
    run.put("optimizer", optimizer.toString());
    run.put("schedule", schedule.toString());
    run.put("batch", batch);
    run.put("collator", collator);
    run.put("maxGradNorm", Float.toString(maxGradNorm));
    run.put("neftuneAlpha", Double.toString(neftuneAlpha));
    run.put("frozen", new TreeSet<>(frozen).toString());
    run.put("shuffle", Boolean.toString(shuffle));
    return Collections.unmodifiableMap(run);
  }

  /** SHA-256 over each example's length, token ids and weight bits. */
  static String dataHash(List<TokenizedExample> examples) {
    Hasher h = Hashing.sha256().newHasher();
    for (TokenizedExample e : examples) {
      h.putInt(e.length());
      for (int i = 0; i < e.length(); i++) {
        h.putInt(e.idAt(i));
      }
      for (float w : e.weights()) {
        h.putInt(Float.floatToIntBits(w));
      }
    }
    return h.hash().toString();
  }

  /**
   * Adds a {@link ResumeMismatchException.Mismatch} for every field in which {@code now} differs
   * from the identity recorded in a checkpoint; a checkpoint written before identities were
   * recorded ({@code recorded} null) adds none.
   */
  static void compare(
      Map<String, String> recorded,
      Map<String, String> now,
      List<ResumeMismatchException.Mismatch> into) {
    if (recorded == null) {
      return;
    }
    java.util.Set<String> fields = new java.util.LinkedHashSet<>(recorded.keySet());
    fields.addAll(now.keySet());
    for (String field : fields) {
      String then = recorded.get(field);
      String here = now.get(field);
      if (!java.util.Objects.equals(then, here)) {
        into.add(new ResumeMismatchException.Mismatch(field, then, here));
      }
    }
  }
}
