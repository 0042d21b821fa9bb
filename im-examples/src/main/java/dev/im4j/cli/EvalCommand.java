package dev.im4j.cli;

import dev.im4j.core.data.DatasetReader;
import dev.im4j.core.data.DatasetRecord;
import dev.im4j.core.mask.ExampleEncoder;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.mask.TokenizedExample;
import dev.im4j.core.tokenizer.HfTokenizer;
import dev.im4j.onnx.model.ModelDirectory;
import java.io.PrintWriter;
import java.nio.file.Path;
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

  @Mixin DataOptions data;
  @Mixin PipelineOptions pipeline;

  @Override
  public Integer call() throws Exception {
    PrintWriter stdout = spec.commandLine().getOut();
    if (pipeline.tokenizer == null) {
      pipeline.tokenizer = model;
    }
    ModelDirectory dir = ModelDirectory.load(model);
    LossPolicy it = LossPolicy.outputOnly();
    double[] sums = new double[2]; // Σ w·nll under IT, IM
    double[] weights = new double[2];
    long examples = 0;
    try (HfTokenizer tokenizer = pipeline.loadTokenizer();
        InferenceModel lm = InferenceModel.open(dir);
        DatasetReader reader = data.open()) {
      ExampleEncoder encoder = pipeline.encoder(tokenizer, LossPolicy.instructionModelling());
      while (reader.hasNext()) {
        DatasetRecord record = reader.next();
        TokenizedExample im = PrepareCommand.encodeAt(encoder, record).example();
        TokenizedExample out = it.reweigh(im);
        float[][] logits = lm.logits(im.ids()); // [T, V]
        for (int t = 0; t + 1 < im.length(); t++) {
          double nll = nll(logits[t], im.idAt(t + 1));
          sums[0] += out.weightAt(t + 1) * nll;
          weights[0] += out.weightAt(t + 1);
          sums[1] += im.weightAt(t + 1) * nll;
          weights[1] += im.weightAt(t + 1);
        }
        examples++;
      }
    }
    stdout.printf(
        Locale.ROOT,
        "examples %d%noutput-only (IT) loss %.4f over %.0f targets%n"
            + "instruction-modelling (IM) loss %.4f over %.0f targets%n",
        examples,
        weights[0] == 0 ? Double.NaN : sums[0] / weights[0],
        weights[0],
        weights[1] == 0 ? Double.NaN : sums[1] / weights[1],
        weights[1]);
    stdout.flush();
    return Im4jCli.OK;
  }

  /** −log softmax(logits)[target], computed stably in double. */
  static double nll(float[] logits, int target) {
    double max = Double.NEGATIVE_INFINITY;
    for (float l : logits) {
      max = Math.max(max, l);
    }
    double sum = 0;
    for (float l : logits) {
      sum += Math.exp(l - max);
    }
    return max + Math.log(sum) - logits[target];
  }
}
