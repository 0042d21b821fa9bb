package dev.im4j.cli;

import dev.im4j.core.data.Conversation;
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
import dev.im4j.onnx.model.ModelDirectory;
import dev.im4j.onnx.train.Trainer;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code im4j demo}: the README's first command. Runs on data, a tokenizer and a small pretrained
 * base model embedded in the jar, with no network: dataset statistics with the IM-vs-IT advice, the
 * same examples masked for output-only tuning (IT) and for Instruction Modelling (IM), then {@link
 * DemoTraining}: the base fine-tuned both ways on few and on more examples, reported as measured,
 * with greedy answers to held-out prompts.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "On two bundled WordNet tasks (long instructions with short answers, and the reverse):"
          + " statistics and the IM-vs-IT advice, the tokens IT and IM train, then a small"
          + " pretrained base fine-tuned with IT and with IM from one seed on few and on more"
          + " examples, with a table of train and held-out output-only loss, greedy answers to"
          + " held-out prompts and a PNG of the curves (a few minutes on 2 cores)."
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

  /** Classpath folder of the bundled pretrained base model (config.json, model.safetensors). */
  static final String BASE = "base/";

  @Option(
      names = "--no-train",
      description = "Only statistics and masks, no training (default: train IT and IM).")
  boolean noTrain;

  @Option(
      names = "--from-scratch",
      description =
          "The earlier demo: a 2.1 M-parameter LLaMA trained from random weights at lr 1e-3"
              + " instead of fine-tuning the bundled pretrained base (default: off).")
  boolean fromScratch;

  @Option(names = "--epochs", description = "Epochs per run (default: 4; 2 with --from-scratch).")
  Integer epochs;

  @Option(
      names = "--steps",
      defaultValue = "0",
      description = "Optimizer steps per run instead of epochs; 0 uses --epochs (default: 0).")
  long steps;

  @Option(
      names = "--examples",
      description =
          "Training examples per task, at most 1200: the few-example run (default: 64; 1200 with"
              + " --from-scratch).")
  Integer examples;

  @Option(
      names = "--more-examples",
      description =
          "A second, larger training set, at most 1200, for the tasks with a length ratio of at"
              + " least 5 (where the paper's example-count fit applies), to show the effect of"
              + " the number of examples; 0 skips it (default: 256; 0 with --from-scratch).")
  Integer moreExamples;

  @Option(
      names = "--heldout",
      defaultValue = "200",
      description = "Held-out examples per task, at most 200 (default: ${DEFAULT-VALUE}).")
  int heldoutCount;

  @Option(
      names = "--generations",
      defaultValue = "3",
      description =
          "Held-out prompts per task answered greedily by each trained model (default:"
              + " ${DEFAULT-VALUE}).")
  int generations;

  @Option(
      names = "--eval-every",
      defaultValue = "0",
      description =
          "Steps between held-out evaluations; 0 evaluates about "
              + EVALUATIONS_PER_RUN
              + " times per run (default: 0).")
  int evalEvery;

  /** Held-out evaluations per run when --eval-every is 0: enough points for a curve. */
  static final int EVALUATIONS_PER_RUN = 8;

  @Option(
      names = "--lr",
      description =
          "Peak learning rate (default: "
              + DemoTraining.BASE_LEARNING_RATE
              + "; "
              + DemoTraining.SCRATCH_LEARNING_RATE
              + " with --from-scratch).")
  Float learningRate;

  @Option(
      names = "--threads",
      defaultValue = "2",
      description = "ONNX Runtime intra-op threads (default: ${DEFAULT-VALUE}).")
  int threads;

  @Override
  public Integer call() throws Exception {
    if (epochs == null) {
      epochs = fromScratch ? 2 : 6;
    }
    if (examples == null) {
      examples = fromScratch ? 1200 : 64;
    }
    if (moreExamples == null) {
      moreExamples = fromScratch ? 0 : 256;
    }
    Flags.require(epochs >= 1, "--epochs", epochs, ">= 1");
    Flags.require(steps >= 0, "--steps", steps, ">= 0 (0 uses --epochs)");
    Flags.require(examples >= 1 && examples <= 1200, "--examples", examples, "in [1, 1200]");
    Flags.require(
        moreExamples >= 0 && moreExamples <= 1200,
        "--more-examples",
        moreExamples,
        "in [0, 1200] (0 skips the larger set)");
    Flags.require(
        heldoutCount >= 1 && heldoutCount <= 200, "--heldout", heldoutCount, "in [1, 200]");
    Flags.require(generations >= 0, "--generations", generations, ">= 0");
    Flags.require(evalEvery >= 0, "--eval-every", evalEvery, ">= 0 (0 chooses)");
    Flags.require(learningRate == null || learningRate > 0, "--lr", learningRate, "> 0");
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
    Map<String, List<Conversation>> shown = new LinkedHashMap<>();
    DemoTraining.Start start = noTrain ? null : start(stdout);
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
      if (status == Im4jCli.OK && start != null) {
        Path heldOut = out.resolve(task + ".heldout.jsonl");
        shown.put(task, head(conversations(heldOut), generations));
        DatasetStatistics stats = statistics(train);
        ratios.put(task, describeRatio(stats));
        // The larger set runs where the paper's example-count fit applies: a high length ratio.
        boolean more = moreExamples > 0 && stats.lengthRatio() >= Advisor.HIGH_RATIO;
        runs.put(
            task, train(stdout, start, tokenizer, train, heldOut, shown.get(task), task, more));
      }
    }
    if (!runs.isEmpty()) {
      table(stdout, runs, ratios);
      generationsShown(stdout, tokenizer, runs, shown);
      Path png = out.resolve("curves.png");
      DemoTraining.plot(runs, png);
      stdout.println("Held-out loss curves: " + png.toAbsolutePath());
    }
    stdout.println("Inputs and prepared JSONL files are in " + out.toAbsolutePath());
    stdout.flush();
    return status;
  }

  /** The model both policies start from: the bundled base, or a random one with --from-scratch. */
  private DemoTraining.Start start(PrintWriter stdout) throws IOException {
    DemoTraining.Start start = fromScratch ? DemoTraining.Start.scratch() : base(stdout);
    return learningRate == null ? start : start.withLearningRate(learningRate);
  }

  /** The bundled pretrained base, extracted next to the data. */
  private DemoTraining.Start base(PrintWriter stdout) throws IOException {
    Path base = Files.createDirectories(out.resolve("base"));
    for (String file : new String[] {"config.json", "model.safetensors", "README.md"}) {
      extract(BASE + file, base.resolve(file));
    }
    // A complete Hugging Face directory: im4j generate --model DIR and Python load it as it is.
    for (String file : new String[] {"tokenizer.json", "tokenizer_config.json"}) {
      extract("tokenizer/" + file, base.resolve(file));
    }
    ModelDirectory model = ModelDirectory.load(base);
    stdout.printf(
        Locale.ROOT,
        "Base model: %s (%.1f M parameters, pretrained by im4j on WordNet glosses without the"
            + " held-out words; see %s)%n%n",
        base,
        model.weights().parameterCount() / 1e6,
        base.resolve("README.md"));
    return new DemoTraining.Start(
        "the bundled pretrained base", model, DemoTraining.BASE_LEARNING_RATE);
  }

  private List<DemoTraining.Run> train(
      PrintWriter stdout,
      DemoTraining.Start start,
      Path tokenizerDir,
      Path trainFile,
      Path heldOutFile,
      List<Conversation> shown,
      String task,
      boolean more)
      throws Exception {
    List<DemoTraining.Run> result = new ArrayList<>();
    try (HfTokenizer tokenizer = HfTokenizer.load(tokenizerDir)) {
      ExampleEncoder encoder =
          ExampleEncoder.of(
              ChatTemplates.resolve(null, tokenizerDir, tokenizer.specialTokens()), tokenizer);
      List<ClassifiedExample> all = encode(encoder, trainFile);
      List<ClassifiedExample> heldOut = head(encode(encoder, heldOutFile), heldoutCount);
      List<int[]> prompts = new ArrayList<>();
      for (Conversation c : shown) {
        prompts.add(encoder.encodePrompt(new Conversation(c.messages().subList(0, 1))));
      }
      Set<Integer> stop = new HashSet<>();
      tokenizer.specialTokens().eosId().ifPresent(stop::add);
      List<Integer> sizes = new ArrayList<>(List.of(examples));
      if (more && moreExamples != examples) {
        sizes.add(moreExamples);
      }
      for (int size : sizes) {
        List<ClassifiedExample> train = head(all, size);
        List<ClassifiedExample> probe = head(train, heldOut.size());
        for (LossPolicy policy :
            List.of(LossPolicy.outputOnly(), LossPolicy.instructionModelling())) {
          String name = policy.kind().shortName();
          stdout.printf(
              Locale.ROOT,
              "-- training %s with %s on %d examples (%s, seed %d)%n",
              task,
              name,
              train.size(),
              start.description(),
              DemoTraining.SEED);
          stdout.flush();
          long total = Trainer.totalSteps(steps, epochs, train.size(), DemoTraining.ROWS_PER_STEP);
          int every =
              evalEvery > 0
                  ? evalEvery
                  : (int) Math.max(1, (total + EVALUATIONS_PER_RUN - 1) / EVALUATIONS_PER_RUN);
          result.add(
              DemoTraining.run(
                  policy,
                  start,
                  train,
                  probe,
                  heldOut,
                  prompts,
                  stop,
                  epochs,
                  steps,
                  every,
                  threads,
                  out.resolve("runs").resolve(task + "-" + size + "-" + name),
                  new TrainCommand.ProgressPrinter(
                      stdout,
                      every,
                      total,
                      TrainCommand.ProgressPrinter.tokensPerStep(
                          train, DemoTraining.ROWS_PER_STEP))));
        }
      }
    }
    return result;
  }

  private static List<Conversation> conversations(Path file) {
    try (DatasetReader reader =
        DatasetReader.open(file, DatasetFormat.MESSAGES, OnError.FAIL_FAST)) {
      return reader.stream().map(r -> (Conversation) r.example()).toList();
    }
  }

  private static List<ClassifiedExample> encode(ExampleEncoder encoder, Path file) {
    return TrainCommand.encode(
        encoder, DatasetReader.open(file, DatasetFormat.MESSAGES, OnError.FAIL_FAST));
  }

  private static <T> List<T> head(List<T> list, int n) {
    return List.copyOf(list.subList(0, Math.min(n, list.size())));
  }

  private static DatasetStatistics statistics(Path trainFile) {
    DatasetStatistics.Accumulator acc = DatasetStatistics.accumulator(0);
    try (DatasetReader reader =
        DatasetReader.open(trainFile, DatasetFormat.MESSAGES, OnError.FAIL_FAST)) {
      reader.forEachRemaining(r -> acc.add(r.example()));
    }
    return acc.build();
  }

  private static String describeRatio(DatasetStatistics stats) {
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
        "%-16s %-20s %5s %-6s %9s %9s %9s %11s%n",
        "task",
        "length ratio",
        "N",
        "policy",
        "train",
        "held-out",
        "gap",
        "IM vs IT");
    for (Map.Entry<String, List<DemoTraining.Run>> e : runs.entrySet()) {
      Map<Integer, Double> itHeldOut = new LinkedHashMap<>();
      for (DemoTraining.Run r : e.getValue()) {
        double heldOut = r.heldOut().outputOnly();
        String relative = "";
        if (r.policy().equals("it")) {
          itHeldOut.put(r.examples(), heldOut);
        } else if (itHeldOut.containsKey(r.examples())) {
          double it = itHeldOut.get(r.examples());
          relative = String.format(Locale.ROOT, "%+.1f%%", 100 * (heldOut - it) / it);
        }
        out.printf(
            Locale.ROOT,
            "%-16s %-20s %5d %-6s %9.4f %9.4f %9.4f %11s%n",
            e.getKey(),
            ratios.get(e.getKey()),
            r.examples(),
            r.policy(),
            r.train().outputOnly(),
            heldOut,
            heldOut - r.train().outputOnly(),
            relative);
      }
    }
    out.println(
        "gap = held-out minus train; IM vs IT = relative difference of the held-out loss (negative:"
            + " IM lower, the paper's direction). The paper reports IM better on held-out outputs"
            + " when instructions are long and examples few; this run may or may not show it.");
  }

  /** Each trained model's greedy answers to the first held-out prompts of its task. */
  private static void generationsShown(
      PrintWriter out,
      Path tokenizerDir,
      Map<String, List<DemoTraining.Run>> runs,
      Map<String, List<Conversation>> shown) {
    if (shown.values().stream().allMatch(List::isEmpty)) {
      return;
    }
    out.println();
    out.println("== Greedy answers to held-out prompts (reference first)");
    try (HfTokenizer tokenizer = HfTokenizer.load(tokenizerDir)) {
      for (Map.Entry<String, List<DemoTraining.Run>> e : runs.entrySet()) {
        List<Conversation> prompts = shown.get(e.getKey());
        for (int k = 0; k < prompts.size(); k++) {
          Conversation c = prompts.get(k);
          out.println();
          out.println("[" + e.getKey() + "] " + oneLine(c.get(0).content()));
          out.println("  reference:      " + oneLine(c.get(1).content()));
          for (DemoTraining.Run r : e.getValue()) {
            out.printf(
                Locale.ROOT,
                "  %-4s N=%-5d   %s%n",
                r.policy(),
                r.examples(),
                oneLine(tokenizer.decode(r.generations().get(k), true)));
          }
        }
      }
    }
  }

  /** Text on one line, cut to 160 characters. */
  private static String oneLine(String text) {
    String flat = text.strip().replace("\n", " | ");
    return flat.length() <= 160 ? flat : flat.substring(0, 157) + "...";
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
