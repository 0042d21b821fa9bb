package dev.im4j.bench.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.graph.OnnxIo;
import dev.im4j.onnx.model.CausalLmConfig;
import dev.im4j.onnx.model.CausalLmGraphs;
import dev.im4j.onnx.runtime.Ort;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * Times building the training graph of a decoder (forward + weighted CE + backward) and creating an
 * ONNX Runtime session for it, at basic and at full graph optimisation, 2 threads.
 *
 * <p>Run: {@code java -cp benchmarks/onnx/target/benchmarks-onnx.jar
 * dev.im4j.bench.onnx.SessionCreationBenchmark [layers] [hidden] [vocab]} (default 12, 768, 32000:
 * a GPT-2-small-sized LLaMA).
 */
public final class SessionCreationBenchmark {
  private SessionCreationBenchmark() {}

  public static void main(String[] args) throws Exception {
    int layers = args.length > 0 ? Integer.parseInt(args[0]) : 12;
    int hidden = args.length > 1 ? Integer.parseInt(args[1]) : 768;
    int vocab = args.length > 2 ? Integer.parseInt(args[2]) : 32000;
    CausalLmConfig config =
        CausalLmConfig.parse(
            String.format(
                "{\"model_type\": \"llama\", \"vocab_size\": %d, \"hidden_size\": %d,"
                    + " \"intermediate_size\": %d, \"num_hidden_layers\": %d,"
                    + " \"num_attention_heads\": 12, \"num_key_value_heads\": 12,"
                    + " \"max_position_embeddings\": 2048, \"rms_norm_eps\": 1e-5,"
                    + " \"tie_word_embeddings\": true, \"hidden_act\": \"silu\"}",
                vocab, hidden, 4 * hidden, layers),
            "benchmark config");
    long[] builds = new long[5];
    Graph graph = null;
    for (int i = 0; i < builds.length; i++) {
      long t0 = System.nanoTime();
      graph = CausalLmGraphs.training(config, Set.of(), false, false);
      builds[i] = System.nanoTime() - t0;
    }
    java.util.Arrays.sort(builds);
    Path model = Files.createTempFile("im4j-session-bench", ".onnx");
    OnnxIo.write(graph, model, Long.MAX_VALUE);
    System.out.printf(
        "%d layers, hidden %d, vocab %d: %d nodes; build median %.1f ms (%.1f ms per layer)%n",
        layers, hidden, vocab, graph.nodes().size(), builds[2] / 1e6, builds[2] / 1e6 / layers);
    OrtEnvironment env = Ort.environment();
    for (OrtSession.SessionOptions.OptLevel level :
        new OrtSession.SessionOptions.OptLevel[] {
          OrtSession.SessionOptions.OptLevel.BASIC_OPT, OrtSession.SessionOptions.OptLevel.ALL_OPT
        }) {
      try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
        options.setOptimizationLevel(level);
        options.setIntraOpNumThreads(2);
        long t0 = System.nanoTime();
        try (OrtSession session = env.createSession(model.toString(), options)) {
          System.out.printf(
              "session creation at %s: %.0f ms (%d inputs)%n",
              level, (System.nanoTime() - t0) / 1e6, session.getNumInputs());
        }
      }
    }
    Files.delete(model);
  }
}
