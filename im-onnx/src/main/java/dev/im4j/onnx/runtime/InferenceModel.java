package dev.im4j.onnx.runtime;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;
import static com.google.common.base.Preconditions.checkState;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.google.common.io.MoreFiles;
import com.google.common.io.RecursiveDeleteOption;
import dev.im4j.onnx.generate.LogitsFunction;
import dev.im4j.onnx.graph.OnnxIo;
import dev.im4j.onnx.model.CausalLmGraphs;
import dev.im4j.onnx.model.ModelDirectory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A trained causal LM ready for inference: its {@linkplain CausalLmGraphs#inference inference
 * graph} (weights baked in) in an ONNX Runtime session on the CPU, giving the logits of every
 * position of one token sequence. This is what evaluation and generation run on.
 *
 * <p>The sequence is one segment at positions {@code 0 .. T-1}, the layout of a single unpadded
 * row; every call runs the whole sequence (no KV cache), so generation with it is for quick checks.
 *
 * <p>Size: {@link #open} streams the weights from the model's files into an ONNX export with
 * external data in a temporary folder ({@value #TEMP_PREFIX}* under {@code java.io.tmpdir}, deleted
 * on {@link #close()}) and opens the session from that file, so no copy of the model is made on the
 * Java heap and no size limit applies; ONNX Runtime holds the weights in native memory.
 *
 * <p>Ownership: the instance owns its ONNX Runtime session, its session options and its temporary
 * folder and releases them on {@link #close()}, which is idempotent. The {@link ModelDirectory} may
 * be dropped after {@link #open}.
 *
 * <p>Thread-safety: {@link #logits} and {@link #nextTokenLogits} may be called from several threads
 * at once (ONNX Runtime sessions run concurrently); {@link #close()} must not race with them.
 */
public final class InferenceModel implements LogitsFunction, AutoCloseable {
  private final OrtEnvironment env;
  private final OrtSession.SessionOptions options;
  private final OrtSession session;
  private final Path folder;
  private final int vocabSize;
  private volatile boolean closed;

  /** Name prefix of the temporary folder that holds a model's export while it is open. */
  public static final String TEMP_PREFIX = "im4j-inference-";

  /** Weights of at least this many bytes go to the export's external data file. */
  private static final long EXTERNAL_THRESHOLD = 1L << 10;

  private InferenceModel(
      OrtEnvironment env,
      OrtSession.SessionOptions options,
      OrtSession session,
      Path folder,
      int vocabSize) {
    this.env = env;
    this.options = options;
    this.session = session;
    this.folder = folder;
    this.vocabSize = vocabSize;
  }

  /**
   * Builds {@code model}'s inference graph, writes it with its weights into a temporary folder and
   * opens it in a session on the process's ONNX Runtime environment ({@link Ort#environment()}),
   * with ONNX Runtime's default session options.
   *
   * @throws TrainingRuntimeException if ONNX Runtime cannot be loaded or rejects the graph
   * @throws UncheckedIOException if the temporary folder cannot be created
   * @throws dev.im4j.onnx.graph.ModelFormatException if the export cannot be written
   */
  public static InferenceModel open(ModelDirectory model) {
    checkNotNull(model, "model");
    OrtEnvironment env = Ort.environment();
    Path folder;
    try {
      folder = Files.createTempDirectory(TEMP_PREFIX);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a temporary folder for the inference model", e);
    }
    OrtSession.SessionOptions options = null;
    try {
      Path file = folder.resolve("model.onnx");
      OnnxIo.write(
          CausalLmGraphs.inference(model.config(), model.weights()), file, EXTERNAL_THRESHOLD);
      options = new OrtSession.SessionOptions();
      return new InferenceModel(
          env,
          options,
          env.createSession(file.toString(), options),
          folder,
          model.config().vocabSize());
    } catch (OrtException e) {
      options.close();
      deleteQuietly(folder);
      throw new TrainingRuntimeException(
          "ONNX Runtime could not open the inference graph of the model: " + e.getMessage(), e);
    } catch (RuntimeException | Error e) {
      if (options != null) {
        options.close();
      }
      deleteQuietly(folder);
      throw e;
    }
  }

  private static void deleteQuietly(Path folder) {
    try {
      MoreFiles.deleteRecursively(folder, RecursiveDeleteOption.ALLOW_INSECURE);
    } catch (IOException e) {
      // a leftover temporary folder is not worth failing for; its name says what it is
    }
  }

  /** The temporary folder holding the export while the model is open. */
  Path folder() {
    return folder;
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
   * Releases the session and its options and deletes the temporary folder; later calls do nothing.
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
      deleteQuietly(folder);
    }
  }
}
