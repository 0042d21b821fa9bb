package dev.im4j.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code im4j demo}: the README's first command. Runs on data and a tokenizer embedded in the jar,
 * with no network: dataset statistics with the IM-vs-IT advice, then the same examples masked for
 * output-only tuning (IT) and for Instruction Modelling (IM), side by side.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Shows Instruction Modelling on two bundled WordNet tasks (long instructions with short"
          + " answers, and the reverse) with the bundled tokenizer and the paper's Tulu format:"
          + " statistics and advice, then the tokens IT and IM train."
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

  @Override
  public Integer call() throws IOException {
    PrintWriter stdout = spec.commandLine().getOut();
    Path tokenizer = out.resolve("tokenizer");
    Files.createDirectories(tokenizer);
    extract("tokenizer/tokenizer.json", tokenizer.resolve("tokenizer.json"));
    extract("tokenizer/tokenizer_config.json", tokenizer.resolve("tokenizer_config.json"));
    extract("wordnet/LICENSE-WordNet.txt", out.resolve("LICENSE-WordNet.txt"));
    int status = Im4jCli.OK;
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
    }
    stdout.println("Inputs and prepared JSONL files are in " + out.toAbsolutePath());
    stdout.flush();
    return status;
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
