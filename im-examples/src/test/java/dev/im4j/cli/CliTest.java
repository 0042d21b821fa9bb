package dev.im4j.cli;

import static dev.im4j.cli.Cli.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.im4j.cli.Cli.Run;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI end to end on the bundled demo data and tokenizer. */
class CliTest {
  @TempDir static Path dir;
  static Path data;
  static Path tokenizer;
  static String demoOut;

  @BeforeAll
  static void demoFiles() {
    // The demo in a reduced mode: every stage, few examples and steps, on the bundled base.
    Run demo =
        run(
            "demo",
            "--out",
            dir.resolve("demo").toString(),
            "--examples",
            "16",
            "--more-examples",
            "24",
            "--heldout",
            "8",
            "--generations",
            "1",
            "--steps",
            "2",
            "--eval-every",
            "1",
            "--threads",
            "1");
    assertEquals(0, demo.exit(), demo.err());
    demoOut = demo.out();
    data = dir.resolve("demo/sample.jsonl");
    try {
      // A small, mixed sample: the first rows of both bundled tasks.
      List<String> rows = new java.util.ArrayList<>();
      rows.addAll(Files.readAllLines(dir.resolve("demo/name-the-word.train.jsonl")).subList(0, 4));
      rows.addAll(
          Files.readAllLines(dir.resolve("demo/define-the-word.train.jsonl")).subList(0, 4));
      Files.write(data, rows);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    tokenizer = dir.resolve("demo/tokenizer");
  }

  @Test
  void demoWritesBothPoliciesAndShowsTheAdvice() throws Exception {
    for (String task : DemoCommand.TASKS) {
      assertEquals(1200, lines(dir.resolve("demo/" + task + ".prepared-it.jsonl")));
      assertEquals(1200, lines(dir.resolve("demo/" + task + ".prepared-im.jsonl")));
      assertEquals(200, lines(dir.resolve("demo/" + task + ".heldout.jsonl")));
    }
    assertTrue(Files.isRegularFile(dir.resolve("demo/LICENSE-WordNet.txt")));
    assertTrue(Files.size(dir.resolve("demo/curves.png")) > 1000);
    assertTrue(Files.isRegularFile(dir.resolve("demo/base/README.md")));
    assertTrue(Files.isRegularFile(dir.resolve("demo/base/tokenizer.json")));
    assertEquals(
        256,
        dev.im4j.onnx.model.ModelDirectory.load(dir.resolve("demo/base")).config().hiddenSize());
    for (String task : DemoCommand.TASKS) {
      for (int n : sizes(task)) {
        for (String policy : new String[] {"it", "im"}) {
          // Each run's metrics: 2 steps and an evaluation after each.
          Path metrics =
              dir.resolve("demo/runs/" + task + "-" + n + "-" + policy + "/metrics.jsonl");
          assertEquals(4, lines(metrics), metrics.toString());
        }
      }
    }
  }

  @Test
  void demoPrintsTheResultsTableAndTheGenerations() {
    assertTrue(demoOut.startsWith("Base model: "), demoOut);
    // Rows for both tasks, their sizes and both policies, with finite losses; IM rows compare.
    String table = demoOut.substring(demoOut.indexOf("== Results"), demoOut.indexOf("== Greedy"));
    assertEquals(6, table.lines().filter(l -> l.matches("\\S+-the-word .*")).count(), table);
    for (String task : DemoCommand.TASKS) {
      for (int n : sizes(task)) {
        for (String policy : new String[] {"it", "im"}) {
          List<String> rows =
              table
                  .lines()
                  .filter(l -> l.startsWith(task) && l.contains(" " + n + " " + policy + " "))
                  .toList();
          assertEquals(1, rows.size(), table);
          assertFalse(rows.get(0).contains("NaN"), table);
          assertEquals(policy.equals("im"), rows.get(0).endsWith("%"), table);
        }
      }
    }
    // One held-out prompt per task: its reference and one answer per run.
    String answers = demoOut.substring(demoOut.indexOf("== Greedy"));
    for (String task : DemoCommand.TASKS) {
      assertEquals(
          1, answers.lines().filter(l -> l.startsWith("[" + task + "] ")).count(), answers);
    }
    assertEquals(2, answers.lines().filter(l -> l.startsWith("  reference: ")).count(), answers);
    assertEquals(6, answers.lines().filter(l -> l.matches("  i[tm] +N=\\d+ .*")).count(), answers);
  }

  /**
   * The training-set sizes the reduced demo runs for a task: --examples, and --more-examples only
   * where the length ratio is high (name-the-word).
   */
  private static int[] sizes(String task) {
    return task.equals("name-the-word") ? new int[] {16, 24} : new int[] {16};
  }

  @Test
  void demoFromScratchTrainsTheTinyRandomModel() {
    Run r =
        run(
            "demo",
            "--from-scratch",
            "--out",
            dir.resolve("scratch").toString(),
            "--examples",
            "8",
            "--heldout",
            "4",
            "--generations",
            "0",
            "--steps",
            "1",
            "--eval-every",
            "1",
            "--threads",
            "1");
    assertEquals(0, r.exit(), r.err());
    assertFalse(r.out().contains("Base model: "), r.out());
    assertTrue(r.out().contains("(tiny LLaMA from random weights, seed 42)"), r.out());
    assertFalse(r.out().contains("== Greedy"), r.out());
    // One size only by default with --from-scratch: two rows per task.
    String table = r.out().substring(r.out().indexOf("== Results"));
    assertEquals(4, table.lines().filter(l -> l.matches("\\S+-the-word .*")).count(), table);
  }

  private static long lines(Path file) {
    try {
      return Files.readAllLines(file).size();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void prepareWritesOneObjectPerExampleInOrderAndImContainsIt() throws Exception {
    Path it = dir.resolve("it.jsonl");
    Path im = dir.resolve("im.jsonl");
    String[] common = {"prepare", "--data", data.toString(), "--tokenizer", tokenizer.toString()};
    assertEquals(0, run(concat(common, "--policy", "it", "--out", it.toString())).exit());
    Run imRun = run(concat(common, "--out", im.toString(), "--preview"));
    assertEquals(0, imRun.exit(), imRun.err());
    assertTrue(imRun.out().contains("«"), imRun.out());
    List<String> itLines = Files.readAllLines(it, StandardCharsets.UTF_8);
    List<String> imLines = Files.readAllLines(im, StandardCharsets.UTF_8);
    assertEquals(8, itLines.size());
    assertEquals(8, imLines.size());
    ObjectMapper json = new ObjectMapper();
    long itTrained = 0;
    long imTrained = 0;
    for (int k = 0; k < itLines.size(); k++) {
      JsonNode a = json.readTree(itLines.get(k));
      JsonNode b = json.readTree(imLines.get(k));
      assertEquals(a.get("input_ids"), b.get("input_ids"));
      assertEquals(a.get("input_ids").size(), a.get("weights").size());
      for (int i = 0; i < a.get("weights").size(); i++) {
        double wa = a.get("weights").get(i).asDouble();
        double wb = b.get("weights").get(i).asDouble();
        assertTrue(wa == 0 || wb > 0, "IT ⊆ IM at example " + k + " token " + i);
        itTrained += wa > 0 ? 1 : 0;
        imTrained += wb > 0 ? 1 : 0;
      }
    }
    assertTrue(imTrained > itTrained);
  }

  @Test
  void maxLengthTruncatesAndPromptWeightIsWritten() throws Exception {
    Path out = dir.resolve("short.jsonl");
    Run r =
        run(
            "prepare",
            "--data",
            data.toString(),
            "--tokenizer",
            tokenizer.toString(),
            "--max-length",
            "10",
            "--prompt-weight",
            "0.5",
            "--out",
            out.toString());
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.err().contains("examples truncated to --max-length"), r.err());
    for (String line : Files.readAllLines(out)) {
      JsonNode node = new ObjectMapper().readTree(line);
      assertTrue(node.get("input_ids").size() <= 10);
      for (JsonNode w : node.get("weights")) {
        assertTrue(w.asDouble() == 0 || w.asDouble() == 0.5 || w.asDouble() == 1, line);
      }
    }
  }

  @Test
  void statsReportsTheLengthRatioAndAdvice() {
    Run r = run("stats", "--data", data.toString());
    assertEquals(0, r.exit(), r.err());
    // 4 name-the-word rows and 4 define-the-word rows of the bundled data.
    assertTrue(r.out().contains("examples           8"), r.out());
    assertTrue(r.out().contains("length ratio       "), r.out());
    assertTrue(r.out().contains("Suggestion: Instruction Modelling"), r.out());
    Run withTokens = run("stats", "--data", data.toString(), "--tokenizer", tokenizer.toString());
    assertTrue(withTokens.out().contains("tokens             mean"), withTokens.out());
  }

  /** {@code im4j train} on the test data with one extra option, output to {@code w}. */
  private static Run trainWith(String option, String value) {
    return run(
        "train",
        "--config",
        "c.json",
        "--tokenizer",
        tokenizer.toString(),
        "--data",
        data.toString(),
        option,
        value,
        "--out",
        dir.resolve("w").toString());
  }

  @Test
  void badDataExitsWith3NamingFileLineAndField() throws Exception {
    Path bad = dir.resolve("bad.jsonl");
    Files.writeString(
        bad,
        "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":\"a\"}]}\n"
            + "{\"messages\":[{\"role\":\"bot\",\"content\":\"q\"}]}\n");
    Run r =
        run(
            "prepare",
            "--data",
            bad.toString(),
            "--tokenizer",
            tokenizer.toString(),
            "--out",
            dir.resolve("x.jsonl").toString());
    assertEquals(3, r.exit());
    assertTrue(r.err().contains(bad + ":2: field \"messages[0].role\""), r.err());
  }

  @Test
  void badArgumentsExitWith2() {
    assertEquals(2, run("prepare", "--data", data.toString()).exit()); // no --out
    assertEquals(2, run("stats", "--data", data.toString(), "--format", "csv").exit());
    Run policy =
        run(
            "prepare",
            "--data",
            data.toString(),
            "--tokenizer",
            tokenizer.toString(),
            "--policy",
            "nope",
            "--out",
            dir.resolve("y.jsonl").toString());
    assertEquals(2, policy.exit());
    assertTrue(policy.err().contains("unknown policy 'nope'"), policy.err());
    Run schedule = trainWith("--schedule", "exp");
    assertEquals(2, schedule.exit());
    Run device = trainWith("--device", "tpu");
    assertEquals(2, device.exit());
    Run adamW = trainWith("--adamw", "adam");
    assertEquals(2, adamW.exit());
    assertTrue(
        adamW.err().contains("--adamw must be torch or hf-legacy but was 'adam'"), adamW.err());
    Run inOrder = trainWith("--packing", "--no-group-by-length");
    assertEquals(2, inOrder.exit());
    assertTrue(
        inOrder.err().contains("--no-group-by-length keeps input order, which --packing cannot"),
        inOrder.err());
    Run chunk = trainWith("--loss-chunk", "-1");
    assertEquals(2, chunk.exit());
    assertTrue(chunk.err().contains("--loss-chunk must be >= 0"), chunk.err());
    Run missingConfig =
        run(
            "train",
            "--config",
            dir.resolve("absent.json").toString(),
            "--tokenizer",
            tokenizer.toString(),
            "--data",
            data.toString(),
            "--out",
            dir.resolve("w").toString());
    assertEquals(3, missingConfig.exit(), missingConfig.err());
    assertTrue(missingConfig.err().contains("absent.json"), missingConfig.err());
    Run noTokenizer =
        run("prepare", "--data", data.toString(), "--out", dir.resolve("z.jsonl").toString());
    assertEquals(2, noTokenizer.exit());
    assertTrue(noTokenizer.err().contains("--tokenizer DIR is required"), noTokenizer.err());
  }

  private static String[] concat(String[] a, String... b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  @Test
  void trainWritesMetricsCheckpointsAndALoadableModelDirectory() throws Exception {
    Path config = dir.resolve("tiny-config.json");
    Files.writeString(
        config,
        "{\"model_type\": \"llama\", \"vocab_size\": 32000, \"hidden_size\": 16,"
            + " \"intermediate_size\": 32, \"num_hidden_layers\": 1,"
            + " \"num_attention_heads\": 2, \"num_key_value_heads\": 1,"
            + " \"max_position_embeddings\": 256, \"rms_norm_eps\": 1e-5,"
            + " \"tie_word_embeddings\": true, \"hidden_act\": \"silu\"}");
    Path out = dir.resolve("train-out");
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
            "--steps",
            "3",
            "--batch-size",
            "4",
            "--lr",
            "1e-3",
            "--eval-every",
            "3",
            "--threads",
            "1",
            "--max-length",
            "128",
            "--out",
            out.toString());
    assertEquals(0, r.exit(), r.err() + r.out());
    assertTrue(r.out().contains("eval step 3"), r.out());
    List<String> metrics = Files.readAllLines(out.resolve("metrics.jsonl"));
    assertEquals(4, metrics.size(), String.join("\n", metrics)); // 3 steps + 1 evaluation
    var trained = dev.im4j.onnx.model.ModelDirectory.load(out.resolve("model"));
    assertEquals(16, trained.config().hiddenSize());
    assertTrue(Files.isRegularFile(out.resolve("model/tokenizer.json")));
    assertTrue(Files.size(out.resolve("curves.png")) > 1000);
    // The ONNX export runs in a plain session and gives the logits the CLI's eval uses.
    try (ai.onnxruntime.OrtSession s =
        dev.im4j.onnx.runtime.Ort.environment()
            .createSession(
                out.resolve("model.onnx").toString(),
                new ai.onnxruntime.OrtSession.SessionOptions())) {
      assertEquals(3, s.getNumInputs());
      assertTrue(s.getOutputNames().contains("logits"));
    }

    Run g =
        run(
            "generate",
            "--model",
            out.resolve("model").toString(),
            "--prompt",
            "Define the noun" + " \"dog\".",
            "--max-new-tokens",
            "5");
    assertEquals(0, g.exit(), g.err() + g.out());
    assertTrue(g.out().startsWith("### Define the noun \"dog\"."), g.out());

    Run e = run("eval", "--model", out.resolve("model").toString(), "--data", data.toString());
    assertEquals(0, e.exit(), e.err() + e.out());
    assertTrue(e.out().contains("output-only (IT) loss "), e.out());
    // The last training evaluation ran on the same data with the same weights.
    String lastEval = metrics.get(metrics.size() - 1);
    double trainerIm = new ObjectMapper().readTree(lastEval).get("instructionLoss").asDouble();
    double cliIm =
        Double.parseDouble(
            e.out().replaceAll("(?s).*instruction-modelling \\(IM\\) loss ([0-9.]+).*", "$1"));
    assertEquals(trainerIm, cliIm, 1e-3, lastEval + " vs " + e.out());
  }
}
