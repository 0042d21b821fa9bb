package dev.im4j.onnx.train;

import dev.im4j.core.collate.Batch;
import dev.im4j.core.collate.BatchBuffers;
import dev.im4j.core.loss.StepCoefficients;
import dev.im4j.onnx.model.CausalLmGraphs;
import dev.im4j.onnx.runtime.HostTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The user inputs of the training and eval graphs for one micro-batch, written into direct buffers
 * that are reused from micro-batch to micro-batch: after the largest micro-batch has been seen, a
 * step allocates nothing proportional to its size. The batch's columns go through {@link
 * Batch#writeTo(BatchBuffers)} (one pass over its segments) and are widened in place to the graphs'
 * int64.
 *
 * <p>The NEFTune noise input is fed only to graphs that declare it; its buffer stays zero between
 * micro-batches without noise, so evaluation and {@code alpha == 0} cost no noise work after the
 * first write.
 *
 * <p>The returned tensors share the buffers: they are valid until the next {@link #write}. Not
 * thread-safe: one per training loop. The {@link Trainer} uses one; a loop of one's own over {@link
 * dev.im4j.onnx.runtime.TrainingApiRuntime} can too.
 */
public final class FeedBuffers {
  private final int hidden;
  private final boolean noiseInput;
  private final boolean dropoutInputs;
  private final FloatBuffer dropoutProbability = floats(1);
  private final LongBuffer dropoutMaskSeed = longs(1);
  private final BatchBuffers columns = new BatchBuffers();
  private LongBuffer inputIds = longs(0);
  private LongBuffer positionIds = longs(0);
  private LongBuffer segmentIds = longs(0);
  private LongBuffer targets = longs(0);
  private FloatBuffer coefficients = floats(0);
  private FloatBuffer noise = floats(0);
  private int noiseDirtyTo; // noise[noiseDirtyTo, capacity) is zero

  /**
   * @param hidden the model's hidden size (the noise's last dimension)
   * @param noiseInput whether the graphs take the {@value CausalLmGraphs#EMBEDDING_NOISE} input
   */
  public FeedBuffers(int hidden, boolean noiseInput) {
    this(hidden, noiseInput, false);
  }

  /**
   * @param hidden the model's hidden size (the noise's last dimension)
   * @param noiseInput whether the graphs take the {@value CausalLmGraphs#EMBEDDING_NOISE} input
   * @param dropoutInputs whether they take {@value CausalLmGraphs#LORA_DROPOUT} and {@value
   *     CausalLmGraphs#LORA_DROPOUT_SEED}
   */
  public FeedBuffers(int hidden, boolean noiseInput, boolean dropoutInputs) {
    this.hidden = hidden;
    this.noiseInput = noiseInput;
    this.dropoutInputs = dropoutInputs;
  }

  /** The inputs of micro-batch {@code m} with no LoRA dropout; see the full form. */
  public List<HostTensor> write(
      Batch batch, StepCoefficients c, int m, double alpha, SplittableRandom random) {
    return write(batch, c, m, alpha, random, 0, 0);
  }

  /**
   * The inputs of micro-batch {@code m} of a step.
   *
   * @param c the step's coefficients
   * @param alpha NEFTune α; 0 feeds zero noise (evaluation, or NEFTune off)
   * @param random the micro-batch's noise generator (unused when {@code alpha == 0})
   * @param loraDropout LoRA dropout's probability; 0 (evaluation) drops nothing. Fed only if the
   *     graphs take it
   * @param dropoutSeed the micro-batch's mask seed ({@link #loraDropoutSeed})
   */
  public List<HostTensor> write(
      Batch batch,
      StepCoefficients c,
      int m,
      double alpha,
      SplittableRandom random,
      double loraDropout,
      long dropoutSeed) {
    int cells = batch.cells();
    ensure(cells);
    batch.writeTo(columns);
    widen(columns.inputIds(), inputIds, cells);
    widen(columns.positionIds(), positionIds, cells);
    widen(columns.segmentIds(), segmentIds, cells);
    widen(columns.targets(), targets, cells);
    coefficients.clear();
    c.writeInto(m, columns.weights(), coefficients);
    coefficients.limit(cells);
    long[] shape = {batch.rows(), batch.seqLen()};
    List<HostTensor> feeds = new ArrayList<>(6);
    feeds.add(HostTensor.longs(CausalLmGraphs.INPUT_IDS, shape, inputIds));
    feeds.add(HostTensor.longs(CausalLmGraphs.POSITION_IDS, shape, positionIds));
    feeds.add(HostTensor.longs(CausalLmGraphs.SEGMENT_IDS, shape, segmentIds));
    if (noiseInput) {
      int values = cells * hidden;
      noise.clear();
      if (alpha == 0) {
        zero(noise, 0, noiseDirtyTo);
        noiseDirtyTo = 0;
      } else {
        NeftuneNoise.sample(batch, alpha, hidden, random, noise);
        noiseDirtyTo = Math.max(noiseDirtyTo, values);
      }
      noise.limit(values);
      feeds.add(
          HostTensor.floats(
              CausalLmGraphs.EMBEDDING_NOISE,
              new long[] {batch.rows(), batch.seqLen(), hidden},
              noise));
    }
    if (dropoutInputs) {
      dropoutProbability.put(0, (float) loraDropout);
      dropoutMaskSeed.put(0, dropoutSeed);
      feeds.add(HostTensor.floats(CausalLmGraphs.LORA_DROPOUT, new long[] {1}, dropoutProbability));
      feeds.add(
          HostTensor.longs(CausalLmGraphs.LORA_DROPOUT_SEED, new long[] {1}, dropoutMaskSeed));
    }
    feeds.add(HostTensor.longs(CausalLmGraphs.TARGETS, shape, targets));
    feeds.add(HostTensor.floats(CausalLmGraphs.COEFFICIENTS, shape, coefficients));
    return feeds;
  }

  /**
   * The LoRA dropout mask seed of micro-batch {@code microBatch} of 0-based step {@code step}, in
   * [0, {@value CausalLmGraphs#LORA_DROPOUT_MODULUS}): a function of the run's seed and the
   * position in the run only, so a resumed run draws the masks the uninterrupted one did.
   */
  public static long loraDropoutSeed(long seed, long step, int microBatch) {
    long mixed =
        new SplittableRandom(seed * 0xD1B54A32D192ED03L + step * 1_000_033L + microBatch)
            .nextLong();
    return Math.floorMod(mixed, CausalLmGraphs.LORA_DROPOUT_MODULUS);
  }

  private void ensure(int cells) {
    if (cells > inputIds.capacity()) {
      inputIds = longs(cells);
      positionIds = longs(cells);
      segmentIds = longs(cells);
      targets = longs(cells);
      coefficients = floats(cells);
    }
    if (noiseInput && (long) cells * hidden > noise.capacity()) {
      noise = floats(Math.multiplyExact(cells, hidden));
      noiseDirtyTo = 0;
    }
  }

  private static void widen(int[] from, LongBuffer to, int n) {
    to.clear();
    for (int i = 0; i < n; i++) {
      to.put(i, from[i]);
    }
    to.limit(n);
  }

  static void zero(FloatBuffer b, int from, int to) {
    for (int i = from; i < to; i++) {
      b.put(i, 0f);
    }
  }

  private static LongBuffer longs(int n) {
    return ByteBuffer.allocateDirect(Math.multiplyExact(n, Long.BYTES))
        .order(ByteOrder.nativeOrder())
        .asLongBuffer();
  }

  private static FloatBuffer floats(int n) {
    return ByteBuffer.allocateDirect(Math.multiplyExact(n, Float.BYTES))
        .order(ByteOrder.nativeOrder())
        .asFloatBuffer();
  }
}
