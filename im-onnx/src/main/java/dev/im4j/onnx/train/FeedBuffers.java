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
    this.hidden = hidden;
    this.noiseInput = noiseInput;
  }

  /**
   * The inputs of micro-batch {@code m} of a step.
   *
   * @param c the step's coefficients
   * @param alpha NEFTune α; 0 feeds zero noise (evaluation, or NEFTune off)
   * @param random the micro-batch's noise generator (unused when {@code alpha == 0})
   */
  public List<HostTensor> write(
      Batch batch, StepCoefficients c, int m, double alpha, SplittableRandom random) {
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
    feeds.add(HostTensor.longs(CausalLmGraphs.TARGETS, shape, targets));
    feeds.add(HostTensor.floats(CausalLmGraphs.COEFFICIENTS, shape, coefficients));
    return feeds;
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
