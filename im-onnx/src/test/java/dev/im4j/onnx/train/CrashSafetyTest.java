package dev.im4j.onnx.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.onnx.train.checkpoint.TrainingCheckpoint;
import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Invariants 20 and 21: a training child JVM is SIGKILLed at seeded random moments and resumed;
 * every checkpoint folder left behind is complete and readable, and the final weights equal an
 * uninterrupted run's bit for bit.
 */
class CrashSafetyTest {
  @TempDir Path dir;

  @Test
  void killedAndResumedRunEndsIdentical() throws IOException, InterruptedException {
    Trainer.Result whole = CrashChild.trainer(dir.resolve("whole")).build().run();
    Path out = dir.resolve("crashed");
    SplittableRandom random = new SplittableRandom(2026);
    List<String> log = new ArrayList<>();
    boolean finished = false;
    for (int trial = 0; trial < 8 && !finished; trial++) {
      Process child = start(out);
      long delay = 450 + random.nextInt(600);
      finished = child.waitFor(delay, TimeUnit.MILLISECONDS);
      if (!finished) {
        child.destroyForcibly(); // SIGKILL
        child.waitFor();
      } else {
        assertEquals(
            0,
            child.exitValue(),
            "child failed: " + new String(child.getInputStream().readAllBytes()));
      }
      List<Path> left = new CheckpointStore(out.resolve("checkpoints"), 2).list();
      log.add("trial " + trial + " after " + delay + " ms: " + left);
      for (Path p : left) {
        TrainerState state = CheckpointStore.readState(p);
        assertEquals(CheckpointStore.stepOf(p), state.step(), p.toString());
        TrainingCheckpoint.read(p.resolve(CheckpointStore.ORT_CHECKPOINT));
      }
    }
    if (!finished) {
      Process child = start(out);
      assertTrue(child.waitFor(60, TimeUnit.SECONDS), "final child did not finish");
      assertEquals(0, child.exitValue(), new String(child.getInputStream().readAllBytes()));
    }
    Path last = new CheckpointStore(out.resolve("checkpoints"), 2).latest().orElseThrow();
    assertEquals(CrashChild.STEPS, CheckpointStore.stepOf(last), String.join("\n", log));
    TrainingCheckpoint resumed =
        TrainingCheckpoint.read(last.resolve(CheckpointStore.ORT_CHECKPOINT));
    assertEquals(whole.weights().trainable(), resumed.trainable(), String.join("\n", log));
    assertTrue(resumed.optimizerGroups().isEmpty(), "the final checkpoint holds no moments");
    // the moments live in the checkpoint before the last; equal moments there mean the resumed
    // run carried the optimizer state across every kill exactly
    Path beforeLast =
        dir.resolve("whole/checkpoints/" + String.format("step-%08d", CrashChild.STEPS - 1));
    TrainingCheckpoint wholeMoments =
        TrainingCheckpoint.read(beforeLast.resolve(CheckpointStore.ORT_CHECKPOINT));
    TrainingCheckpoint resumedMoments =
        TrainingCheckpoint.read(
            out.resolve("checkpoints")
                .resolve(beforeLast.getFileName())
                .resolve(CheckpointStore.ORT_CHECKPOINT));
    assertFalse(wholeMoments.optimizerGroups().isEmpty(), "step " + (CrashChild.STEPS - 1));
    assertEquals(wholeMoments.optimizerGroups(), resumedMoments.optimizerGroups());
  }

  private static Process start(Path out) throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>();
    cmd.add(java);
    cmd.add("-cp");
    cmd.add(childClassPath());
    String cache = System.getProperty("im4j.ort.cacheDir");
    if (cache != null) {
      cmd.add("-Dim4j.ort.cacheDir=" + cache);
    }
    cmd.add(CrashChild.class.getName());
    cmd.add(out.toString());
    return new ProcessBuilder(cmd).redirectErrorStream(true).start();
  }

  /**
   * This JVM's class path and module path as one class path: surefire runs im-onnx's tests with its
   * main classes and their modules on the module path, which java.class.path lacks.
   */
  private static String childClassPath() {
    String classPath = System.getProperty("java.class.path");
    String modulePath = System.getProperty("jdk.module.path");
    return modulePath == null || modulePath.isEmpty()
        ? classPath
        : modulePath + File.pathSeparator + classPath;
  }
}
