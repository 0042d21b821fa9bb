package dev.im4j.cli;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.im4j.core.data.Conversation;
import dev.im4j.core.data.Message;
import dev.im4j.core.mask.ExampleEncoder;
import dev.im4j.core.tokenizer.HfTokenizer;
import dev.im4j.onnx.generate.Generator;
import dev.im4j.onnx.generate.LogitsFunction;
import dev.im4j.onnx.generate.SamplingConfig;
import dev.im4j.onnx.graph.OnnxIo;
import dev.im4j.onnx.model.CausalLmGraphs;
import dev.im4j.onnx.model.ModelDirectory;
import dev.im4j.onnx.runtime.Ort;
import java.io.PrintWriter;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code im4j generate}: completions for prompts rendered with the model's chat template. */
@Command(
    name = "generate",
    mixinStandardHelpOptions = true,
    description = {
      "Generates an answer to each --prompt (one user turn, rendered with the chat template and"
          + " its generation prompt) with a model on ONNX Runtime (CPU, no KV cache: for quick"
          + " checks)."
    })
final class GenerateCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = "--model", required = true, paramLabel = "DIR", description = "Model directory.")
  Path model;

  @Mixin PipelineOptions pipeline;

  @Option(names = "--prompt", required = true, description = "A user message (repeatable).")
  List<String> prompts;

  @Option(
      names = "--max-new-tokens",
      defaultValue = "" + SamplingConfig.DEFAULT_MAX_NEW_TOKENS,
      description = "(default: ${DEFAULT-VALUE})")
  int maxNewTokens;

  @Option(
      names = "--temperature",
      defaultValue = "0",
      description = "0 is greedy (default: ${DEFAULT-VALUE}).")
  double temperature;

  @Option(
      names = "--top-k",
      defaultValue = "0",
      description = "0 disables (default: ${DEFAULT-VALUE}).")
  int topK;

  @Option(
      names = "--top-p",
      defaultValue = "1",
      description = "1 disables (default: ${DEFAULT-VALUE}).")
  double topP;

  @Option(names = "--seed", defaultValue = "42", description = "(default: ${DEFAULT-VALUE})")
  long seed;

  @Override
  public Integer call() throws OrtException {
    PrintWriter stdout = spec.commandLine().getOut();
    if (pipeline.tokenizer == null) {
      pipeline.tokenizer = model; // im4j train copies the tokenizer files into the model folder
    }
    ModelDirectory dir = ModelDirectory.load(model);
    SamplingConfig sampling = new SamplingConfig(maxNewTokens, temperature, topK, topP, seed);
    OrtEnvironment env = Ort.environment();
    byte[] graph = OnnxIo.toBytes(CausalLmGraphs.inference(dir.config(), dir.weights()));
    try (HfTokenizer tokenizer = pipeline.loadTokenizer();
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        OrtSession session = env.createSession(graph, options)) {
      ExampleEncoder encoder = pipeline.encoder(tokenizer, pipeline.policy());
      Set<Integer> stop = new HashSet<>();
      tokenizer.specialTokens().eosId().ifPresent(stop::add);
      Generator generator = new Generator(new SessionLogits(env, session), stop);
      for (String prompt : prompts) {
        int[] ids = encoder.encodePrompt(Conversation.of(Message.user(prompt)));
        int[] answer = generator.generate(ids, sampling);
        stdout.println("### " + prompt);
        stdout.println(tokenizer.decode(answer, true));
      }
    }
    stdout.flush();
    return Im4jCli.OK;
  }

  /** Next-token logits from a full forward pass of the inference graph. */
  private static final class SessionLogits implements LogitsFunction {
    private final OrtEnvironment env;
    private final OrtSession session;

    SessionLogits(OrtEnvironment env, OrtSession session) {
      this.env = env;
      this.session = session;
    }

    @Override
    public float[] nextTokenLogits(int[] ids) {
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
        float[][][] logits = (float[][][]) r.get(0).getValue(); // [1, T, V]
        return logits[0][t - 1];
      } catch (OrtException e) {
        throw new IllegalStateException("the forward pass failed: " + e.getMessage(), e);
      }
    }
  }
}
