package dev.im4j.cli;

import dev.im4j.core.data.Conversation;
import dev.im4j.core.data.Message;
import dev.im4j.core.mask.ExampleEncoder;
import dev.im4j.core.tokenizer.HfTokenizer;
import dev.im4j.onnx.generate.Generator;
import dev.im4j.onnx.generate.SamplingConfig;
import dev.im4j.onnx.model.ModelDirectory;
import dev.im4j.onnx.runtime.InferenceModel;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
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

  @Option(
      names = "--adapter",
      paramLabel = "DIR",
      description = "A PEFT LoRA adapter directory for --model, merged in when loaded.")
  Path adapter;

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
  public Integer call() {
    Flags.require(maxNewTokens >= 1, "--max-new-tokens", maxNewTokens, ">= 1");
    Flags.require(
        Double.isFinite(temperature) && temperature >= 0,
        "--temperature",
        temperature,
        ">= 0 (0 is greedy)");
    Flags.require(topK >= 0, "--top-k", topK, ">= 0 (0 disables it)");
    Flags.require(topP > 0 && topP <= 1, "--top-p", topP, "in (0, 1] (1 disables it)");
    PrintWriter stdout = spec.commandLine().getOut();
    if (pipeline.tokenizer == null) {
      pipeline.tokenizer = model; // im4j train copies the tokenizer files into the model folder
    }
    ModelDirectory dir = ModelOptions.withAdapter(ModelDirectory.load(model), adapter);
    SamplingConfig sampling = new SamplingConfig(maxNewTokens, temperature, topK, topP, seed);
    try (HfTokenizer tokenizer = pipeline.loadTokenizer();
        InferenceModel lm = InferenceModel.open(dir)) {
      ExampleEncoder encoder = pipeline.encoder(tokenizer);
      Set<Integer> stop = new HashSet<>();
      tokenizer.specialTokens().eosId().ifPresent(stop::add);
      Generator generator = new Generator(lm, stop);
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
}
