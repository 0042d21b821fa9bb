package dev.im4j.bench.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.graph.OnnxIo;
import dev.im4j.onnx.model.CausalLmConfig;
import dev.im4j.onnx.model.CausalLmGraphs;
import dev.im4j.onnx.model.CausalLmParameters;
import dev.im4j.onnx.model.Weights;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Forward-pass throughput of {@link CausalLmGraphs} on ONNX Runtime CPU (a main; run by {@code
 * benchmarks/onnx/forward_vs_torch.sh}, which runs {@code bench_forward.py} on the same shapes for
 * comparison).
 *
 * <p>Usage: {@code ForwardBenchmark small|base [threads]}. {@code small} is a ~9.4M-parameter LLaMA
 * (vocab 8192, hidden 384, 4 layers, 6 heads, 2 kv heads, intermediate 1024, tied); {@code base}
 * ~99.5M (vocab 32000, hidden 768, 8 layers, 12 heads, 4 kv heads, intermediate 2048, untied).
 * Parameters are fed as graph inputs (as the training runtime does), random ids, full-length single
 * segments. Per shape (1x512, 8x256): one warm-up run, then the median of 3 timed runs. Prints one
 * line per shape: {@code RESULT java <size> <B>x<T> <tokens/s> <peak RSS MiB>}, peak RSS being the
 * process high-water mark ({@code VmHWM}) after that shape.
 */
public final class ForwardBenchmark {
  private ForwardBenchmark() {}

  static CausalLmConfig config(String size) {
    String json =
        switch (size) {
          case "small" ->
              """
              {"model_type": "llama", "vocab_size": 8192, "hidden_size": 384,
               "intermediate_size": 1024, "num_hidden_layers": 4, "num_attention_heads": 6,
               "num_key_value_heads": 2, "max_position_embeddings": 1024,
               "tie_word_embeddings": true}
              """;
          case "base" ->
              """
              {"model_type": "llama", "vocab_size": 32000, "hidden_size": 768,
               "intermediate_size": 2048, "num_hidden_layers": 8, "num_attention_heads": 12,
               "num_key_value_heads": 4, "max_position_embeddings": 1024,
               "tie_word_embeddings": false}
              """;
          default ->
              throw new IllegalArgumentException("size must be small or base but was " + size);
        };
    return CausalLmConfig.parse(json, size);
  }

  public static void main(String[] args) throws OrtException, IOException {
    if (args.length < 1) {
      throw new IllegalArgumentException("usage: ForwardBenchmark small|base [threads]");
    }
    CausalLmConfig config = config(args[0]);
    int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
    Weights weights = CausalLmParameters.initialize(config, 1, DType.FLOAT);
    Graph graph = CausalLmGraphs.forward(config, false);
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    Map<String, OnnxTensor> feed = new LinkedHashMap<>();
    for (var t : weights.tensors()) {
      ByteBuffer b =
          ByteBuffer.allocateDirect(Math.multiplyExact(t.numel(), 4))
              .order(ByteOrder.nativeOrder());
      b.asFloatBuffer().put(t.data());
      feed.put(t.name(), OnnxTensor.createTensor(env, b.asFloatBuffer(), t.shape()));
    }
    System.out.printf(
        "java %s: %,d parameters, %d nodes, %d threads%n",
        args[0], weights.parameterCount(), graph.nodes().size(), threads);
    try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
      opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      opts.setIntraOpNumThreads(threads);
      opts.setInterOpNumThreads(1);
      try (OrtSession session = env.createSession(OnnxIo.toBytes(graph), opts)) {
        for (int[] shape : new int[][] {{1, 512}, {8, 256}}) {
          run(env, session, feed, config.vocabSize(), args[0], shape[0], shape[1]);
        }
      }
    }
    for (OnnxTensor t : feed.values()) {
      t.close();
    }
  }

  private static void run(
      OrtEnvironment env,
      OrtSession session,
      Map<String, OnnxTensor> params,
      int vocab,
      String size,
      int b,
      int t)
      throws OrtException, IOException {
    Random random = new Random(42);
    long[] ids = new long[b * t]; // [B, T]
    long[] pos = new long[b * t]; // [B, T]
    long[] seg = new long[b * t]; // [B, T]
    for (int i = 0; i < ids.length; i++) {
      ids[i] = random.nextInt(vocab);
      pos[i] = i % t;
      seg[i] = 1;
    }
    long[] dims = {b, t};
    try (OnnxTensor idsT = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), dims);
        OnnxTensor posT = OnnxTensor.createTensor(env, LongBuffer.wrap(pos), dims);
        OnnxTensor segT = OnnxTensor.createTensor(env, LongBuffer.wrap(seg), dims)) {
      Map<String, OnnxTensor> feed = new LinkedHashMap<>(params);
      feed.put(CausalLmGraphs.INPUT_IDS, idsT);
      feed.put(CausalLmGraphs.POSITION_IDS, posT);
      feed.put(CausalLmGraphs.SEGMENT_IDS, segT);
      double[] seconds = new double[3];
      float check = 0;
      for (int i = -1; i < seconds.length; i++) {
        long t0 = System.nanoTime();
        try (OrtSession.Result r = session.run(feed)) {
          FloatBuffer logits = ((OnnxTensor) r.get(0)).getFloatBuffer();
          check += logits.get(0);
        }
        if (i >= 0) {
          seconds[i] = (System.nanoTime() - t0) / 1e9;
        }
      }
      if (!Float.isFinite(check)) {
        throw new IllegalStateException("non-finite logits in the benchmark: " + check);
      }
      Arrays.sort(seconds);
      System.out.printf(
          "RESULT java %s %dx%d %.1f %.0f%n", size, b, t, b * t / seconds[1], peakRssMiB());
    }
  }

  /** The process's peak resident set (VmHWM) in MiB. */
  static double peakRssMiB() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmHWM:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
      }
    }
    throw new IllegalStateException("no VmHWM in /proc/self/status");
  }
}
