package dev.im4j.cli;

import static dev.im4j.cli.Cli.run;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.im4j.cli.Cli.Run;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The input limits on the command line: {@code --max-example-chars} (every command that reads data)
 * and {@code --max-rendered-chars} (every command that renders), and lone surrogates, as bad lines
 * with exit code 3 naming file and line, or skipped with {@code --skip-bad-lines}.
 */
class CliInputLimitsTest {
  @TempDir static Path dir;

  /** The demo's tokenizer (Llama-2's, no chat template: Tulu format). */
  static Path tokenizer;

  /** The same tokenizer with a chat template that writes each content 100,000 times. */
  static Path runawayTokenizer;

  static final String GOOD_1 =
      "{\"messages\": [{\"role\": \"user\", \"content\": \"Name a colour.\"},"
          + " {\"role\": \"assistant\", \"content\": \"Blue.\"}]}";
  static final String GOOD_2 =
      "{\"messages\": [{\"role\": \"user\", \"content\": \"Name a fruit.\"},"
          + " {\"role\": \"assistant\", \"content\": \"A pear.\"}]}";

  /** 40 + 40 content characters. */
  static final String FORTY_FORTY =
      "{\"messages\": [{\"role\": \"user\", \"content\": \""
          + "u".repeat(40)
          + "\"}, {\"role\": \"assistant\", \"content\": \""
          + "a".repeat(40)
          + "\"}]}";

  @BeforeAll
  static void tokenizers() throws IOException {
    tokenizer = Cli.demoTokenizer(dir);

    runawayTokenizer = Files.createDirectories(dir.resolve("runaway"));
    Cli.copyTokenizerFile("tokenizer.json", runawayTokenizer);
    ObjectMapper json = new ObjectMapper();
    ObjectNode config =
        (ObjectNode) json.readTree(tokenizer.resolve("tokenizer_config.json").toFile());
    config.put(
        "chat_template",
        "{%- for m in messages -%}{%- for i in range(100000) -%}{{ m['content'] }}"
            + "{%- endfor -%}{%- endfor -%}");
    json.writeValue(runawayTokenizer.resolve("tokenizer_config.json").toFile(), config);
  }

  private static Path data(String name, String... lines) throws IOException {
    Path file = dir.resolve(name);
    Files.write(file, List.of(lines), UTF_8);
    return file;
  }

  private static String tooLong(String field, long used, int inField, int max) {
    return "field \""
        + field
        + "\": the example's content reaches "
        + used
        + " characters with this field ("
        + inField
        + " in the field), more than the limit of "
        + max
        + " characters per example (content fields summed, UTF-16 units); shorten or split the"
        + " example, or raise the limit with --max-example-chars (ReadLimits.maxExampleChars)";
  }

  @Test
  void everyCommandThatReadsDataHasMaxExampleCharsAndEveryOneThatRendersMaxRenderedChars() {
    Map<String, List<String>> flags =
        Map.of(
            "stats", List.of("--max-example-chars", "--max-rendered-chars"),
            "prepare", List.of("--max-example-chars", "--max-rendered-chars"),
            "train", List.of("--max-example-chars", "--max-rendered-chars"),
            "eval", List.of("--max-example-chars", "--max-rendered-chars"),
            "generate", List.of("--max-rendered-chars"));
    flags.forEach(
        (command, names) -> {
          Run help = run(command, "--help");
          assertEquals(0, help.exit(), help.err());
          for (String name : names) {
            assertTrue(
                help.out().contains(name + "=N"), command + " lacks " + name + ":\n" + help.out());
          }
        });
    String prepare = run("prepare", "--help").out().replaceAll("\\s+", " ");
    assertTrue(prepare.contains("(default: 1000000)"), prepare);
    assertTrue(prepare.contains("(default: 2000000)"), prepare);
  }

  @Test
  void anOverlongExampleIsABadLineNamingFileLineFieldCountLimitAndFlag() throws IOException {
    Path file = data("overlong.jsonl", GOOD_1, FORTY_FORTY, GOOD_2);
    // Without a tokenizer, stats only reads: the bound applies all the same.
    Run stats = run("stats", "--data", file.toString(), "--max-example-chars", "50");
    assertEquals(3, stats.exit(), stats.err());
    assertEquals(
        "im4j stats: " + file + ":2: " + tooLong("messages[1].content", 80, 40, 50),
        stats.err().strip());

    Path out = dir.resolve("overlong.prepared.jsonl");
    Run prepare =
        run(
            "prepare",
            "--data",
            file.toString(),
            "--tokenizer",
            tokenizer.toString(),
            "--max-example-chars",
            "50",
            "--out",
            out.toString());
    assertEquals(3, prepare.exit(), prepare.err());
    assertTrue(
        prepare.err().contains(file + ":2: " + tooLong("messages[1].content", 80, 40, 50)),
        prepare.err());
  }

  @Test
  void skipBadLinesSkipsAndListsOverlongExamplesAndLoneSurrogates() throws IOException {
    String loneSurrogate =
        "{\"messages\": [{\"role\": \"user\", \"content\": \"q\\ud800\"},"
            + " {\"role\": \"assistant\", \"content\": \"a\"}]}";
    Path file = data("mixed.jsonl", GOOD_1, FORTY_FORTY, loneSurrogate, GOOD_2);
    Path out = dir.resolve("mixed.prepared.jsonl");
    Run r =
        run(
            "prepare",
            "--data",
            file.toString(),
            "--tokenizer",
            tokenizer.toString(),
            "--skip-bad-lines",
            "--max-example-chars",
            "79",
            "--out",
            out.toString());
    assertEquals(0, r.exit(), r.err());
    assertEquals(2, Files.readAllLines(out).size());
    assertTrue(
        r.err().contains("  skipped " + file + ":2: " + tooLong("messages[1].content", 80, 40, 79)),
        r.err());
    assertTrue(
        r.err()
            .contains(
                "  skipped "
                    + file
                    + ":3: field \"messages[0].content\": contains a lone surrogate \\ud800 at"
                    + " character 1"),
        r.err());
    assertTrue(r.err().contains("4 lines, 2 examples, 0 blank, 2 skipped"), r.err());

    // The default bound lets the 80-character example through; the surrogate is still skipped.
    Run defaults =
        run(
            "prepare",
            "--data",
            file.toString(),
            "--tokenizer",
            tokenizer.toString(),
            "--skip-bad-lines",
            "--out",
            out.toString());
    assertEquals(0, defaults.exit(), defaults.err());
    assertEquals(3, Files.readAllLines(out).size());
  }

  @Test
  void aLoneSurrogateStopsARunAtItsLineWithoutSkipBadLines() throws IOException {
    Path file =
        data(
            "surrogate.jsonl",
            GOOD_1,
            "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"},"
                + " {\"role\": \"assistant\", \"content\": \"ab\\udc00\"}]}");
    Run r =
        run(
            "prepare",
            "--data",
            file.toString(),
            "--tokenizer",
            tokenizer.toString(),
            "--out",
            dir.resolve("surrogate.prepared.jsonl").toString());
    assertEquals(3, r.exit(), r.err());
    assertTrue(
        r.err()
            .contains(
                file
                    + ":2: field \"messages[1].content\": contains a lone surrogate \\udc00 at"
                    + " character 2"),
        r.err());
  }

  @Test
  void aRunawayChatTemplateIsStoppedAtMaxRenderedCharsWithFileAndLine() throws IOException {
    Path file = data("runaway.jsonl", FORTY_FORTY);
    Run r =
        run(
            "prepare",
            "--data",
            file.toString(),
            "--tokenizer",
            runawayTokenizer.toString(),
            "--out",
            dir.resolve("runaway.prepared.jsonl").toString());
    assertEquals(3, r.exit(), r.err());
    assertEquals(
        "im4j prepare: "
            + file
            + ":1: template 'jinja' was stopped at 2000040 rendered characters, more than the"
            + " limit of 2000000 rendered characters per example; either the template repeats"
            + " text (check its loops and repetitions) or the example is very long: raise the"
            + " limit with --max-rendered-chars (ExampleEncoder.withMaxRenderedChars) if the"
            + " rendering is meant to be this long",
        r.err().strip());

    Run stats =
        run(
            "stats",
            "--data",
            file.toString(),
            "--tokenizer",
            runawayTokenizer.toString(),
            "--max-rendered-chars",
            "1000");
    assertEquals(3, stats.exit(), stats.err());
    assertTrue(
        stats.err().contains(file + ":1: template 'jinja' was stopped at 1040 rendered characters"),
        stats.err());
  }

  @Test
  void maxRenderedCharsBoundsBuiltInTemplatesToo() throws IOException {
    Path file = data("tulu.jsonl", GOOD_1);
    String[] prepare = {
      "prepare",
      "--data",
      file.toString(),
      "--tokenizer",
      tokenizer.toString(),
      "--out",
      dir.resolve("tulu.prepared.jsonl").toString()
    };
    assertEquals(0, run(prepare).exit());
    // "<|user|>\nName a colour.\n<|assistant|>\nBlue.</s>": 9 + 14 + 1 + 14 + 5 + 4 characters.
    Run atBound = run(concat(prepare, "--max-rendered-chars", "47"));
    assertEquals(0, atBound.exit(), atBound.err());
    Run below = run(concat(prepare, "--max-rendered-chars", "46"));
    assertEquals(3, below.exit(), below.err());
    assertTrue(
        below
            .err()
            .contains(
                file
                    + ":1: template 'tulu' rendered 47 characters, more than the"
                    + " limit of 46 rendered characters per example"),
        below.err());
  }

  @Test
  void limitsBelowOneAreBadArguments() throws IOException {
    Path file = data("ok.jsonl", GOOD_1);
    Run examples = run("stats", "--data", file.toString(), "--max-example-chars", "0");
    assertEquals(2, examples.exit(), examples.err());
    assertTrue(
        examples
            .err()
            .contains("--max-example-chars must be >= 1 but was 0; the default is 1000000"),
        examples.err());
    Run rendered =
        run(
            "stats",
            "--data",
            file.toString(),
            "--tokenizer",
            tokenizer.toString(),
            "--max-rendered-chars",
            "-5");
    assertEquals(2, rendered.exit(), rendered.err());
    assertTrue(
        rendered
            .err()
            .contains("--max-rendered-chars must be >= 1 but was -5; the default is 2000000"),
        rendered.err());
  }

  private static String[] concat(String[] head, String... tail) {
    String[] all = new String[head.length + tail.length];
    System.arraycopy(head, 0, all, 0, head.length);
    System.arraycopy(tail, 0, all, head.length, tail.length);
    return all;
  }
}
