package dev.im4j.cli;

import static dev.im4j.cli.Cli.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.cli.Cli.Run;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code im4j train --runtime portable}: a run with evaluation and its outputs; bad names. */
class CliRuntimeTest {
  @TempDir Path dir;

  @Test
  void thePortableRuntimeTrainsEvaluatesAndWritesTheModel() throws Exception {
    Path tokenizer = Cli.demoTokenizer(dir);
    Path data = dir.resolve("train.jsonl");
    List<String> rows = new ArrayList<>();
    for (String w : new String[] {"dog", "cat", "tree", "river"}) {
      rows.add("{\"instruction\": \"Define \\\"" + w + "\\\".\", \"output\": \"A " + w + ".\"}");
    }
    Files.write(data, rows);
    Path config = Cli.tinyLlamaConfig(dir);
    Path out = dir.resolve("out");
    Run r =
        run(
            "train",
            "--config",
            config.toString(),
            "--tokenizer",
            tokenizer.toString(),
            "--data",
            data.toString(),
            "--eval-data",
            data.toString(),
            "--eval-every",
            "2",
            "--steps",
            "2",
            "--batch-size",
            "2",
            "--runtime",
            "portable",
            "--threads",
            "1",
            "--out",
            out.toString());
    assertEquals(0, r.exit(), r.err() + r.out());
    assertTrue(r.out().contains("eval step 2"), r.out());
    assertTrue(Files.isRegularFile(out.resolve("model/model.safetensors")));
    assertTrue(Files.isRegularFile(out.resolve("checkpoints/step-00000002/ort_checkpoint")));

    Run bad =
        run(
            "train",
            "--config",
            config.toString(),
            "--tokenizer",
            tokenizer.toString(),
            "--data",
            data.toString(),
            "--runtime",
            "fast",
            "--out",
            dir.resolve("bad").toString());
    assertEquals(2, bad.exit(), bad.err());
    assertTrue(
        bad.err().contains("--runtime must be training-api or portable but was 'fast'"), bad.err());
  }
}
