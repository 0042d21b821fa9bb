package dev.im4j.onnx.train.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.flatbuffers.FlatBufferBuilder;
import dev.im4j.onnx.model.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainingCheckpointTest {
  @TempDir Path dir;

  private static final Tensor W = Tensor.of("W", new long[] {3, 1}, new float[] {1.5f, -2f, 0.25f});
  private static final Tensor B = Tensor.of("b", new long[] {1}, new float[] {-7f});
  private static final Tensor SCALE = Tensor.of("scale", new long[] {}, new float[] {3f});

  @Test
  void parametersOnlyRoundTrip() {
    TrainingCheckpoint checkpoint = TrainingCheckpoint.of(List.of(W, B), List.of());
    Path file = dir.resolve("params.ckpt");

    checkpoint.write(file);
    TrainingCheckpoint read = TrainingCheckpoint.read(file);

    assertEquals(checkpoint, read);
    assertArrayEquals(new float[] {1.5f, -2f, 0.25f}, read.parameter("W").orElseThrow().toArray());
    assertArrayEquals(new long[] {3, 1}, read.parameter("W").orElseThrow().shape());
    assertTrue(read.frozen().isEmpty());
    assertTrue(read.optimizerGroups().isEmpty());
  }

  @Test
  void fullRoundTripWithOptimizerStateAndProperties() {
    OptimizerGroup group =
        new OptimizerGroup(
            OptimizerGroup.DEFAULT_NAME,
            42,
            1e-3f,
            List.of(
                ParameterOptimizerState.adamW(
                    "W", new long[] {3, 1}, new float[] {0.1f, 0.2f, 0.3f}, new float[] {1, 2, 3}),
                ParameterOptimizerState.adamW(
                    "b", new long[] {1}, new float[] {-0.5f}, new float[] {0.75f})));
    TrainingCheckpoint checkpoint =
        new TrainingCheckpoint(
            List.of(W, B),
            List.of(SCALE),
            List.of(group),
            Map.of("epoch", 3L, "big", 1L << 40),
            Map.of("best_loss", 0.125f),
            Map.of("note", "héllo ✓"));
    Path file = dir.resolve("sub/dir/full.ckpt");

    checkpoint.write(file);
    TrainingCheckpoint read = TrainingCheckpoint.read(file);

    assertEquals(checkpoint, read);
    OptimizerGroup g = read.optimizerGroup("group0").orElseThrow();
    assertEquals(42, g.step());
    assertEquals(1e-3f, g.initialLearningRate());
    assertArrayEquals(
        new float[] {1, 2, 3},
        g.parameter("W")
            .orElseThrow()
            .momentum(ParameterOptimizerState.SECOND_MOMENT)
            .orElseThrow()
            .toArray());
    assertEquals(0, read.parameter("scale").orElseThrow().shape().length);
  }

  @Test
  void writeReplacesAnExistingFileAndLeavesNoTemporaryFile() throws IOException {
    Path file = dir.resolve("model.ckpt");
    TrainingCheckpoint.of(List.of(W), List.of()).write(file);
    TrainingCheckpoint.of(List.of(B), List.of()).write(file);

    assertEquals(List.of(B), TrainingCheckpoint.read(file).trainable());
    try (var files = Files.list(dir)) {
      assertEquals(List.of(file), files.toList());
    }
  }

  @Test
  void fileLayoutHasIdentifierAndVersion() throws IOException {
    Path file = dir.resolve("layout.ckpt");
    TrainingCheckpoint.of(List.of(W), List.of()).write(file);
    byte[] bytes = Files.readAllBytes(file);

    assertEquals("ODTC", new String(bytes, 4, 4, java.nio.charset.StandardCharsets.US_ASCII));
  }

  @Test
  void rejectsDuplicateNamesAndBadShapes() {
    IllegalArgumentException duplicate =
        assertThrows(
            IllegalArgumentException.class, () -> TrainingCheckpoint.of(List.of(W), List.of(W)));
    assertTrue(duplicate.getMessage().contains("W repeats"), duplicate.getMessage());
    IllegalArgumentException shape =
        assertThrows(
            IllegalArgumentException.class, () -> Tensor.of("x", new long[] {2, 2}, new float[3]));
    assertEquals(
        "tensor x: dims [2, 2] hold 4 elements but data has 3; pass exactly product(dims) values",
        shape.getMessage());
  }

  @Test
  void missingFileNamesTheFile() {
    Path file = dir.resolve("absent.ckpt");
    CheckpointException e =
        assertThrows(CheckpointException.class, () -> TrainingCheckpoint.read(file));
    assertTrue(e.getMessage().startsWith("checkpoint " + file + ": cannot read"), e.getMessage());
    assertTrue(e.getMessage().endsWith("(no such file)"), e.getMessage());
  }

  @Test
  void tooShortFile() throws IOException {
    CheckpointException e = readBytes(new byte[] {1, 2, 3});
    assertTrue(e.getMessage().contains("is 3 bytes, too short"), e.getMessage());
  }

  @Test
  void wrongFileIdentifier() throws IOException {
    FlatBufferBuilder b = new FlatBufferBuilder();
    b.startTable(4);
    b.addInt(0, 2, 0);
    b.finish(b.endTable(), "ORTM");
    CheckpointException e = readBytes(b.sizedByteArray());
    assertTrue(
        e.getMessage()
            .endsWith(
                "file identifier is 'ORTM' but an ONNX Runtime training checkpoint has 'ODTC'"),
        e.getMessage());
  }

  @Test
  void wrongVersion() throws IOException {
    FlatBufferBuilder b = new FlatBufferBuilder();
    b.startTable(4);
    b.addInt(0, 1, 0);
    b.finish(b.endTable(), "ODTC");
    CheckpointException e = readBytes(b.sizedByteArray());
    assertTrue(
        e.getMessage()
            .endsWith("version is 1 but only version 2 (ONNX Runtime 1.17 and later) is supported"),
        e.getMessage());
  }

  @Test
  void truncatedFileFailsWithCheckpointExceptionOrReadsTheSameCheckpoint() throws IOException {
    // Cutting only trailing alignment padding loses nothing; any other cut must be reported as a
    // CheckpointException, never as an index error or wrong data.
    TrainingCheckpoint checkpoint = TrainingCheckpoint.of(List.of(W, B), List.of(SCALE));
    Path good = dir.resolve("good.ckpt");
    checkpoint.write(good);
    byte[] bytes = Files.readAllBytes(good);
    Path cut = dir.resolve("cut.ckpt");
    int failures = 0;
    for (int length = 0; length < bytes.length; length++) {
      Files.write(cut, Arrays.copyOf(bytes, length));
      try {
        assertEquals(checkpoint, TrainingCheckpoint.read(cut));
      } catch (CheckpointException e) {
        assertTrue(e.getMessage().startsWith("checkpoint " + cut + ": "), e.getMessage());
        failures++;
      }
    }
    assertTrue(failures >= bytes.length - 8, failures + " of " + bytes.length);
  }

  @Test
  void rawDataSizeMustMatchDims() throws IOException {
    FlatBufferBuilder b = new FlatBufferBuilder();
    int tensor = tensor(b, "W", new long[] {2, 2}, CheckpointSchema.DATA_TYPE_FLOAT, new byte[12]);
    CheckpointException e = readBytes(checkpointWith(b, tensor));
    assertTrue(
        e.getMessage()
            .endsWith("tensor W has dims [2, 2] (4 floats = 16 bytes) but raw_data holds 12 bytes"),
        e.getMessage());
  }

  @Test
  void nonFloatTensorsAreRejected() throws IOException {
    FlatBufferBuilder b = new FlatBufferBuilder();
    int tensor = tensor(b, "W", new long[] {2}, 16, new byte[4]);
    CheckpointException e = readBytes(checkpointWith(b, tensor));
    assertTrue(
        e.getMessage().endsWith("tensor W has data_type 16 but only FLOAT (1) is supported"),
        e.getMessage());
  }

  @Test
  void moduleStateWithoutFrozenVectorIsRejectedLikeOnnxRuntimeDoes() throws IOException {
    FlatBufferBuilder b = new FlatBufferBuilder();
    int tensor = tensor(b, "W", new long[] {1}, CheckpointSchema.DATA_TYPE_FLOAT, new byte[4]);
    int params = b.createVectorOfTables(new int[] {tensor});
    b.startTable(4);
    b.addOffset(0, params, 0);
    int module = b.endTable();
    b.startTable(4);
    b.addInt(0, 2, 0);
    b.addOffset(1, module, 0);
    b.finish(b.endTable(), "ODTC");
    CheckpointException e = readBytes(b.sizedByteArray());
    assertTrue(e.getMessage().contains("ModuleState.frozen_params is missing"), e.getMessage());
  }

  private static int tensor(
      FlatBufferBuilder b, String name, long[] dims, int dataType, byte[] raw) {
    int n = b.createString(name);
    b.startVector(8, dims.length, 8);
    for (int i = dims.length - 1; i >= 0; i--) {
      b.addLong(dims[i]);
    }
    int d = b.endVector();
    int r = b.createByteVector(raw);
    b.startTable(7);
    b.addOffset(0, n, 0);
    b.addOffset(2, d, 0);
    b.addInt(3, dataType, 0);
    b.addOffset(4, r, 0);
    return b.endTable();
  }

  private static byte[] checkpointWith(FlatBufferBuilder b, int tensor) {
    int params = b.createVectorOfTables(new int[] {tensor});
    int frozen = b.createVectorOfTables(new int[0]);
    b.startTable(4);
    b.addOffset(0, params, 0);
    b.addOffset(1, frozen, 0);
    int module = b.endTable();
    b.startTable(4);
    b.addInt(0, 2, 0);
    b.addOffset(1, module, 0);
    b.finish(b.endTable(), "ODTC");
    return b.sizedByteArray();
  }

  private CheckpointException readBytes(byte[] bytes) throws IOException {
    Path file = Files.write(dir.resolve("bad.ckpt"), bytes);
    CheckpointException e =
        assertThrows(CheckpointException.class, () -> TrainingCheckpoint.read(file));
    assertTrue(e.getMessage().startsWith("checkpoint " + file + ": "), e.getMessage());
    // Decoding from memory gives the same answer.
    assertThrows(
        CheckpointException.class, () -> CheckpointReader.decode(ByteBuffer.wrap(bytes), file));
    return e;
  }

  /**
   * The external-data form: every tensor in {@code <file>.data} (4-byte-aligned raw floats), the
   * flatbuffer holding names, dims and offsets only; read back equal, scanned the same, and
   * rewritten inline without a stale data file.
   */
  @Test
  void externalDataRoundTripsAndIsRemovedWhenWrittenInline() throws IOException {
    TrainingCheckpoint checkpoint =
        TrainingCheckpoint.of(List.of(W, B), List.of(SCALE))
            .withOptimizerGroups(
                List.of(
                    new OptimizerGroup(
                        OptimizerGroup.DEFAULT_NAME,
                        3,
                        0.01f,
                        List.of(
                            ParameterOptimizerState.adamW(
                                "W",
                                new long[] {3, 1},
                                new float[] {1, 2, 3},
                                new float[] {4, 5, 6}),
                            ParameterOptimizerState.adamW(
                                "b", new long[] {1}, new float[] {7}, new float[] {8})))));
    Path file = dir.resolve("ext_checkpoint");
    Path data = dir.resolve("ext_checkpoint.data");
    checkpoint.write(file, 0);
    assertEquals(4L * (3 + 1 + 1 + 3 + 3 + 1 + 1), Files.size(data), "every float, no padding");
    assertTrue(Files.size(file) < 1024, "the flatbuffer holds no tensor data");
    assertEquals(checkpoint, TrainingCheckpoint.read(file));
    TrainingCheckpoint.ParameterScan scan = TrainingCheckpoint.scanParameters(file);
    double expected = Math.sqrt(1.5 * 1.5 + 2 * 2 + 0.25 * 0.25 + 7 * 7 + 3 * 3);
    assertEquals(expected, scan.l2Norm(), 1e-12);
    assertTrue(scan.firstNonFinite().isEmpty());

    checkpoint.write(file); // far below the default threshold: inline
    assertTrue(!Files.exists(data), "no stale data file beside an inline checkpoint");
    assertEquals(checkpoint, TrainingCheckpoint.read(file));
  }

  /** Without syncing, the same files: only durability across a machine crash differs. */
  @Test
  void writingWithoutSyncGivesTheSameFiles() throws IOException {
    TrainingCheckpoint checkpoint = TrainingCheckpoint.of(List.of(W, B), List.of(SCALE));
    Path synced = dir.resolve("synced");
    Path unsynced = dir.resolve("unsynced");
    for (long threshold : new long[] {0, Long.MAX_VALUE}) {
      checkpoint.write(synced, threshold);
      checkpoint.writeWithoutSync(unsynced, threshold);
      assertArrayEquals(Files.readAllBytes(synced), Files.readAllBytes(unsynced));
      assertEquals(
          Files.exists(dir.resolve("synced.data")), Files.exists(dir.resolve("unsynced.data")));
      if (threshold == 0) {
        assertArrayEquals(
            Files.readAllBytes(dir.resolve("synced.data")),
            Files.readAllBytes(dir.resolve("unsynced.data")));
      }
      assertEquals(checkpoint, TrainingCheckpoint.read(unsynced));
    }
    try (var left = Files.list(dir)) {
      assertTrue(left.noneMatch(f -> f.toString().endsWith(".tmp")), "no temporary file is left");
    }
  }

  @Test
  void aMissingOrShortDataFileIsNamed() throws IOException {
    Path file = dir.resolve("short_checkpoint");
    Path data = dir.resolve("short_checkpoint.data");
    TrainingCheckpoint.of(List.of(W, B), List.of()).write(file, 0);
    byte[] bytes = Files.readAllBytes(data);
    Files.write(data, java.util.Arrays.copyOf(bytes, bytes.length - 4));
    CheckpointException shortFile =
        assertThrows(CheckpointException.class, () -> TrainingCheckpoint.read(file));
    assertTrue(shortFile.getMessage().contains(data.toString()), shortFile.getMessage());
    assertTrue(shortFile.getMessage().contains("which holds 12 bytes"), shortFile.getMessage());
    Files.delete(data);
    CheckpointException missing =
        assertThrows(CheckpointException.class, () -> TrainingCheckpoint.read(file));
    assertTrue(
        missing.getMessage().contains(data + ", which cannot be read"), missing.getMessage());
    assertTrue(missing.getMessage().endsWith("(no such file)"), missing.getMessage());
  }
}
