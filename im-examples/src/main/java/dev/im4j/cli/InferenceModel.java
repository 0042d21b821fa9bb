package dev.im4j.cli;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.im4j.onnx.graph.OnnxIo;
import dev.im4j.onnx.model.CausalLmGraphs;
import dev.im4j.onnx.model.ModelDirectory;
import dev.im4j.onnx.runtime.Ort;
import java.nio.LongBuffer;
import java.util.Map;

/** A model directory's inference graph in an ONNX Runtime session: logits of one sequence. */
final class InferenceModel implements AutoCloseable {
  private final OrtEnvironment env;
  private final OrtSession.SessionOptions options;
  private final OrtSession session;

  private InferenceModel(OrtEnvironment env, OrtSession.SessionOptions options, OrtSession s) {
    this.env = env;
    this.options = options;
    this.session = s;
  }

  static InferenceModel open(ModelDirectory dir) throws OrtException {
    OrtEnvironment env = Ort.environment();
    byte[] graph = OnnxIo.toBytes(CausalLmGraphs.inference(dir.config(), dir.weights()));
    OrtSession.SessionOptions options = new OrtSession.SessionOptions();
    try {
      return new InferenceModel(env, options, env.createSession(graph, options));
    } catch (OrtException | RuntimeException e) {
      options.close();
      throw e;
    }
  }

  /** Logits of every position of one sequence (one segment, positions 0..T-1): [T, V]. */
  float[][] logits(int[] ids) {
    int t = ids.length;
    long[] input = new long[t];
    long[] positions = new long[t];
    long[] segments = new long[t];
    for (int i = 0; i < t; i++) {
      input[i] = ids[i];
      positions[i] = i;
      segments[i] = 1;
    }
    long[] shape = {1, t};
    try (OnnxTensor a = OnnxTensor.createTensor(env, LongBuffer.wrap(input), shape);
        OnnxTensor b = OnnxTensor.createTensor(env, LongBuffer.wrap(positions), shape);
        OnnxTensor c = OnnxTensor.createTensor(env, LongBuffer.wrap(segments), shape);
        OrtSession.Result r =
            session.run(
                Map.of(
                    CausalLmGraphs.INPUT_IDS, a,
                    CausalLmGraphs.POSITION_IDS, b,
                    CausalLmGraphs.SEGMENT_IDS, c))) {
      return ((float[][][]) r.get(0).getValue())[0]; // [1, T, V] -> [T, V]
    } catch (OrtException e) {
      throw new IllegalStateException("the forward pass failed: " + e.getMessage(), e);
    }
  }

  @Override
  public void close() throws OrtException {
    try {
      session.close();
    } finally {
      options.close();
    }
  }
}
