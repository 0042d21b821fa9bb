package dev.im4j.cli;

import dev.im4j.core.data.DatasetFormat;
import dev.im4j.core.data.DatasetReader;
import dev.im4j.core.data.OnError;
import dev.im4j.core.mask.ClassifiedExample;
import dev.im4j.core.mask.ExampleEncoder;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.stats.Advisor;
import dev.im4j.core.stats.DatasetStatistics;
import dev.im4j.core.template.ChatTemplates;
import dev.im4j.core.tokenizer.HfTokenizer;
import dev.im4j.onnx.train.Trainer;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code im4j demo}: the README's first command. Runs on data and a tokenizer embedded in the jar,
 * with no network: dataset statistics with the IM-vs-IT advice, the same examples masked for
 * output-only tuning (IT) and for Instruction Modelling (IM), then {@link DemoTraining}: one tiny
 * model trained both ways, reported as measured.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "On two bundled WordNet tasks (long instructions with short answers, and the reverse):"
          + " statistics and the IM-vs-IT advice, the tokens IT and IM train, then a tiny model"
          + " trained with IT and with IM from one seed, with a table of train and held-out"
          + " output-only loss and a PNG of the curves (a few minutes on 2 cores)."
    })
final class DemoCommand implements Callable<Integer> {
  /** Classpath folder of the embedded demo data and tokenizer. */
  static final String RESOURCES = "im4j/demo/";

  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--out",
      paramLabel = "DIR",
      defaultValue = "im4j-demo",
      description = "Folder for the demo's inputs and outputs (default: ${DEFAULT-VALUE}).")
  Path out;

  /** The bundled tasks: WordNet-derived, one with long and one with short instructions. */
  static final String[] TASKS = {"name-the-word", "define-the-word"};

  @Option(
      names = "--no-train",
      description = "Only statistics and masks, no training (default: train IT and IM).")
  boolean noTrain;

  @Option(
      names = "--epochs",
      defaultValue = "2",
      description = "Epochs per run (default: ${DEFAULT-VALUE}, the paper's).")
  int epochs;

  @Option(
      names = "--steps",
      defaultValue = "0",
      description = "Optimizer steps per run instead of epochs; 0 uses --epochs (default: 0).")
  long steps;

  @Option(
      names = "--examples",
      defaultValue = "1200",
      description = "Training examples per task, at most 1200 (default: ${DEFAULT-VALUE}).")
  int examples;

  @Option(
      names = "--heldout",
      defaultValue = "200",
      description = "Held-out examples per task, at most 200 (default: ${DEFAULT-VALUE}).")
  int heldoutCount;

  @Option(
      names = "--eval-every",
      defaultValue = "25",
      description = "Steps between held-out evaluations (default: ${DEFAULT-VALUE}).")
  int evalEvery;

  @Option(
      names = "--threads",
      defaultValue = "2",
      description = "ONNX Runtime intra-op threads (default: ${DEFAULT-VALUE}).")
  int threads;

  @Override
  public Integer call() throws Exception {
    Flags.require(epochs >= 1, "--epochs", epochs, ">= 1");
    Flags.require(steps >= 0, "--steps", steps, ">= 0 (0 uses --epochs)");
    Flags.require(examples >= 1 && examples <= 1200, "--examples", examples, "in [1, 1200]");
    Flags.require(
        heldoutCount >= 1 && heldoutCount <= 200, "--heldout", heldoutCount, "in [1, 200]");
    Flags.require(evalEvery >= 1, "--eval-every", evalEvery, ">= 1");
    Flags.require(threads >= 0, "--threads", threads, ">= 0 (0 lets ONNX Runtime choose)");
    PrintWriter stdout = spec.commandLine().getOut();
    Path tokenizer = out.resolve("tokenizer");
    Files.createDirectories(tokenizer);
    extract("tokenizer/tokenizer.json", tokenizer.resolve("tokenizer.json"));
    extract("tokenizer/tokenizer_config.json", tokenizer.resolve("tokenizer_config.json"));
    extract("wordnet/LICENSE-WordNet.txt", out.resolve("LICENSE-WordNet.txt"));
    int status = Im4jCli.OK;
    Map<String, List<DemoTraining.Run>> runs = new LinkedHashMap<>();
    Map<String, String> ratios = new LinkedHashMap<>();
    for (String task : TASKS) {
      Path train = extract("wordnet/" + task + ".train.jsonl", out.resolve(task + ".train.jsonl"));
      extract("wordnet/" + task + ".heldout.jsonl", out.resolve(task + ".heldout.jsonl"));
      String[] common = {"--data", train.toString(), "--tokenizer", tokenizer.toString()};
      stdout.println("== Task " + task + " (WordNet 3.0; Llama-2-style tokenizer; Tulu format)");
      stdout.flush();
      status = run("stats", common);
      for (String policy : new String[] {"it", "im"}) {
        if (status != Im4jCli.OK) {
          return status;
        }
        stdout.println();
        stdout.println(
            "-- policy "
                + policy
                + (policy.equals("it")
                    ? ": loss on the outputs only (instruction tuning)"
                    : ": loss on instructions and outputs, not on the template (the paper)"));
        stdout.flush();
        Path prepared = out.resolve(task + ".prepared-" + policy + ".jsonl");
        // Masks of one example; training below uses the whole file.
        status =
            run(
                "prepare",
                common,
                "--policy",
                policy,
                "--out",
                prepared.toString(),
                "--preview",
                "--preview-count",
                "1");
      }
      stdout.println();
      if (status == Im4jCli.OK && !noTrain) {
        runs.put(task, train(stdout, tokenizer, train, out.resolve(task + ".heldout.jsonl"), task));
        ratios.put(task, lengthRatio(train));
      }
    }
    if (!runs.isEmpty()) {
      table(stdout, runs, ratios);
      Path png = out.resolve("curves.png");
      DemoTraining.plot(runs, png);
      stdout.println("Held-out loss curves: " + png.toAbsolutePath());
    }
    stdout.println("Inputs and prepared JSONL files are in " + out.toAbsolutePath());
    stdout.flush();
    return status;
  }

  private List<DemoTraining.Run> train(
      PrintWriter stdout, Path tokenizerDir, Path trainFile, Path heldOutFile, String task)
      throws Exception {
    List<DemoTraining.Run> result = new ArrayList<>();
    try (HfTokenizer tokenizer = HfTokenizer.load(tokenizerDir)) {
      ExampleEncoder encoder =
          ExampleEncoder.of(
              ChatTemplates.resolve(null, tokenizerDir, tokenizer.specialTokens()), tokenizer);
      List<ClassifiedExample> train = head(encode(encoder, trainFile), examples);
      List<ClassifiedExample> heldOut = head(encode(encoder, heldOutFile), heldoutCount);
      List<ClassifiedExample> probe = head(train, heldOut.size());
      for (LossPolicy policy :
          List.of(LossPolicy.outputOnly(), LossPolicy.instructionModelling())) {
        String name = policy.kind().shortName();
        stdout.printf(
            Locale.ROOT,
            "-- training %s with %s on %d examples (tiny LLaMA, seed %d)%n",
            task,
            name,
            train.size(),
            DemoTraining.SEED);
        stdout.flush();
        result.add(
            DemoTraining.run(
                policy,
                name,
                train,
                probe,
                heldOut,
                epochs,
                steps,
                evalEvery,
                threads,
                out.resolve("runs").resolve(task + "-" + name),
                new TrainCommand.ProgressPrinter(
                    stdout,
                    evalEvery,
                    Trainer.totalSteps(steps, epochs, train.size(), DemoTraining.ROWS_PER_STEP),
                    TrainCommand.ProgressPrinter.tokensPerStep(
                        train, DemoTraining.ROWS_PER_STEP))));
      }
    }
    return result;
  }

  private static List<ClassifiedExample> encode(ExampleEncoder encoder, Path file) {
    return TrainCommand.encode(
        encoder, DatasetReader.open(file, DatasetFormat.MESSAGES, OnError.FAIL_FAST));
  }

  private static <T> List<T> head(List<T> list, int n) {
    return List.copyOf(list.subList(0, Math.min(n, list.size())));
  }

  private static String lengthRatio(Path trainFile) {
    DatasetStatistics.Accumulator acc = DatasetStatistics.accumulator(0);
    try (DatasetReader reader =
        DatasetReader.open(trainFile, DatasetFormat.MESSAGES, OnError.FAIL_FAST)) {
      reader.forEachRemaining(r -> acc.add(r.example()));
    }
    DatasetStatistics stats = acc.build();
    return String.format(
        Locale.ROOT,
        "%.3f (%s)",
        stats.lengthRatio(),
        Advisor.advise(stats).recommendation() == Advisor.Recommendation.INSTRUCTION_MODELLING
            ? "advice: im"
            : "advice: it");
  }

  private static void table(
      PrintWriter out, Map<String, List<DemoTraining.Run>> runs, Map<String, String> ratios) {
    out.println();
    out.println("== Results: output-only loss (nats per output token), as measured");
    out.printf(
        Locale.ROOT,
        "%-16s %-24s %-6s %10s %10s %10s%n",
        "task",
        "length ratio",
        "policy",
        "train",
        "held-out",
        "gap");
    for (Map.Entry<String, List<DemoTraining.Run>> e : runs.entrySet()) {
      for (DemoTraining.Run r : e.getValue()) {
        out.printf(
            Locale.ROOT,
            "%-16s %-24s %-6s %10.4f %10.4f %10.4f%n",
            e.getKey(),
            ratios.get(e.getKey()),
            r.policy(),
            r.train().outputOnly(),
            r.heldOut().outputOnly(),
            r.heldOut().outputOnly() - r.train().outputOnly());
      }
    }
    out.println(
        "gap = held-out minus train. The paper reports IM with a higher train and a lower held-out"
            + " output loss than IT; this tiny model may or may not show it.");
  }

  private int run(String command, String[] common, String... more) {
    String[] args = new String[1 + common.length + more.length];
    args[0] = command;
    System.arraycopy(common, 0, args, 1, common.length);
    System.arraycopy(more, 0, args, 1 + common.length, more.length);
    CommandLine root = spec.root().commandLine();
    return root.execute(args);
  }

  private static Path extract(String resource, Path target) {
    try (InputStream in =
        DemoCommand.class.getClassLoader().getResourceAsStream(RESOURCES + resource)) {
      if (in == null) {
        throw new IllegalStateException(
            "the jar lacks " + RESOURCES + resource + "; rebuild it with mvn package");
      }
      Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + target, e);
    }
  }
}
