package dev.im4j.onnx.runtime;

import static com.google.common.base.Preconditions.checkArgument;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The four files ONNX Runtime's training API opens: the training graph (forward, loss, gradients
 * accumulated in place), the optional evaluation graph, the optimizer graph and the checkpoint
 * holding the initial parameters (and optionally optimizer state).
 *
 * @param trainingModel ONNX training graph
 * @param evalModel ONNX evaluation graph, needed for eval steps and export
 * @param optimizerModel ONNX optimizer graph (one {@code com.microsoft} AdamWOptimizer)
 * @param checkpoint ORT training checkpoint
 */
public record TrainingArtifacts(
    Path trainingModel, Optional<Path> evalModel, Path optimizerModel, Path checkpoint) {

  /** Throws {@link IllegalArgumentException} naming the first file that does not exist. */
  public TrainingArtifacts {
    exists("training model", trainingModel);
    checkArgument(evalModel != null, "evalModel must be Optional.empty(), not null");
    evalModel.ifPresent(p -> exists("eval model", p));
    exists("optimizer model", optimizerModel);
    exists("checkpoint", checkpoint);
  }

  /** All four files in {@code dir} under the names {@link #inDirectory} uses. */
  public static TrainingArtifacts inDirectory(Path dir) {
    return new TrainingArtifacts(
        dir.resolve("training_model.onnx"),
        Optional.of(dir.resolve("eval_model.onnx")),
        dir.resolve("optimizer_model.onnx"),
        dir.resolve("checkpoint"));
  }

  /** The same graphs starting from another checkpoint (a resume's). */
  public TrainingArtifacts withCheckpoint(Path other) {
    return new TrainingArtifacts(trainingModel, evalModel, optimizerModel, other);
  }

  /** The same files without the eval graph, which ONNX Runtime then does not load. */
  public TrainingArtifacts withoutEvalModel() {
    return new TrainingArtifacts(trainingModel, Optional.empty(), optimizerModel, checkpoint);
  }

  private static void exists(String what, Path file) {
    checkArgument(file != null, "%s path must be non-null", what);
    checkArgument(Files.isRegularFile(file), "%s %s does not exist or is not a file", what, file);
  }
}
