package dev.im4j.onnx.train.checkpoint;

import com.google.flatbuffers.FlatBufferBuilder;
import dev.im4j.onnx.model.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Encodes a {@link TrainingCheckpoint} as ONNX Runtime's checkpoint flatbuffer and writes it
 * atomically. Field slots follow {@code ort_training_checkpoint.fbs} and the {@code Tensor} table
 * of {@code ort.fbs}; see {@link CheckpointSchema}.
 */
final class CheckpointWriter {
  private CheckpointWriter() {}

  /** The external data file of {@code checkpoint}: ONNX Runtime's naming, {@code <name>.data}. */
  static Path dataFile(Path checkpoint) {
    return checkpoint.resolveSibling(checkpoint.getFileName() + ".data");
  }

  /**
   * Writes {@code checkpoint} to {@code file}; if its tensor bytes reach {@code externalThreshold},
   * every tensor (parameters and moments) goes to {@code file.data} in ONNX Runtime's external-data
   * form (raw little-endian floats from offset 0, each tensor at a 4-byte-aligned offset) and the
   * flatbuffer keeps only their names, dims, types and offsets. Both files are written under
   * temporary names and renamed: an existing {@code file} is removed before its data file is
   * replaced, so a {@code file} present always matches the data beside it. With {@code sync}, both
   * files and the directory are synced before and after the renames, so the checkpoint survives a
   * crash of the machine; without it the write is atomic for other processes but not durable.
   */
  static void write(
      TrainingCheckpoint checkpoint, Path file, long externalThreshold, boolean sync) {
    Path absolute = file.toAbsolutePath();
    Path dir = absolute.getParent();
    boolean external = payload(checkpoint) >= externalThreshold;
    Path tempData = null;
    Path temp = null;
    try {
      Files.createDirectories(dir);
      Map<Tensor, Long> offsets = new IdentityHashMap<>();
      if (external) {
        tempData = Files.createTempFile(dir, absolute.getFileName().toString(), ".data.tmp");
        writeData(checkpoint, tempData, offsets, sync);
      }
      ByteBuffer bytes = encode(checkpoint, file, external ? offsets : null);
      temp = Files.createTempFile(dir, absolute.getFileName().toString(), ".tmp");
      try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
        while (bytes.hasRemaining()) {
          channel.write(bytes);
        }
        if (sync) {
          channel.force(true);
        }
      }
      Files.deleteIfExists(absolute);
      Path data = dataFile(absolute);
      if (external) {
        Files.move(
            tempData, data, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        tempData = null;
      } else {
        Files.deleteIfExists(data);
      }
      Files.move(
          temp, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      temp = null;
      if (sync) {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
          channel.force(true);
        }
      }
    } catch (IOException | UncheckedIOException e) {
      CheckpointException failure = new CheckpointException(file, "cannot write: " + e, e);
      for (Path leftover : new Path[] {temp, tempData}) {
        if (leftover != null) {
          try {
            Files.deleteIfExists(leftover);
          } catch (IOException cleanup) {
            failure.addSuppressed(cleanup);
          }
        }
      }
      throw failure;
    }
  }

  /** Every tensor of the checkpoint in file order: trainable, frozen, then each moment. */
  private static List<Tensor> allTensors(TrainingCheckpoint checkpoint) {
    List<Tensor> all = new ArrayList<>(checkpoint.trainable());
    all.addAll(checkpoint.frozen());
    for (OptimizerGroup g : checkpoint.optimizerGroups()) {
      for (ParameterOptimizerState p : g.parameters()) {
        all.addAll(p.momentums());
      }
    }
    return all;
  }

  private static long payload(TrainingCheckpoint checkpoint) {
    long payload = 0;
    for (Tensor t : allTensors(checkpoint)) {
      payload += (long) Float.BYTES * t.numel();
    }
    return payload;
  }

  /**
   * Streams every tensor's floats into {@code data}, recording each one's offset; tensors are
   * written in parallel ({@link Tensor#forEachInParallel}), each to its own region. Memory stays
   * bounded whatever the model's size.
   */
  private static void writeData(
      TrainingCheckpoint checkpoint, Path data, Map<Tensor, Long> offsets, boolean sync)
      throws IOException {
    List<Tensor> tensors = allTensors(checkpoint);
    long offset = 0;
    for (Tensor t : tensors) {
      offsets.put(t, offset); // floats: 4-byte alignment, which every offset here has
      offset += (long) Float.BYTES * t.numel();
    }
    try (FileChannel channel = FileChannel.open(data, StandardOpenOption.WRITE)) {
      try {
        Tensor.forEachInParallel(
            tensors,
            () ->
                ByteBuffer.allocate(Float.BYTES * Tensor.CHUNK_ELEMENTS)
                    .order(ByteOrder.LITTLE_ENDIAN),
            (t, chunk) -> writeTensor(t, channel, offsets.get(t), chunk));
      } catch (WriteFailure w) {
        throw (IOException) w.getCause();
      } catch (java.util.concurrent.CancellationException e) {
        throw new java.io.InterruptedIOException("interrupted while writing a checkpoint");
      }
      if (sync) {
        channel.force(true);
      }
    }
  }

  /**
   * Writes {@code t}'s little-endian floats into {@code channel} from byte {@code offset}, through
   * the worker's reused {@code chunk} (one buffer per tensor kept the JVM heap growing).
   */
  private static void writeTensor(Tensor t, FileChannel channel, long offset, ByteBuffer chunk) {
    long[] position = {offset};
    t.writeFloat32(
        chunk,
        bytes -> {
          try {
            while (bytes.hasRemaining()) {
              position[0] += channel.write(bytes, position[0]);
            }
          } catch (IOException e) {
            throw new WriteFailure(e);
          }
        });
  }

  /** A failed write of the data file, carried out of a writer thread. */
  private static final class WriteFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    WriteFailure(IOException cause) {
      super(cause);
    }
  }

  /**
   * The finished flatbuffer, positioned at its first byte; tensors inline, or, with {@code
   * offsets}, as references into the external data file.
   */
  static ByteBuffer encode(TrainingCheckpoint checkpoint, Path file, Map<Tensor, Long> offsets) {
    long inline = offsets == null ? payload(checkpoint) : 0;
    long estimate = inline + 64 * 1024 + 256L * allTensors(checkpoint).size();
    if (estimate > Integer.MAX_VALUE - 1024) {
      throw new CheckpointException(
          file,
          "holds "
              + inline
              + " bytes of tensor data inline but a flatbuffer addresses at most 2 GiB; write it"
              + " with external data (a lower threshold)");
    }
    FlatBufferBuilder b = new FlatBufferBuilder((int) estimate);

    int trainable = tensors(b, checkpoint.trainable(), offsets);
    int frozen = tensors(b, checkpoint.frozen(), offsets);
    b.startTable(CheckpointSchema.MODULE_STATE_FIELDS);
    b.addOffset(CheckpointSchema.MODULE_STATE_REQUIRES_GRAD, trainable, 0);
    b.addOffset(CheckpointSchema.MODULE_STATE_FROZEN, frozen, 0);
    b.addBoolean(CheckpointSchema.MODULE_STATE_HAS_EXTERNAL_DATA, offsets != null, false);
    int moduleState = b.endTable();

    int[] groups = new int[checkpoint.optimizerGroups().size()];
    for (int i = 0; i < groups.length; i++) {
      groups[i] = group(b, checkpoint.optimizerGroups().get(i), offsets);
    }
    int optimizerGroups = b.createVectorOfTables(groups);
    int propertyBag = propertyBag(b, checkpoint);

    b.startTable(CheckpointSchema.CHECKPOINT_FIELDS);
    b.addInt(CheckpointSchema.CHECKPOINT_VERSION, TrainingCheckpoint.FORMAT_VERSION, 0);
    b.addOffset(CheckpointSchema.CHECKPOINT_MODULE_STATE, moduleState, 0);
    b.addOffset(CheckpointSchema.CHECKPOINT_OPTIMIZER_GROUPS, optimizerGroups, 0);
    b.addOffset(CheckpointSchema.CHECKPOINT_PROPERTY_BAG, propertyBag, 0);
    int root = b.endTable();
    b.finish(root, CheckpointSchema.FILE_IDENTIFIER);
    return b.dataBuffer().slice().order(ByteOrder.LITTLE_ENDIAN);
  }

  private static int tensors(FlatBufferBuilder b, List<Tensor> tensors, Map<Tensor, Long> offsets) {
    int[] tables = new int[tensors.size()];
    for (int i = 0; i < tables.length; i++) {
      tables[i] = tensor(b, tensors.get(i), offsets);
    }
    return b.createVectorOfTables(tables);
  }

  /**
   * A tensor table: inline raw data, or (never both, ORT checks them in either order) an offset.
   */
  private static int tensor(FlatBufferBuilder b, Tensor t, Map<Tensor, Long> offsets) {
    int name = b.createString(t.name());
    long[] dims = t.shape();
    b.startVector(Long.BYTES, dims.length, Long.BYTES);
    for (int i = dims.length - 1; i >= 0; i--) { // flatbuffers are built back to front
      b.addLong(dims[i]);
    }
    int dimsVector = b.endVector();
    int rawVector = -1;
    if (offsets == null) {
      ByteBuffer raw = b.createUnintializedVector(1, Float.BYTES * t.numel(), Float.BYTES);
      java.nio.FloatBuffer floats = raw.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
      t.forEachChunk((from, values, n) -> floats.put(values, 0, n));
      rawVector = b.endVector();
    }
    b.startTable(CheckpointSchema.TENSOR_FIELDS);
    b.addOffset(CheckpointSchema.TENSOR_NAME, name, 0);
    b.addOffset(CheckpointSchema.TENSOR_DIMS, dimsVector, 0);
    b.addInt(CheckpointSchema.TENSOR_DATA_TYPE, CheckpointSchema.DATA_TYPE_FLOAT, 0);
    if (offsets == null) {
      b.addOffset(CheckpointSchema.TENSOR_RAW_DATA, rawVector, 0);
    } else {
      // force: the field's default is -1, and offset 0 must be written too
      b.addLong(CheckpointSchema.TENSOR_EXTERNAL_DATA_OFFSET, offsets.get(t), -1);
    }
    return b.endTable();
  }

  private static int group(FlatBufferBuilder b, OptimizerGroup g, Map<Tensor, Long> offsets) {
    int[] states = new int[g.parameters().size()];
    for (int i = 0; i < states.length; i++) {
      ParameterOptimizerState p = g.parameters().get(i);
      int momentums = tensors(b, p.momentums(), offsets);
      int paramName = b.createString(p.parameterName());
      b.startTable(CheckpointSchema.PARAM_STATE_FIELDS);
      b.addOffset(CheckpointSchema.PARAM_STATE_NAME, paramName, 0);
      b.addOffset(CheckpointSchema.PARAM_STATE_MOMENTUMS, momentums, 0);
      states[i] = b.endTable();
    }
    int statesVector = b.createVectorOfTables(states);
    int name = b.createString(g.name());
    b.startTable(CheckpointSchema.GROUP_FIELDS);
    b.addOffset(CheckpointSchema.GROUP_NAME, name, 0);
    b.addLong(CheckpointSchema.GROUP_STEP, g.step(), 0);
    b.addFloat(CheckpointSchema.GROUP_INITIAL_LR, g.initialLearningRate(), 0);
    b.addOffset(CheckpointSchema.GROUP_STATES, statesVector, 0);
    return b.endTable();
  }

  private static int propertyBag(FlatBufferBuilder b, TrainingCheckpoint c) {
    int[] ints = new int[c.intProperties().size()];
    int i = 0;
    for (Map.Entry<String, Long> e : c.intProperties().entrySet()) {
      int name = b.createString(e.getKey());
      b.startTable(CheckpointSchema.PROPERTY_FIELDS);
      b.addOffset(CheckpointSchema.PROPERTY_NAME, name, 0);
      b.addLong(CheckpointSchema.PROPERTY_VALUE, e.getValue(), 0);
      ints[i++] = b.endTable();
    }
    int[] floats = new int[c.floatProperties().size()];
    i = 0;
    for (Map.Entry<String, Float> e : c.floatProperties().entrySet()) {
      int name = b.createString(e.getKey());
      b.startTable(CheckpointSchema.PROPERTY_FIELDS);
      b.addOffset(CheckpointSchema.PROPERTY_NAME, name, 0);
      b.addFloat(CheckpointSchema.PROPERTY_VALUE, e.getValue(), 0);
      floats[i++] = b.endTable();
    }
    int[] strings = new int[c.stringProperties().size()];
    i = 0;
    for (Map.Entry<String, String> e : c.stringProperties().entrySet()) {
      int name = b.createString(e.getKey());
      int value = b.createString(e.getValue());
      b.startTable(CheckpointSchema.PROPERTY_FIELDS);
      b.addOffset(CheckpointSchema.PROPERTY_NAME, name, 0);
      b.addOffset(CheckpointSchema.PROPERTY_VALUE, value, 0);
      strings[i++] = b.endTable();
    }
    int intsVector = b.createVectorOfTables(ints);
    int floatsVector = b.createVectorOfTables(floats);
    int stringsVector = b.createVectorOfTables(strings);
    b.startTable(CheckpointSchema.BAG_FIELDS);
    b.addOffset(CheckpointSchema.BAG_INTS, intsVector, 0);
    b.addOffset(CheckpointSchema.BAG_FLOATS, floatsVector, 0);
    b.addOffset(CheckpointSchema.BAG_STRINGS, stringsVector, 0);
    return b.endTable();
  }
}
