package dev.im4j.cli;

import static dev.im4j.cli.Cli.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.cli.Cli.Run;
import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.model.LoraAdapter;
import dev.im4j.onnx.model.ModelDirectory;
import dev.im4j.onnx.train.checkpoint.TrainingCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code im4j train --lora-r} and its companions: the PEFT adapter (and the merged model with
 * {@code --merge}), continuing an adapter, and {@code generate}/{@code eval} with {@code
 * --adapter}.
 */
class CliLoraTest {
  @TempDir static Path dir;
  static Path data;
  static Path base;

  @BeforeAll
  static void baseModel() throws Exception {
    Path tokenizer = Cli.demoTokenizer(dir);
    data = dir.resolve("train.jsonl");
    List<String> rows = new ArrayList<>();
    for (String w : new String[] {"dog", "cat", "tree", "river", "stone", "cloud"}) {
      rows.add(
          "{\"instruction\": \"Define the noun \\\""
              + w
              + "\\\".\", \"output\": \"A "
              + w
              + ".\"}");
    }
    Files.write(data, rows);
    Path config = Cli.tinyLlamaConfig(dir);
    Run r =
        run(
            "train",
            "--config",
            config.toString(),
            "--tokenizer",
            tokenizer.toString(),
            "--data",
            data.toString(),
            "--steps",
            "1",
            "--threads",
            "1",
            "--out",
            dir.resolve("base").toString());
    assertEquals(0, r.exit(), r.err() + r.out());
    base = dir.resolve("base/model");
  }

  @Test
  void loraWritesThePeftAdapterAndWithMergeTheMergedModel() throws Exception {
    Path out = dir.resolve("lora");
    Run r =
        loraRun(
            base,
            out,
            "--lora-alpha",
            "4",
            "--lora-targets",
            "q_proj,v_proj",
            "--lora-dropout",
            "0.1",
            "--merge");
    assertEquals(0, r.exit(), r.err() + r.out());
    assertTrue(r.out().contains("adapter in " + out.resolve("adapter")), r.out());
    LoraAdapter adapter =
        LoraAdapter.load(out.resolve("adapter"), ModelDirectory.load(base).config());
    assertEquals(2, adapter.lora().rank());
    assertEquals(4.0, adapter.lora().alpha());
    assertEquals(0.1, adapter.lora().dropout());
    assertEquals(2 * 2, adapter.weights().names().size()); // q and v of one layer, A and B
    assertTrue(Files.isRegularFile(out.resolve("model/model.safetensors")));
    assertTrue(Files.isRegularFile(out.resolve("model/tokenizer.json")));
    assertTrue(Files.isRegularFile(out.resolve("model.onnx")), "the merged model's ONNX export");

    // eval of base + adapter equals eval of the merged model
    Run viaAdapter =
        run(
            "eval",
            "--model",
            base.toString(),
            "--adapter",
            out.resolve("adapter").toString(),
            "--data",
            data.toString());
    Run viaMerged =
        run("eval", "--model", out.resolve("model").toString(), "--data", data.toString());
    assertEquals(0, viaAdapter.exit(), viaAdapter.err());
    assertEquals(0, viaMerged.exit(), viaMerged.err());
    assertEquals(loss(viaMerged.out()), loss(viaAdapter.out()), 1e-4, viaAdapter.out());
    Run plainBase = run("eval", "--model", base.toString(), "--data", data.toString());
    assertTrue(
        Math.abs(loss(plainBase.out()) - loss(viaAdapter.out())) > 1e-4,
        "the adapter must change the model: " + plainBase.out() + viaAdapter.out());

    Run g =
        run(
            "generate",
            "--model",
            base.toString(),
            "--adapter",
            out.resolve("adapter").toString(),
            "--prompt",
            "Define the noun \"dog\".",
            "--max-new-tokens",
            "3");
    assertEquals(0, g.exit(), g.err() + g.out());
  }

  @Test
  void anAdapterContinuesTrainingAndWithoutMergeNoModelDirectoryIsWritten() {
    Path first = dir.resolve("first");
    Run r =
        train(base, "--lora-r", "2", "--steps", "1", "--threads", "1", "--out", first.toString());
    assertEquals(0, r.exit(), r.err() + r.out());
    assertFalse(Files.exists(first.resolve("model")), "no merged model without --merge");
    assertFalse(Files.exists(first.resolve("model.onnx")), "no ONNX export without --merge");
    Path second = dir.resolve("second");
    Run c =
        train(
            base,
            "--lora-adapter",
            first.resolve("adapter").toString(),
            "--steps",
            "1",
            "--threads",
            "1",
            "--out",
            second.toString());
    assertEquals(0, c.exit(), c.err() + c.out());
    assertTrue(Files.isRegularFile(second.resolve("adapter/adapter_model.safetensors")));
  }

  @Test
  void loraFlagsWithoutLoraAreRefused() {
    Run r = train(base, "--merge", "--out", dir.resolve("refused").toString());
    assertEquals(2, r.exit(), r.err() + r.out());
    assertTrue(r.err().contains("--merge need --lora-r N"), r.err());
    Run badDropout =
        train(
            base,
            "--lora-r",
            "2",
            "--lora-dropout",
            "1",
            "--out",
            dir.resolve("refused").toString());
    assertEquals(2, badDropout.exit(), badDropout.err() + badDropout.out());
    assertTrue(badDropout.err().contains("--lora-dropout"), badDropout.err());
  }

  /**
   * {@code --lora-base-dtype} defaults to auto: a BF16 model's base is held in BF16 (fed to the
   * runtime, so the checkpoint holds the adapters only), on either runtime, and the adapter acts; a
   * float32 model's base stays float32 (in the checkpoint). Without LoRA the flag is refused.
   */
  @Test
  void aBf16ModelsBaseIsHeldInBf16OnBothRuntimes() throws Exception {
    Path bf16 = dir.resolve("bf16-base");
    ModelDirectory.load(base).withDtype(DType.BFLOAT16).save(bf16);
    for (String runtime : new String[] {"training-api", "portable"}) {
      Path out = dir.resolve("bf16-" + runtime);
      Run r = loraRun(bf16, out, "--runtime", runtime);
      assertEquals(0, r.exit(), r.err() + r.out());
      assertTrue(finalCheckpoint(out).frozen().isEmpty(), runtime + ": the base is fed, not saved");
      Run viaAdapter =
          run(
              "eval",
              "--model",
              bf16.toString(),
              "--adapter",
              out.resolve("adapter").toString(),
              "--data",
              data.toString());
      Run plainBase = run("eval", "--model", bf16.toString(), "--data", data.toString());
      assertEquals(0, viaAdapter.exit(), viaAdapter.err());
      assertTrue(
          Math.abs(loss(plainBase.out()) - loss(viaAdapter.out())) > 1e-4,
          runtime + ": the adapter must change the model: " + viaAdapter.out());
    }
    Path f32 = dir.resolve("f32-auto");
    Run r = loraRun(base, f32);
    assertEquals(0, r.exit(), r.err() + r.out());
    assertFalse(finalCheckpoint(f32).frozen().isEmpty(), "a float32 base stays in the checkpoint");
    Run explicit = loraRun(base, dir.resolve("f32-as-bf16"), "--lora-base-dtype", "bf16");
    assertEquals(0, explicit.exit(), explicit.err() + explicit.out());
    assertTrue(finalCheckpoint(dir.resolve("f32-as-bf16")).frozen().isEmpty());

    Run refused =
        train(base, "--lora-base-dtype", "bf16", "--out", dir.resolve("refused").toString());
    assertEquals(2, refused.exit(), refused.err() + refused.out());
    assertTrue(refused.err().contains("--lora-base-dtype"), refused.err());
  }

  /** {@code train} with LoRA rank 2 on {@code model}, 2 steps at lr 1e-2, plus {@code more}. */
  private static Run loraRun(Path model, Path out, String... more) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--lora-r",
                "2",
                "--steps",
                "2",
                "--lr",
                "1e-2",
                "--threads",
                "1",
                "--out",
                out.toString()));
    args.addAll(List.of(more));
    return train(model, args.toArray(String[]::new));
  }

  /**
   * {@code im4j train} on {@code model} with the base's tokenizer and the data, then {@code flags}.
   */
  private static Run train(Path model, String... flags) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "train",
                "--model",
                model.toString(),
                "--tokenizer",
                base.toString(),
                "--data",
                data.toString()));
    args.addAll(List.of(flags));
    return run(args.toArray(String[]::new));
  }

  /** The run's last checkpoint (its final one). */
  private static TrainingCheckpoint finalCheckpoint(Path out) throws Exception {
    try (var steps = Files.list(out.resolve("checkpoints"))) {
      Path last = steps.filter(Files::isDirectory).max(Path::compareTo).orElseThrow();
      return TrainingCheckpoint.read(last.resolve("ort_checkpoint"));
    }
  }

  private static double loss(String evalOut) {
    return Double.parseDouble(
        evalOut.replaceAll("(?s).*instruction-modelling \\(IM\\) loss ([0-9.]+).*", "$1"));
  }
}
