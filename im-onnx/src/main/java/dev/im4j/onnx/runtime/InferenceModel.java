package dev.im4j.onnx.runtime;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;
import static com.google.common.base.Preconditions.checkState;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.im4j.onnx.generate.LogitsFunction;
import dev.im4j.onnx.graph.OnnxIo;
import dev.im4j.onnx.model.CausalLmGraphs;
import dev.im4j.onnx.model.ModelDirectory;
import java.nio.LongBuffer;
import java.util.Map;

/**
 * A trained causal LM ready for inference: its {@linkplain CausalLmGraphs#inference inference
 * graph} (weights baked in) in an ONNX Runtime session on the CPU, giving the logits of every
 * position of one token sequence. This is what evaluation and generation run on.
 *
 * <p>The sequence is one segment at positions {@code 0 .. T-1}, the layout of a single unpadded
 * row; every call runs the whole sequence (no KV cache), so generation with it is for quick checks.
 *
 * <p>Ownership: the instance owns its ONNX Runtime session and session options and releases both on
 * {@link #close()}, which is idempotent. The graph is serialised once when the session is created
 * and not kept; ONNX Runtime holds its own copy of the weights, so the {@link ModelDirectory} may
 * be dropped after {@link #open}.
 *
 * <p>Thread-safety: {@link #logits} and {@link #nextTokenLogits} may be called from several threads
 * at once (ONNX Runtime sessions run concurrently); {@link #close()} must not race with them.
 */
public final class InferenceModel implements LogitsFunction, AutoCloseable {
  private final OrtEnvironment env;
  private final OrtSession.SessionOptions options;
  private final OrtSession session;
  private final int vocabSize;
  private volatile boolean closed;

  private InferenceModel(
      OrtEnvironment env, OrtSession.SessionOptions options, OrtSession session, int vocabSize) {
    this.env = env;
    this.options = options;
    this.session = session;
    this.vocabSize = vocabSize;
  }

  /**
   * Builds {@code model}'s inference graph and opens it in a session on the process's ONNX Runtime
   * environment ({@link Ort#environment()}), with ONNX Runtime's default session options.
   *
   * @throws TrainingRuntimeException if ONNX Runtime cannot be loaded or rejects the graph
   */
  public static InferenceModel open(ModelDirectory model) {
    checkNotNull(model, "model");
    OrtEnvironment env = Ort.environment();
    byte[] graph = OnnxIo.toBytes(CausalLmGraphs.inference(model.config(), model.weights()));
    OrtSession.SessionOptions options = new OrtSession.SessionOptions();
    try {
      return new InferenceModel(
          env, options, env.createSession(graph, options), model.config().vocabSize());
    } catch (OrtException e) {
      options.close();
      throw new TrainingRuntimeException(
          "ONNX Runtime could not open the inference graph of the model: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      options.close();
      throw e;
    }
  }

  /** The vocabulary size {@code V}: the length of each row of logits; ids lie in {@code [0, V)}. */
  public int vocabSize() {
    return vocabSize;
  }

  /**
   * The logits of every position of {@code ids}: row {@code t} scores the token after {@code
   * ids[0..t]}.
   *
   * @param ids token ids, {@code [T]}, {@code T > 0}, each in {@code [0, vocabSize())}; not kept
   * @return {@code [T, V]}, fresh arrays owned by the caller
   * @throws IllegalArgumentException if {@code ids} is empty or holds an id outside the vocabulary
   * @throws IllegalStateException if this model is closed
   * @throws TrainingRuntimeException if ONNX Runtime fails to run the graph
   */
  public float[][] logits(int[] ids) {
    checkNotNull(ids, "ids");
    checkArgument(ids.length > 0, "ids must hold at least one token but was empty");
    checkState(!closed, "the inference model is closed");
    int t = ids.length;
    long[] input = new long[t];
    long[] positions = new long[t];
    long[] segments = new long[t];
    for (int i = 0; i < t; i++) {
      if (ids[i] < 0 || ids[i] >= vocabSize) {
        throw new IllegalArgumentException(
            "ids[" + i + "] must be in [0, " + vocabSize + ") but was " + ids[i]);
      }
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
      throw new TrainingRuntimeException(
          "the forward pass of " + t + " tokens failed: " + e.getMessage(), e);
    }
  }

  /**
   * The logits of the token after {@code ids}: the last row of {@link #logits}.
   *
   * @param ids token ids, {@code [T]}, as for {@link #logits}
   * @return {@code [V]}
   * @throws IllegalArgumentException if {@code ids} is empty or holds an id outside the vocabulary
   * @throws IllegalStateException if this model is closed
   * @throws TrainingRuntimeException if ONNX Runtime fails to run the graph
   */
  @Override
  public float[] nextTokenLogits(int[] ids) {
    float[][] logits = logits(ids); // [T, V]
    return logits[logits.length - 1];
  }

  /**
   * Releases the session and its options; later calls do nothing.
   *
   * @throws TrainingRuntimeException if ONNX Runtime fails to release the session
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      session.close();
    } catch (OrtException e) {
      throw new TrainingRuntimeException(
          "ONNX Runtime could not close the inference session: " + e.getMessage(), e);
    } finally {
      options.close();
    }
  }
}
