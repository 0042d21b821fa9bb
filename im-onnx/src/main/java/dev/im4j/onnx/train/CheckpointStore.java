package dev.im4j.onnx.train;

import static com.google.common.base.Preconditions.checkArgument;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.common.io.MoreFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Trainer checkpoints in {@code <dir>/step-<N>/}: {@code ort_checkpoint} (weights and AdamW state)
 * and {@code trainer_state.json}.
 *
 * <p>Atomic (docs/invariants.md, 21): a checkpoint is written into {@code .tmp-step-<N>}, every
 * file and the folder are fsynced, the folder is renamed to {@code step-<N>} and the parent
 * fsynced. A {@code step-<N>} folder is therefore always complete; leftover temporary folders are
 * deleted on open. After each save only the newest {@code keepLast} checkpoints remain.
 */
final class CheckpointStore {
  static final String ORT_CHECKPOINT = "ort_checkpoint";
  static final String STATE = "trainer_state.json";
  private static final Pattern NAME = Pattern.compile("step-(\\d{8})");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path dir;
  private final int keepLast;

  CheckpointStore(Path dir, int keepLast) {
    checkArgument(keepLast >= 1, "keepLast must be >= 1 but was %s", keepLast);
    this.dir = dir;
    this.keepLast = keepLast;
    try {
      Files.createDirectories(dir);
      try (Stream<Path> s = Files.list(dir)) {
        for (Path p : (Iterable<Path>) s::iterator) {
          if (p.getFileName().toString().startsWith(".tmp-")) {
            deleteTree(p);
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare the checkpoint folder " + dir, e);
    }
  }

  /** Complete checkpoints, oldest first. */
  List<Path> list() {
    List<Path> out = new ArrayList<>();
    try (Stream<Path> s = Files.list(dir)) {
      s.filter(p -> NAME.matcher(p.getFileName().toString()).matches())
          .sorted(Comparator.comparing(p -> p.getFileName().toString()))
          .forEach(out::add);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list checkpoints in " + dir, e);
    }
    return out;
  }

  Optional<Path> latest() {
    List<Path> all = list();
    return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
  }

  static TrainerState readState(Path checkpoint) {
    try {
      return JSON.readValue(checkpoint.resolve(STATE).toFile(), TrainerState.class);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot read "
              + checkpoint.resolve(STATE)
              + "; delete that checkpoint folder to resume"
              + " from an older one",
          e);
    }
  }

  static long stepOf(Path checkpoint) {
    Matcher m = NAME.matcher(checkpoint.getFileName().toString());
    checkArgument(m.matches(), "%s is not a checkpoint folder (step-NNNNNNNN)", checkpoint);
    return Long.parseLong(m.group(1));
  }

  /** The newest complete checkpoint of at most {@code step} steps. */
  Optional<Path> latestUpTo(long step) {
    Optional<Path> found = Optional.empty();
    for (Path p : list()) {
      if (stepOf(p) <= step) {
        found = Optional.of(p);
      }
    }
    return found;
  }

  /**
   * Saves the runtime's state and {@code state} as checkpoint {@code state.step()}, with the
   * optimizer's moments and step if {@code optimizerState} (a checkpoint to resume from) or the
   * parameters only. {@code verify} sees the written ORT checkpoint file before the checkpoint is
   * committed; if it throws, nothing is committed and the exception propagates.
   */
  Path save(
      StepRuntime runtime, TrainerState state, boolean optimizerState, Consumer<Path> verify) {
    String name = String.format("step-%08d", state.step());
    Path temp = dir.resolve(".tmp-" + name);
    Path target = dir.resolve(name);
    try {
      deleteTree(temp);
      Files.createDirectories(temp);
      Path ort = temp.resolve(ORT_CHECKPOINT);
      runtime.saveCheckpoint(ort, optimizerState);
      try {
        verify.accept(ort);
      } catch (RuntimeException e) {
        deleteTree(temp);
        throw e;
      }
      fsync(ort, false);
      Path data = temp.resolve(ORT_CHECKPOINT + ".data"); // ONNX Runtime's external-data form
      if (Files.exists(data)) {
        fsync(data, false);
      }
      Path json = temp.resolve(STATE);
      try (FileChannel ch =
          FileChannel.open(json, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.wrap(JSON.writeValueAsBytes(state)));
        ch.force(true);
      }
      fsync(temp, true);
      if (Files.exists(target)) {
        retire(target); // a re-run of a step after resume: same content
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
      fsync(dir, true);
      List<Path> all = list();
      for (int i = 0; i < all.size() - keepLast; i++) {
        retire(all.get(i));
      }
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write checkpoint " + target + ": " + e, e);
    }
  }

  /** Renames a complete checkpoint out of view first, so a crash never leaves half of one. */
  private void retire(Path checkpoint) throws IOException {
    Path doomed = dir.resolve(".tmp-retired-" + checkpoint.getFileName());
    deleteTree(doomed);
    Files.move(checkpoint, doomed, StandardCopyOption.ATOMIC_MOVE);
    deleteTree(doomed);
  }

  private static void fsync(Path p, boolean directory) throws IOException {
    try (FileChannel ch =
        FileChannel.open(p, directory ? StandardOpenOption.READ : StandardOpenOption.WRITE)) {
      ch.force(true);
    }
  }

  /** Deletes p and everything below it (links are deleted, not followed); absent is fine. */
  static void deleteTree(Path p) throws IOException {
    if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
      MoreFiles.deleteRecursively(p);
    }
  }
}
