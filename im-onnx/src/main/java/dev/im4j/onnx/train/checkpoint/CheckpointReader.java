package dev.im4j.onnx.train.checkpoint;

import static dev.im4j.onnx.train.checkpoint.CheckpointSchema.BAG_FLOATS;
import static dev.im4j.onnx.train.checkpoint.CheckpointSchema.BAG_INTS;
import static dev.im4j.onnx.train.checkpoint.CheckpointSchema.BAG_STRINGS;
import static dev.im4j.onnx.train.checkpoint.CheckpointSchema.CHECKPOINT_MODULE_STATE;
import static dev.im4j.onnx.train.checkpoint.CheckpointSchema.CHECKPOINT_OPTIMIZER_GROUPS;
import static dev.im4j.onnx.train.checkpoint.CheckpointSchema.CHECKPOINT_PROPERTY_BAG;
import static dev.im4j.onnx.train.checkpoint.CheckpointSchema.CHECKPOINT_VERSION;
import static dev.im4j.onnx.train.checkpoint.CheckpointSchema.DATA_TYPE_FLOAT;
import static dev.im4j.onnx.train.checkpoint.CheckpointSchema.FILE_IDENTIFIER;
import static dev.im4j.onnx.train.checkpoint.CheckpointSchema.GROUP_INITIAL_LR;
import static dev.im4j.onnx.train.checkpoint.CheckpointSchema.GROUP_NAME;
import static dev.im4j.onnx.train.checkpoint.CheckpointSchema.GROUP_STATES;
import static dev.im4j.onnx.train.checkpoint.CheckpointSchema.GROUP_STEP;
import static dev.im4j.onnx.train.checkpoint.CheckpointSchema.MODULE_STATE_FROZEN;
import static dev.im4j.onnx.train.checkpoint.CheckpointSchema.MODULE_STATE_HAS_EXTERNAL_DATA;
import static dev.im4j.onnx.train.checkpoint.CheckpointSchema.MODULE_STATE_IS_NOMINAL;
import static dev.im4j.onnx.train.checkpoint.CheckpointSchema.MODULE_STATE_REQUIRES_GRAD;
import static dev.im4j.onnx.train.checkpoint.CheckpointSchema.PARAM_STATE_MOMENTUMS;
import static dev.im4j.onnx.train.checkpoint.CheckpointSchema.PARAM_STATE_NAME;
import static dev.im4j.onnx.train.checkpoint.CheckpointSchema.PROPERTY_NAME;
import static dev.im4j.onnx.train.checkpoint.CheckpointSchema.PROPERTY_VALUE;
import static dev.im4j.onnx.train.checkpoint.CheckpointSchema.TENSOR_DATA_TYPE;
import static dev.im4j.onnx.train.checkpoint.CheckpointSchema.TENSOR_DIMS;
import static dev.im4j.onnx.train.checkpoint.CheckpointSchema.TENSOR_EXTERNAL_DATA_OFFSET;
import static dev.im4j.onnx.train.checkpoint.CheckpointSchema.TENSOR_NAME;
import static dev.im4j.onnx.train.checkpoint.CheckpointSchema.TENSOR_RAW_DATA;

import dev.im4j.onnx.model.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Decodes ONNX Runtime's checkpoint flatbuffer into a {@link TrainingCheckpoint}. */
final class CheckpointReader {
  /** Floats read at a time when scanning external data: {@link Tensor#CHUNK_ELEMENTS}. */
  private static final int SCAN_CHUNK = Tensor.CHUNK_ELEMENTS;

  private CheckpointReader() {}

  static TrainingCheckpoint read(Path file) {
    return decode(map(file), file);
  }

  /** Closes the external data file {@link #decode} or {@link #scanParameters} opened, if any. */
  private static <T> T closing(FlatView v, java.util.function.Supplier<T> work) {
    try {
      return work.get();
    } finally {
      v.closeExternalData();
    }
  }

  /** The file mapped read-only; only the flatbuffer's tables are read from the mapping. */
  private static ByteBuffer map(Path file) {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = channel.size();
      if (size > Integer.MAX_VALUE) {
        throw new CheckpointException(file, "is " + size + " bytes; at most 2 GiB are supported");
      }
      return channel.map(FileChannel.MapMode.READ_ONLY, 0, size);
    } catch (IOException e) {
      throw new CheckpointException(
          file, "cannot read: " + e + (Files.exists(file) ? "" : " (no such file)"), e);
    }
  }

  /** Decodes {@code bytes}, which must be the contents of {@code file} (tensors refer to it). */
  static TrainingCheckpoint decode(ByteBuffer bytes, Path file) {
    FlatView v = new FlatView(bytes, file);
    return closing(v, () -> decode(v, file));
  }

  private static TrainingCheckpoint decode(FlatView v, Path file) {
    if (v.size() < 8) {
      throw v.error(
          "is "
              + v.size()
              + " bytes, too short for a flatbuffer (root offset and file identifier)");
    }
    String id = v.fileIdentifier();
    if (!FILE_IDENTIFIER.equals(id)) {
      throw v.error(
          "file identifier is '"
              + printable(id)
              + "' but an ONNX Runtime training checkpoint has '"
              + FILE_IDENTIFIER
              + "'");
    }
    int root = v.root();
    int version = v.intField(root, CHECKPOINT_VERSION, 0, "Checkpoint.version");
    if (version != TrainingCheckpoint.FORMAT_VERSION) {
      throw v.error(
          "version is "
              + version
              + " but only version "
              + TrainingCheckpoint.FORMAT_VERSION
              + " (ONNX Runtime 1.17 and later) is supported");
    }

    List<Tensor> trainable = List.of();
    List<Tensor> frozen = List.of();
    int module = v.reference(root, CHECKPOINT_MODULE_STATE, "Checkpoint.module_state");
    if (module >= 0) {
      if (v.boolField(module, MODULE_STATE_IS_NOMINAL, "ModuleState.is_nominal_state")) {
        throw v.error("is a nominal checkpoint (parameters without data); not supported");
      }
      if (v.boolField(module, MODULE_STATE_HAS_EXTERNAL_DATA, "ModuleState.has_external_data")) {
        v.openExternalData(CheckpointWriter.dataFile(file));
      }
      trainable =
          tensors(v, module, MODULE_STATE_REQUIRES_GRAD, "ModuleState.requires_grad_params");
      frozen = tensors(v, module, MODULE_STATE_FROZEN, "ModuleState.frozen_params");
    }

    List<OptimizerGroup> groups = new ArrayList<>();
    int groupsVector =
        v.reference(root, CHECKPOINT_OPTIMIZER_GROUPS, "Checkpoint.optimizer_groups");
    if (groupsVector >= 0) {
      int n = v.vectorLength(groupsVector, 4, "Checkpoint.optimizer_groups");
      for (int i = 0; i < n; i++) {
        groups.add(group(v, v.tableAt(groupsVector, i, "OptimizerGroup " + i), i));
      }
    }

    Map<String, Long> ints = new LinkedHashMap<>();
    Map<String, Float> floats = new LinkedHashMap<>();
    Map<String, String> strings = new LinkedHashMap<>();
    int bag = v.reference(root, CHECKPOINT_PROPERTY_BAG, "Checkpoint.property_bag");
    if (bag >= 0) {
      for (int[] p : properties(v, bag, BAG_INTS, "PropertyBag.ints")) {
        ints.put(
            propertyName(v, p[0], "IntProperty"),
            v.longField(p[0], PROPERTY_VALUE, 0, "IntProperty.value"));
      }
      for (int[] p : properties(v, bag, BAG_FLOATS, "PropertyBag.floats")) {
        floats.put(
            propertyName(v, p[0], "FloatProperty"),
            v.floatField(p[0], PROPERTY_VALUE, 0f, "FloatProperty.value"));
      }
      for (int[] p : properties(v, bag, BAG_STRINGS, "PropertyBag.strings")) {
        String value = v.string(p[0], PROPERTY_VALUE, "StringProperty.value");
        if (value == null) {
          throw v.error(
              "StringProperty " + propertyName(v, p[0], "StringProperty") + " has no value");
        }
        strings.put(propertyName(v, p[0], "StringProperty"), value);
      }
    }
    try {
      return new TrainingCheckpoint(trainable, frozen, groups, ints, floats, strings);
    } catch (IllegalArgumentException e) {
      throw new CheckpointException(file, e.getMessage(), e);
    }
  }

  private static List<int[]> properties(FlatView v, int bag, int slot, String what) {
    int vector = v.reference(bag, slot, what);
    List<int[]> tables = new ArrayList<>();
    if (vector >= 0) {
      int n = v.vectorLength(vector, 4, what);
      for (int i = 0; i < n; i++) {
        tables.add(new int[] {v.tableAt(vector, i, what + "[" + i + "]")});
      }
    }
    return tables;
  }

  private static String propertyName(FlatView v, int table, String what) {
    String name = v.string(table, PROPERTY_NAME, what + ".name");
    if (name == null || name.isEmpty()) {
      throw v.error(what + " without a name");
    }
    return name;
  }

  private static OptimizerGroup group(FlatView v, int table, int index) {
    String name = v.string(table, GROUP_NAME, "OptimizerGroup.group_name");
    if (name == null || name.isEmpty()) {
      throw v.error("OptimizerGroup " + index + " has no group_name");
    }
    String what = "optimizer group " + name;
    long step = v.longField(table, GROUP_STEP, 0, what + " step");
    float lr = v.floatField(table, GROUP_INITIAL_LR, 0f, what + " initial_learning_rate");
    int states = v.reference(table, GROUP_STATES, what + " optimizer_states");
    if (states < 0) {
      throw v.error(what + " has no optimizer_states vector");
    }
    int n = v.vectorLength(states, 4, what + " optimizer_states");
    List<ParameterOptimizerState> parameters = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      int state = v.tableAt(states, i, what + " optimizer_states[" + i + "]");
      String param = v.string(state, PARAM_STATE_NAME, "ParameterOptimizerState.param_name");
      if (param == null || param.isEmpty()) {
        throw v.error(what + " optimizer_states[" + i + "] has no param_name");
      }
      if (v.field(state, PARAM_STATE_MOMENTUMS, what) < 0) {
        throw v.error(what + " parameter " + param + " has no momentums vector");
      }
      parameters.add(
          new ParameterOptimizerState(
              param, tensors(v, state, PARAM_STATE_MOMENTUMS, what + " parameter " + param)));
    }
    try {
      return new OptimizerGroup(name, step, lr, parameters);
    } catch (IllegalArgumentException e) {
      throw v.error(e.getMessage());
    }
  }

  private static List<Tensor> tensors(FlatView v, int table, int slot, String what) {
    int vector = v.reference(table, slot, what);
    if (vector < 0) {
      // ONNX Runtime rejects a ModuleState without either vector, so reject it here too.
      throw v.error(what + " is missing; ONNX Runtime requires the vector (it may be empty)");
    }
    int n = v.vectorLength(vector, 4, what);
    List<Tensor> tensors = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      tensors.add(tensor(v, v.tableAt(vector, i, what + "[" + i + "]"), what + "[" + i + "]"));
    }
    return tensors;
  }

  /**
   * A located tensor as a file-backed {@link Tensor}: its values stay in the checkpoint (inline:
   * the flatbuffer, read from {@code v}'s file) or its data file, and are read when used.
   */
  private static Tensor tensor(FlatView v, int table, String where) {
    TensorLocation at = locate(v, table, where);
    if (at.bytes() / Float.BYTES > Integer.MAX_VALUE - 8) {
      throw v.error("tensor " + at.name() + " holds more floats than one Java array");
    }
    return at.external() >= 0
        ? Tensor.inFile(at.name(), at.dims(), CheckpointWriter.dataFile(v.file()), at.external())
        : Tensor.inFile(at.name(), at.dims(), v.file(), at.data());
  }

  /** Floats {@code [from, from + n)} of a located tensor, inline or from the external file. */
  private static java.nio.FloatBuffer floats(FlatView v, TensorLocation at, long from, int n) {
    long bytes = (long) n * Float.BYTES;
    return at.external() >= 0
        ? v.readExternal(at.external() + from * Float.BYTES, Math.toIntExact(bytes)).asFloatBuffer()
        : v.slice(Math.toIntExact(at.data() + from * Float.BYTES), Math.toIntExact(bytes))
            .asFloatBuffer();
  }

  /**
   * Where a float tensor's bytes lie: {@code data} in the flatbuffer, or at {@code external} (>= 0)
   * in the external data file.
   */
  private record TensorLocation(String name, long[] dims, int data, long bytes, long external) {}

  private static TensorLocation locate(FlatView v, int table, String where) {
    String name = v.string(table, TENSOR_NAME, where + " name");
    if (name == null || name.isEmpty()) {
      throw v.error(where + ": tensor without a name");
    }
    String what = "tensor " + name;
    int dataType = v.intField(table, TENSOR_DATA_TYPE, 0, what + " data_type");
    if (dataType != DATA_TYPE_FLOAT) {
      throw v.error(
          what
              + " has data_type "
              + dataType
              + " but only FLOAT ("
              + DATA_TYPE_FLOAT
              + ") is supported");
    }
    long external =
        v.longField(table, TENSOR_EXTERNAL_DATA_OFFSET, -1, what + " external_data_offset");
    long[] dims = new long[0];
    int dimsVector = v.reference(table, TENSOR_DIMS, what + " dims");
    if (dimsVector >= 0) {
      int rank = v.vectorLength(dimsVector, 8, what + " dims");
      dims = new long[rank];
      for (int d = 0; d < rank; d++) {
        dims[d] = v.longAt(dimsVector + 4L + 8L * d);
        if (dims[d] < 0) {
          throw v.error(what + " has negative dims " + Arrays.toString(dims));
        }
      }
    }
    long elements;
    try {
      elements = Tensor.elementCount(dims);
    } catch (ArithmeticException e) {
      throw v.error(what + " dims overflow: " + Arrays.toString(dims), e);
    }
    int raw = v.reference(table, TENSOR_RAW_DATA, what + " raw_data");
    if (external != -1) {
      if (raw >= 0) {
        throw v.error(what + " has both raw_data and an external_data_offset; it may have one");
      }
      v.checkExternalRange(what, external, elements * Float.BYTES);
      return new TensorLocation(name, dims, -1, elements * Float.BYTES, external);
    }
    int bytes = raw < 0 ? 0 : v.vectorLength(raw, 1, what + " raw_data");
    if (bytes != elements * Float.BYTES) {
      throw v.error(
          what
              + " has dims "
              + Arrays.toString(dims)
              + " ("
              + elements
              + " floats = "
              + elements * Float.BYTES
              + " bytes) but raw_data holds "
              + bytes
              + " bytes");
    }
    return new TensorLocation(name, dims, raw + 4, bytes, -1);
  }

  /**
   * The global L2 norm of a checkpoint file's parameters (trainable and frozen) and its first
   * non-finite value, read from the mapped file without copying any tensor onto the heap.
   *
   * @throws CheckpointException as {@link #read} does
   */
  static TrainingCheckpoint.ParameterScan scanParameters(Path file) {
    FlatView v = new FlatView(map(file), file);
    return closing(v, () -> scan(v, file));
  }

  private static TrainingCheckpoint.ParameterScan scan(FlatView v, Path file) {
    if (v.size() < 8 || !FILE_IDENTIFIER.equals(v.fileIdentifier())) {
      throw v.error("is not an ONNX Runtime training checkpoint (file identifier ODTC)");
    }
    int module = v.reference(v.root(), CHECKPOINT_MODULE_STATE, "Checkpoint.module_state");
    double sumOfSquares = 0;
    String nonFinite = null;
    if (module >= 0) {
      if (v.boolField(module, MODULE_STATE_HAS_EXTERNAL_DATA, "ModuleState.has_external_data")) {
        v.openExternalData(CheckpointWriter.dataFile(file));
      }
      for (int slot : new int[] {MODULE_STATE_REQUIRES_GRAD, MODULE_STATE_FROZEN}) {
        int vector = v.reference(module, slot, "ModuleState parameters");
        int n = vector < 0 ? 0 : v.vectorLength(vector, 4, "ModuleState parameters");
        for (int i = 0; i < n; i++) {
          TensorLocation at = locate(v, v.tableAt(vector, i, "parameter " + i), "parameter " + i);
          long count = at.bytes() / Float.BYTES;
          for (long from = 0; from < count; from += SCAN_CHUNK) {
            int chunk = (int) Math.min(SCAN_CHUNK, count - from);
            java.nio.FloatBuffer data = floats(v, at, from, chunk);
            for (int k = 0; k < chunk; k++) {
              float x = data.get(k);
              if (!Float.isFinite(x) && nonFinite == null) {
                nonFinite = at.name() + " holds " + x + " at element " + (from + k);
              }
              sumOfSquares += (double) x * x;
            }
          }
        }
      }
    }
    return new TrainingCheckpoint.ParameterScan(
        Math.sqrt(sumOfSquares), java.util.Optional.ofNullable(nonFinite));
  }

  private static String printable(String s) {
    StringBuilder out = new StringBuilder();
    for (char c : s.toCharArray()) {
      out.append(c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\x%02x", (int) c));
    }
    return out.toString();
  }
}
