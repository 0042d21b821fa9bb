package dev.im4j.cli;

import static dev.im4j.cli.Cli.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.cli.Cli.Run;
import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.model.CausalLmConfig;
import dev.im4j.onnx.model.CausalLmParameters;
import dev.im4j.onnx.model.ModelDirectory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI on hostile but realistic input: it never destroys data, never trains on nothing in
 * silence, and answers every mistake with exit 2, 3 or 4 and a message naming flag or file.
 */
class CliHardeningTest {
  @TempDir static Path dir;
  static Path tokenizer;
  static Path data;
  static Path config;

  static final String ROW =
      "{\"messages\":[{\"role\":\"user\",\"content\":\"Define the noun \\\"%s\\\".\"},"
          + "{\"role\":\"assistant\",\"content\":\"A %s is a thing.\"}]}";

  @BeforeAll
  static void files() throws IOException {
    tokenizer = Cli.demoTokenizer(dir);
    data = dir.resolve("data.jsonl");
    List<String> rows = new ArrayList<>();
    for (String w : new String[] {"dog", "cat", "tree", "house", "river", "stone"}) {
      rows.add(String.format(ROW, w, w));
    }
    Files.write(data, rows);
    config = dir.resolve("config.json");
    Files.writeString(config, tinyConfig(32000, 16));
  }

  static String tinyConfig(int vocab, int hidden) {
    return "{\"model_type\": \"llama\", \"vocab_size\": "
        + vocab
        + ", \"hidden_size\": "
        + hidden
        + ", \"intermediate_size\": 32, \"num_hidden_layers\": 1,"
        + " \"num_attention_heads\": 2, \"num_key_value_heads\": 1,"
        + " \"max_position_embeddings\": 256, \"rms_norm_eps\": 1e-5,"
        + " \"tie_word_embeddings\": true, \"hidden_act\": \"silu\"}";
  }

  /** {@code im4j train} on the test data; {@code extra} adds options or replaces the defaults. */
  static Run train(Path out, String... extra) {
    Map<String, String> options = new java.util.LinkedHashMap<>();
    String[] defaults = {
      "--config",
      config.toString(),
      "--tokenizer",
      tokenizer.toString(),
      "--data",
      data.toString(),
      "--steps",
      "2",
      "--batch-size",
      "2",
      "--lr",
      "1e-3",
      "--threads",
      "1",
      "--max-length",
      "64",
      "--out",
      out.toString()
    };
    for (int i = 0; i < defaults.length; i += 2) {
      options.put(defaults[i], defaults[i + 1]);
    }
    for (int i = 0; i < extra.length; i++) {
      boolean hasValue = i + 1 < extra.length && !extra[i + 1].startsWith("--");
      options.put(extra[i], hasValue ? extra[++i] : null);
    }
    List<String> args = new ArrayList<>(List.of("train"));
    options.forEach(
        (k, v) -> {
          args.add(k);
          if (v != null) {
            args.add(v);
          }
        });
    return run(args.toArray(String[]::new));
  }

  static void assertNoStackTrace(Run r) {
    assertFalse(r.err().contains("\tat "), r.err());
    assertFalse(r.err().contains("Exception in thread"), r.err());
  }

  @Test
  void prepareRefusesToOverwriteItsInputAlsoThroughALink() throws IOException {
    Path copy = dir.resolve("self.jsonl");
    Files.copy(data, copy);
    byte[] before = Files.readAllBytes(copy);
    Path link = dir.resolve("self-link.jsonl");
    Files.createSymbolicLink(link, copy);
    for (Path out : new Path[] {copy, link}) {
      Run r =
          run(
              "prepare",
              "--data",
              copy.toString(),
              "--tokenizer",
              tokenizer.toString(),
              "--out",
              out.toString());
      assertEquals(2, r.exit(), r.err());
      assertTrue(r.err().contains("is the input file"), r.err());
      assertTrue(Arrays.equals(before, Files.readAllBytes(copy)), "the input is untouched");
    }
  }

  @Test
  void aFailedPrepareLeavesThePreviousOutputAsItWas() throws IOException {
    Path out = dir.resolve("prepared.jsonl");
    String[] args = {
      "prepare", "--tokenizer", tokenizer.toString(), "--out", out.toString(), "--data"
    };
    Run good = run(concat(args, data.toString()));
    assertEquals(0, good.exit(), good.err());
    byte[] before = Files.readAllBytes(out);
    Path bad = dir.resolve("bad-row-3.jsonl");
    List<String> rows = new ArrayList<>(Files.readAllLines(data).subList(0, 2));
    rows.add("{\"messages\":[{\"role\":\"bot\",\"content\":\"q\"}]}");
    Files.write(bad, rows);
    Run failed = run(concat(args, bad.toString()));
    assertEquals(3, failed.exit(), failed.err());
    assertTrue(failed.err().contains(bad + ":3"), failed.err());
    assertTrue(Arrays.equals(before, Files.readAllBytes(out)), "the previous output is untouched");
    try (Stream<Path> s = Files.list(dir)) {
      assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(OutputFiles.TEMP_PREFIX)));
    }
  }

  @Test
  void aFinishedRunIsReplacedOnlyWithOverwriteAndResumeNeedsACheckpoint() throws IOException {
    Path out = dir.resolve("run");
    Run first = train(out);
    assertEquals(0, first.exit(), first.err() + first.out());
    Run again = train(out);
    assertEquals(2, again.exit(), again.err());
    assertTrue(again.err().contains("--out " + out + " is not empty"), again.err());
    assertTrue(
        again.err().contains("--resume") && again.err().contains("--overwrite"), again.err());

    // A killed export's temporaries and a user's own file in the folder.
    Files.createDirectories(out.resolve(".model.tmp-123"));
    Files.createDirectories(out.resolve(".model.onnx.tmp-456"));
    Files.writeString(out.resolve("notes.txt"), "mine");
    Run replaced = train(out, "--overwrite", "--steps", "3");
    assertEquals(0, replaced.exit(), replaced.err() + replaced.out());
    assertEquals(3, Files.readAllLines(out.resolve("metrics.jsonl")).size());
    assertFalse(Files.exists(out.resolve(".model.tmp-123")));
    assertFalse(Files.exists(out.resolve(".model.onnx.tmp-456")));
    assertEquals("mine", Files.readString(out.resolve("notes.txt")));

    Run both = train(out, "--overwrite", "--resume");
    assertEquals(2, both.exit(), both.err());
    Run nothing = train(dir.resolve("fresh"), "--resume");
    assertEquals(2, nothing.exit(), nothing.err());
    assertTrue(nothing.err().contains("holds no checkpoint"), nothing.err());

    Path file = dir.resolve("a-file");
    Files.writeString(file, "x");
    Run onFile = train(file);
    assertEquals(2, onFile.exit(), onFile.err());
    assertTrue(onFile.err().contains("--out " + file + " is an existing file"), onFile.err());
  }

  @Test
  void aResumeWithOtherDataOrOptionsIsRefusedAndCurvesCoverTheWholeRun() throws IOException {
    Path out = dir.resolve("resumable");
    Run first = train(out, "--steps", "4", "--save-every", "1");
    assertEquals(0, first.exit(), first.err());
    // As if killed after step 3: the newest checkpoint is step 3 and metrics go beyond it.
    OutputFiles.deleteTree(out.resolve("checkpoints/step-00000004"));
    Run otherLr = train(out, "--steps", "4", "--save-every", "1", "--resume", "--lr", "2e-3");
    assertEquals(2, otherLr.exit(), otherLr.err());
    assertTrue(
        otherLr
            .err()
            .contains("optimizer (--lr/--adam-beta1/--adam-beta2/--adam-eps/--weight-decay)"),
        otherLr.err());
    assertTrue(otherLr.err().contains("the run had AdamWConfig[learningRate=0.001"), otherLr.err());
    Run otherFormula =
        train(out, "--steps", "4", "--save-every", "1", "--resume", "--adamw", "hf-legacy");
    assertEquals(2, otherFormula.exit(), otherFormula.err());
    assertTrue(otherFormula.err().contains("resume with --adamw torch"), otherFormula.err());
    Path otherData = dir.resolve("other.jsonl");
    Files.write(otherData, List.of(String.format(ROW, "a", "b"), String.format(ROW, "c", "d")));
    Run otherRows =
        train(out, "--steps", "4", "--save-every", "1", "--resume", "--data", otherData.toString());
    assertEquals(2, otherRows.exit(), otherRows.err());
    assertTrue(otherRows.err().contains("data.sha256"), otherRows.err());
    Run otherPolicy = train(out, "--steps", "4", "--save-every", "1", "--resume", "--policy", "it");
    assertEquals(2, otherPolicy.exit(), otherPolicy.err());
    assertTrue(
        otherPolicy
            .err()
            .contains(
                "policy (--policy/--prompt-weight): the run had LossPolicy[kind=INSTRUCTION_MODELLING"),
        otherPolicy.err());

    Run resumed = train(out, "--steps", "4", "--save-every", "1", "--resume");
    assertEquals(0, resumed.exit(), resumed.err());
    assertEquals(
        List.of(1L, 2L, 3L, 4L),
        TrainCommand.Curves.fromMetrics(out.resolve("metrics.jsonl")).trainSteps());
  }

  @Test
  void aRunWithoutAnyTargetFailsBeforeTraining() {
    for (String maxLength : new String[] {"1", "2"}) {
      Run r =
          train(dir.resolve("no-target-" + maxLength), "--max-length", maxLength, "--policy", "it");
      assertEquals(3, r.exit(), r.err());
      assertTrue(r.err().contains("none of the 6 training examples has a trained target"), r.err());
      assertTrue(
          r.err().contains("6 lose all of theirs to truncation at max length " + maxLength),
          r.err());
    }
  }

  @Test
  void divergenceStopsWithTheLastGoodCheckpointNamed() {
    Run r = train(dir.resolve("diverged"), "--lr", "1e6", "--steps", "3");
    assertEquals(4, r.exit(), r.err());
    assertTrue(r.err().contains("diverged"), r.err());
    assertTrue(r.err().contains("No checkpoint from before the divergence is kept"), r.err());
    assertNoStackTrace(r);
  }

  @Test
  void aTokenizerLargerThanTheVocabularyIsRefusedNamingBothFiles() throws IOException {
    Path small = dir.resolve("small-vocab.json");
    Files.writeString(small, tinyConfig(1000, 16));
    Run r =
        run(
            "train",
            "--config",
            small.toString(),
            "--tokenizer",
            tokenizer.toString(),
            "--data",
            data.toString(),
            "--out",
            dir.resolve("small").toString());
    assertEquals(3, r.exit(), r.err());
    assertTrue(
        r.err().contains(tokenizer.toString()) && r.err().contains(small.toString()), r.err());
    assertTrue(
        r.err().contains("has ids up to 31999") && r.err().contains("vocab_size 1000"), r.err());
  }

  @Test
  void aModelThatCannotFitIsRefusedBeforeAllocating() throws IOException {
    Path huge = dir.resolve("huge.json");
    Files.writeString(
        huge,
        tinyConfig(32000, 16384)
            .replace("\"intermediate_size\": 32", "\"intermediate_size\": 65536")
            .replace("\"num_hidden_layers\": 1", "\"num_hidden_layers\": 48")
            .replace(
                "\"num_attention_heads\": 2, \"num_key_value_heads\": 1",
                "\"num_attention_heads\": 128, \"num_key_value_heads\": 8"));
    Run r =
        run(
            "train",
            "--config",
            huge.toString(),
            "--tokenizer",
            tokenizer.toString(),
            "--data",
            data.toString(),
            "--out",
            dir.resolve("huge").toString());
    assertEquals(4, r.exit(), r.err());
    assertTrue(r.err().contains(huge + " (hidden_size 16384"), r.err());
    assertTrue(r.err().contains("needs at least"), r.err());
    assertNoStackTrace(r);
  }

  @Test
  void nonFiniteWeightsAreBlamedOnTheTensorAndDirectory() throws IOException {
    CausalLmConfig c = CausalLmConfig.parse(tinyConfig(32000, 16), "test");
    Path model = dir.resolve("nan-model");
    ModelDirectory.of(c, CausalLmParameters.initialize(c, 1, DType.FLOAT), Map.of()).save(model);
    // Element 3 of model.norm.weight becomes NaN, in the file's bytes.
    Path file = model.resolve("model.safetensors");
    byte[] bytes = Files.readAllBytes(file);
    java.nio.ByteBuffer buf =
        java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    int headerLength = (int) buf.getLong(0);
    var header =
        new com.fasterxml.jackson.databind.ObjectMapper()
            .readTree(new String(bytes, 8, headerLength, StandardCharsets.UTF_8));
    long start = header.get("model.norm.weight").get("data_offsets").get(0).asLong();
    buf.putFloat((int) (8 + headerLength + start + 3 * Float.BYTES), Float.NaN);
    Files.write(file, bytes);
    Run r =
        run(
            "train",
            "--model",
            model.toString(),
            "--tokenizer",
            tokenizer.toString(),
            "--data",
            data.toString(),
            "--out",
            dir.resolve("nan-out").toString());
    assertEquals(3, r.exit(), r.err());
    assertTrue(
        r.err().contains(model + ": tensor model.norm.weight holds NaN at element 3"), r.err());
  }

  @Test
  void optionErrorsNameTheFlag() {
    String[][] cases = {
      {"--steps", "0", "--steps must be >= 1"},
      {"--steps", "-3", "--steps must be >= 1"},
      {"--batch-size", "0", "--batch-size must be >= 1 but was 0"},
      {"--grad-accum", "0", "--grad-accum must be >= 1 but was 0"},
      {"--save-every", "-1", "--save-every must be >= 0"},
      {"--eval-every", "0", "--eval-every must be >= 1"},
      {"--epochs", "0", "--epochs must be >= 1"},
      {"--lr", "-1", "--lr must be finite and > 0"},
      {"--max-length", "0", "--max-length must be >= 1"},
      {"--warmup-ratio", "2", "--warmup-ratio must be in [0, 1]"},
    };
    for (String[] c : cases) {
      Run r = train(dir.resolve("flags"), c[0], c[1]);
      assertEquals(2, r.exit(), String.join(" ", c) + ": " + r.err());
      assertTrue(r.err().contains(c[2]), c[0] + ": " + r.err());
    }
  }

  @Test
  void otherCommandsNameTheFlagToo() {
    String d = data.toString();
    String t = tokenizer.toString();
    String o = dir.resolve("never.jsonl").toString();
    String[][] cases = {
      {
        "--max-length must be >= 1",
        "prepare",
        "--data",
        d,
        "--tokenizer",
        t,
        "--out",
        o,
        "--max-length",
        "0"
      },
      {
        "--preview-count must be >= 0",
        "prepare",
        "--data",
        d,
        "--tokenizer",
        t,
        "--out",
        o,
        "--preview-count",
        "-1"
      },
      {
        "--prompt-weight must be in [0, 1]",
        "prepare",
        "--data",
        d,
        "--tokenizer",
        t,
        "--out",
        o,
        "--prompt-weight",
        "2"
      },
      {"--max-length must be >= 1", "stats", "--data", d, "--max-length", "0"},
      {
        "--top-p must be in (0, 1]",
        "generate",
        "--model",
        "nowhere",
        "--prompt",
        "x",
        "--top-p",
        "0"
      },
      {
        "--max-new-tokens must be >= 1",
        "generate",
        "--model",
        "nowhere",
        "--prompt",
        "x",
        "--max-new-tokens",
        "0"
      },
      {
        "--examples must be in [1, 1200]",
        "demo",
        "--out",
        dir.resolve("never-demo").toString(),
        "--examples",
        "5000"
      },
    };
    for (String[] c : cases) {
      Run r = run(Arrays.copyOfRange(c, 1, c.length));
      assertEquals(2, r.exit(), String.join(" ", c) + ": " + r.err());
      assertTrue(r.err().contains(c[0]), String.join(" ", c) + ": " + r.err());
    }
  }

  private static String[] concat(String[] a, String... b) {
    String[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  static String utf8(Path p) throws IOException {
    return Files.readString(p, StandardCharsets.UTF_8);
  }
}
