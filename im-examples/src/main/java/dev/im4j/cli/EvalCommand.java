package dev.im4j.cli;

import dev.im4j.core.mask.ClassifiedExample;
import dev.im4j.core.mask.ExampleEncoder;
import dev.im4j.core.tokenizer.HfTokenizer;
import dev.im4j.onnx.model.ModelDirectory;
import dev.im4j.onnx.runtime.InferenceModel;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code im4j eval}: output-only (IT) and instruction-modelling (IM) loss on a data file. */
@Command(
    name = "eval",
    mixinStandardHelpOptions = true,
    description = {
      "Token-mean next-token loss of a model on a data file, under the output-only (IT) and the"
          + " instruction-modelling (IM) policy, side by side."
    })
final class EvalCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = "--model", required = true, paramLabel = "DIR", description = "Model directory.")
  Path model;

  @Option(
      names = "--adapter",
      paramLabel = "DIR",
      description = "A PEFT LoRA adapter directory for --model, merged in when loaded.")
  Path adapter;

  @Mixin DataOptions data;
  @Mixin PipelineOptions pipeline;

  @Override
  public Integer call() throws Exception {
    PrintWriter stdout = spec.commandLine().getOut();
    if (pipeline.tokenizer == null) {
      pipeline.tokenizer = model;
    }
    ModelDirectory dir = ModelOptions.withAdapter(ModelDirectory.load(model), adapter);
    HeldOutLoss loss;
    long examples;
    try (HfTokenizer tokenizer = pipeline.loadTokenizer();
        InferenceModel lm = InferenceModel.open(dir)) {
      ExampleEncoder encoder = pipeline.encoder(tokenizer);
      List<ClassifiedExample> encoded = TrainCommand.encode(encoder, data.open());
      examples = encoded.size();
      loss = HeldOutLoss.of(lm, encoded);
    }
    stdout.printf(
        Locale.ROOT,
        "examples %d%noutput-only (IT) loss %.4f over %.0f targets%n"
            + "instruction-modelling (IM) loss %.4f over %.0f targets%n",
        examples,
        loss.outputOnly(),
        loss.outputTargets(),
        loss.instruction(),
        loss.instructionTargets());
    stdout.flush();
    return Im4jCli.OK;
  }
}
