package dev.im4j.cli;

import static dev.im4j.cli.Cli.run;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.cli.Cli.Run;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Bad data never crashes the CLI: for any file of valid and mutated rows, {@code prepare} (failing
 * fast or skipping bad lines) and {@code stats} exit 0 or 3 (bad data, file and line named), with
 * one-line messages and no stack trace (library code never prints one itself).
 */
class CliBadInputProperties {
  private static Path dir;
  private static Path tokenizer;

  private static final String[] VALID = {
    "{\"messages\":[{\"role\":\"user\",\"content\":\"Define the noun \\\"dog\\\".\"},"
        + "{\"role\":\"assistant\",\"content\":\"A domestic animal.\"}]}",
    "{\"instruction\":\"Name the word.\",\"input\":\"a large body of water\",\"output\":\"sea\"}",
    "{\"conversations\":[{\"from\":\"system\",\"value\":\"Be brief.\"},"
        + "{\"from\":\"human\",\"value\":\"hi\"},{\"from\":\"gpt\",\"value\":\"hello\"}]}",
  };

  /** Fragments that break JSON, the schema or the text in the ways users' files do. */
  private static final String[] FRAGMENTS = {
    "\"",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\\",
    "\\ud800",
    "\\udc00x",
    "\\u0000",
    "\u0000",
    "null",
    "123",
    "true",
    "\"role\":\"bot\",",
    "\"content\":5,",
    "\uD83D\uDE00",
    "\r",
    "\n",
    "\t",
    "\"messages\":[],",
    "\"output\":\"\",",
    "\\\"",
    "\u00e9",
    "  ",
    "\"from\":\"gpt\",",
    "1e999",
    "\"content\":{\"a\":1},",
    "<|im_end|>",
    "</s>",
    "<s>"
  };

  @BeforeContainer
  static void files() throws IOException {
    dir = Files.createTempDirectory("im4j-bad-input");
    tokenizer = Cli.demoTokenizer(dir);
  }

  @AfterContainer
  static void cleanUp() throws IOException {
    OutputFiles.deleteTree(dir);
  }

  static String mutate(String row, Random r) {
    StringBuilder s = new StringBuilder(row);
    int edits = 1 + r.nextInt(3);
    for (int e = 0; e < edits; e++) {
      int at = r.nextInt(s.length() + 1);
      switch (r.nextInt(4)) {
        case 0 -> s.insert(at, FRAGMENTS[r.nextInt(FRAGMENTS.length)]);
        case 1 -> s.delete(at, Math.min(s.length(), at + 1 + r.nextInt(6)));
        case 2 -> s.setLength(at);
        default ->
            s.replace(at, Math.min(s.length(), at + 1), FRAGMENTS[r.nextInt(FRAGMENTS.length)]);
      }
    }
    return s.toString();
  }

  /**
   * UTF-8, except that a surrogate left alone by a mutation (one half of an emoji) becomes the byte
   * 0xFF, which is never valid UTF-8: such files are bad input the readers must report.
   */
  static byte[] utf8WithInvalidBytes(String text) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    text.codePoints()
        .forEach(
            c -> {
              if (c >= Character.MIN_SURROGATE && c <= Character.MAX_SURROGATE) {
                bytes.write(0xFF);
              } else {
                bytes.writeBytes(new String(Character.toChars(c)).getBytes(StandardCharsets.UTF_8));
              }
            });
    return bytes.toByteArray();
  }

  /** Control characters escaped, so a report shows the whole message. */
  static String printable(String s) {
    StringBuilder b = new StringBuilder();
    s.codePoints()
        .forEach(
            c -> {
              if (c == '\n' || (c >= 0x20 && c != 0x7f && !Character.isSurrogate((char) c))) {
                b.appendCodePoint(c);
              } else {
                b.append(String.format("\\u%04x", c));
              }
            });
    return b.toString();
  }

  @Property(tries = 60)
  void badRowsGiveExit0Or3AndNoStackTrace(
      @ForAll long seed, @ForAll @IntRange(min = 1, max = 4) int rows) throws IOException {
    Random r = new Random(seed);
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < rows; i++) {
      String row = VALID[r.nextInt(VALID.length)];
      lines.add(r.nextInt(3) == 0 ? row : mutate(row, r));
    }
    Path data = dir.resolve("data-" + seed + ".jsonl");
    Files.write(data, utf8WithInvalidBytes(String.join("\n", lines) + "\n"));
    Path out = dir.resolve("out-" + seed + ".jsonl");
    String[][] commands = {
      {
        "prepare",
        "--data",
        data.toString(),
        "--tokenizer",
        tokenizer.toString(),
        "--out",
        out.toString()
      },
      {
        "prepare",
        "--data",
        data.toString(),
        "--tokenizer",
        tokenizer.toString(),
        "--out",
        out.toString(),
        "--skip-bad-lines"
      },
      {"stats", "--data", data.toString(), "--tokenizer", tokenizer.toString()},
    };
    for (String[] command : commands) {
      Run result = run(command);
      String context =
          String.join(" ", command) + "\n" + String.join("\n", lines) + "\n" + result.err();
      assertTrue(
          result.exit() == 0 || result.exit() == 3, "exit " + result.exit() + ": " + context);
      assertFalse(result.err().contains("\tat "), context);
      assertFalse(result.err().contains("Exception"), context);
      if (result.exit() == 3) {
        assertTrue(result.err().contains(data.toString()), "names the file: " + context);
      }
    }
    Files.deleteIfExists(data);
    Files.deleteIfExists(out);
  }
}
