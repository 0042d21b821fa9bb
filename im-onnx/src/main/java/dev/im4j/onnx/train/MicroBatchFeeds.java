package dev.im4j.onnx.train;

import dev.im4j.core.collate.Batch;
import dev.im4j.onnx.runtime.HostTensor;
import java.util.List;

/** The user inputs of the training and eval graphs of {@link LmGraphs} for one micro-batch. */
final class MicroBatchFeeds {
  private MicroBatchFeeds() {}

  /**
   * @param coefficients [rows, seqLen]
   * @param noise [rows, seqLen, hidden]
   */
  static List<HostTensor> of(Batch batch, float[] coefficients, float[] noise, int hidden) {
    long[] shape = {batch.rows(), batch.seqLen()};
    return List.of(
        HostTensor.longs(LmGraphs.INPUT_IDS, shape, widen(batch.inputIds())),
        HostTensor.longs(LmGraphs.POSITION_IDS, shape, widen(batch.positionIds())),
        HostTensor.longs(LmGraphs.SEGMENT_IDS, shape, widen(batch.segmentIds())),
        HostTensor.floats(
            LmGraphs.EMBEDDING_NOISE, new long[] {batch.rows(), batch.seqLen(), hidden}, noise),
        HostTensor.longs(LmGraphs.TARGETS, shape, widen(batch.targets())),
        HostTensor.floats(LmGraphs.COEFFICIENTS, shape, coefficients));
  }

  private static long[] widen(int[] a) {
    long[] out = new long[a.length];
    for (int i = 0; i < a.length; i++) {
      out[i] = a[i];
    }
    return out;
  }
}
