package dev.im4j.onnx.train.checkpoint;

import com.google.flatbuffers.FlatBufferBuilder;
import dev.im4j.onnx.model.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

/**
 * Encodes a {@link TrainingCheckpoint} as ONNX Runtime's checkpoint flatbuffer and writes it
 * atomically. Field slots follow {@code ort_training_checkpoint.fbs} and the {@code Tensor} table
 * of {@code ort.fbs}; see {@link CheckpointSchema}.
 */
final class CheckpointWriter {
  private CheckpointWriter() {}

  static void write(TrainingCheckpoint checkpoint, Path file) {
    ByteBuffer bytes = encode(checkpoint, file);
    Path dir = file.toAbsolutePath().getParent();
    Path temp = null;
    try {
      Files.createDirectories(dir);
      temp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
      try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
        while (bytes.hasRemaining()) {
          channel.write(bytes);
        }
        channel.force(true);
      }
      Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      temp = null;
      try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
        channel.force(true);
      }
    } catch (IOException e) {
      CheckpointException failure = new CheckpointException(file, "cannot write: " + e, e);
      if (temp != null) {
        try {
          Files.deleteIfExists(temp);
        } catch (IOException cleanup) {
          failure.addSuppressed(cleanup);
        }
      }
      throw failure;
    }
  }

  /** The finished flatbuffer, positioned at its first byte. */
  static ByteBuffer encode(TrainingCheckpoint checkpoint, Path file) {
    long payload = 0;
    for (Tensor t : checkpoint.trainable()) {
      payload += 4L * t.numel();
    }
    for (Tensor t : checkpoint.frozen()) {
      payload += 4L * t.numel();
    }
    for (OptimizerGroup g : checkpoint.optimizerGroups()) {
      for (ParameterOptimizerState p : g.parameters()) {
        for (Tensor m : p.momentums()) {
          payload += 4L * m.numel();
        }
      }
    }
    long estimate = payload + 64 * 1024;
    if (estimate > Integer.MAX_VALUE - 1024) {
      throw new CheckpointException(
          file,
          "holds "
              + payload
              + " bytes of tensor data but a flatbuffer addresses at most 2 GiB; external data"
              + " files are not supported yet");
    }
    FlatBufferBuilder b = new FlatBufferBuilder((int) estimate);

    int trainable = tensors(b, checkpoint.trainable());
    int frozen = tensors(b, checkpoint.frozen());
    b.startTable(CheckpointSchema.MODULE_STATE_FIELDS);
    b.addOffset(CheckpointSchema.MODULE_STATE_REQUIRES_GRAD, trainable, 0);
    b.addOffset(CheckpointSchema.MODULE_STATE_FROZEN, frozen, 0);
    int moduleState = b.endTable();

    int[] groups = new int[checkpoint.optimizerGroups().size()];
    for (int i = 0; i < groups.length; i++) {
      groups[i] = group(b, checkpoint.optimizerGroups().get(i));
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

  private static int tensors(FlatBufferBuilder b, List<Tensor> tensors) {
    int[] offsets = new int[tensors.size()];
    for (int i = 0; i < offsets.length; i++) {
      offsets[i] = tensor(b, tensors.get(i));
    }
    return b.createVectorOfTables(offsets);
  }

  private static int tensor(FlatBufferBuilder b, Tensor t) {
    int name = b.createString(t.name());
    long[] dims = t.shape();
    b.startVector(Long.BYTES, dims.length, Long.BYTES);
    for (int i = dims.length - 1; i >= 0; i--) { // flatbuffers are built back to front
      b.addLong(dims[i]);
    }
    int dimsVector = b.endVector();
    ByteBuffer raw = b.createUnintializedVector(1, Float.BYTES * t.numel(), Float.BYTES);
    raw.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(t.toArray());
    int rawVector = b.endVector();
    b.startTable(CheckpointSchema.TENSOR_FIELDS);
    b.addOffset(CheckpointSchema.TENSOR_NAME, name, 0);
    b.addOffset(CheckpointSchema.TENSOR_DIMS, dimsVector, 0);
    b.addInt(CheckpointSchema.TENSOR_DATA_TYPE, CheckpointSchema.DATA_TYPE_FLOAT, 0);
    b.addOffset(CheckpointSchema.TENSOR_RAW_DATA, rawVector, 0);
    return b.endTable();
  }

  private static int group(FlatBufferBuilder b, OptimizerGroup g) {
    int[] states = new int[g.parameters().size()];
    for (int i = 0; i < states.length; i++) {
      ParameterOptimizerState p = g.parameters().get(i);
      int momentums = tensors(b, p.momentums());
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
