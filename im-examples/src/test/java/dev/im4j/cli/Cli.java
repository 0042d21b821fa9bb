package dev.im4j.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine;

/** Runs the CLI in-process, as {@code main} does, and hands the demo's tokenizer to tests. */
final class Cli {
  private Cli() {}

  /** A finished command: its exit code and what it printed. */
  record Run(int exit, String out, String err) {}

  /** Runs {@code im4j args...} with im4j's exit codes and error handling. */
  static Run run(String... args) {
    CommandLine cli = Im4jCli.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    int exit = Im4jCli.execute(cli, args);
    return new Run(exit, out.toString(), err.toString());
  }

  /** Copies one file of the embedded demo tokenizer (Llama-2's, no chat template) into a folder. */
  static void copyTokenizerFile(String name, Path folder) throws IOException {
    String resource = DemoCommand.RESOURCES + "tokenizer/" + name;
    try (InputStream in = Cli.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("the test classpath lacks " + resource);
      }
      Files.copy(in, folder.resolve(name));
    }
  }

  /**
   * A config.json of a tiny LLaMA (hidden 16, one layer, GQA, tied head) for the demo tokenizer's
   * 32,000 ids, written as {@code dir/tiny-config.json}.
   */
  static Path tinyLlamaConfig(Path dir) throws IOException {
    return Files.writeString(
        dir.resolve("tiny-config.json"),
        "{\"model_type\": \"llama\", \"vocab_size\": 32000, \"hidden_size\": 16,"
            + " \"intermediate_size\": 32, \"num_hidden_layers\": 1,"
            + " \"num_attention_heads\": 2, \"num_key_value_heads\": 1,"
            + " \"max_position_embeddings\": 256, \"tie_word_embeddings\": true}");
  }

  /** The embedded demo tokenizer, copied into {@code dir/tokenizer}. */
  static Path demoTokenizer(Path dir) throws IOException {
    Path tokenizer = Files.createDirectories(dir.resolve("tokenizer"));
    copyTokenizerFile("tokenizer.json", tokenizer);
    copyTokenizerFile("tokenizer_config.json", tokenizer);
    return tokenizer;
  }
}
