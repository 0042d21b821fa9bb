package dev.im4j.cli;

import static dev.im4j.cli.Cli.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.im4j.cli.Cli.Run;
import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.model.ModelDirectory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Plain-text ({"text": ...}) datasets through stats, prepare and train. */
class CliPlainTextTest {
  @TempDir static Path dir;
  static Path tokenizer;
  static Path data;

  @BeforeAll
  static void files() throws Exception {
    tokenizer = Cli.demoTokenizer(dir);
    data =
        Files.writeString(
            dir.resolve("text.jsonl"),
            "{\"text\": \"abate (verb): become less in amount or intensity.\"}\n"
                + "{\"text\": \"toothlike (adjective): resembling a tooth.\"}\n"
                + "{\"text\": \"appointment book (noun): a book containing a calendar.\"}\n");
  }

  @Test
  void statsCountsPlainTextRowsAndGivesNoPolicyAdvice() {
    Run r = run("stats", "--data", data.toString(), "--tokenizer", tokenizer.toString());
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.out().contains("plain-text rows    3 (every token trained)"), r.out());
    assertTrue(r.out().contains("the choice between IT and IM does not arise"), r.out());
    assertFalse(r.out().contains("length ratio"), r.out()); // conversations only
    assertTrue(r.out().contains("trained targets    "), r.out());
  }

  @Test
  void prepareTrainsEveryTokenButTheBosUnderBothPolicies() throws Exception {
    ObjectMapper json = new ObjectMapper();
    for (String policy : List.of("it", "im")) {
      Path out = dir.resolve(policy + ".jsonl");
      Run r =
          run(
              "prepare",
              "--data",
              data.toString(),
              "--tokenizer",
              tokenizer.toString(),
              "--policy",
              policy,
              "--out",
              out.toString());
      assertEquals(0, r.exit(), r.err());
      List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
      assertEquals(3, lines.size());
      for (String line : lines) {
        JsonNode row = json.readTree(line);
        JsonNode ids = row.get("input_ids");
        JsonNode weights = row.get("weights");
        assertEquals(1, ids.get(0).asInt(), line); // <s>
        assertEquals(2, ids.get(ids.size() - 1).asInt(), line); // </s> appended
        assertEquals(0.0, weights.get(0).asDouble(), line);
        for (int i = 1; i < weights.size(); i++) {
          assertEquals(1.0, weights.get(i).asDouble(), policy + " token " + i + ": " + line);
        }
      }
    }
  }

  @Test
  void trainOnPlainTextWithPackingWritesALoadableModel() throws Exception {
    Path out = dir.resolve("pretrain");
    Run r =
        run(
            "train",
            "--config",
            Cli.tinyLlamaConfig(dir).toString(),
            "--tokenizer",
            tokenizer.toString(),
            "--data",
            data.toString(),
            "--format",
            "text",
            "--packing",
            "--reduction",
            "token-mean",
            "--steps",
            "2",
            "--batch-size",
            "3",
            "--lr",
            "1e-3",
            "--threads",
            "1",
            "--max-length",
            "64",
            "--save-dtype",
            "bf16",
            "--out",
            out.toString());
    assertEquals(0, r.exit(), r.err() + r.out());
    assertEquals(2, Files.readAllLines(out.resolve("metrics.jsonl")).size());
    ModelDirectory model = ModelDirectory.load(out.resolve("model"));
    assertEquals(16, model.config().hiddenSize());
    assertEquals(java.util.Optional.of("bfloat16"), model.config().torchDtype());
    assertTrue(
        model.weights().tensors().stream().allMatch(t -> t.dtype() == DType.BFLOAT16),
        model.weights().toString());
  }

  @Test
  void aBadTextRowExitsWith3NamingFileLineAndField() throws Exception {
    Path bad = Files.writeString(dir.resolve("bad.jsonl"), "{\"text\": \"a\"}\n{\"text\": 5}\n");
    Run r = run("stats", "--data", bad.toString(), "--format", "text");
    assertEquals(3, r.exit());
    assertTrue(
        r.err().contains(bad + ":2: field \"text\": must be a string but was a number (5)"),
        r.err());
  }
}
