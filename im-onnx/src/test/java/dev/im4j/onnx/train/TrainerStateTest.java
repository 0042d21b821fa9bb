package dev.im4j.onnx.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** trainer_state.json: the AdamW formula is recorded, and older files read as the legacy one. */
class TrainerStateTest {
  @TempDir Path dir;

  private static final String BEFORE_VARIANT =
      "{\"step\":4,\"totalSteps\":7,\"epoch\":1,\"positionInEpoch\":4,\"seed\":0,"
          + "\"baseLearningRate\":0.05,\"nextLearningRate\":0.05";

  @Test
  void filesWithoutTheFormulaReadAsHuggingFaceLegacy() throws IOException {
    Files.writeString(dir.resolve(CheckpointStore.STATE), BEFORE_VARIANT + "}");
    TrainerState state = CheckpointStore.readState(dir);
    assertEquals(4, state.step());
    assertEquals(AdamWConfig.Variant.HUGGING_FACE_LEGACY, state.adamWVariant());
  }

  @Test
  void theRecordedFormulaIsRead() throws IOException {
    Files.writeString(dir.resolve(CheckpointStore.STATE), BEFORE_VARIANT + ",\"adamW\":\"TORCH\"}");
    assertEquals(AdamWConfig.Variant.TORCH, CheckpointStore.readState(dir).adamWVariant());
  }
}
