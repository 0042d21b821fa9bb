package dev.im4j.onnx.train.checkpoint;

import static com.google.common.base.Preconditions.checkArgument;

import dev.im4j.onnx.model.Tensor;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * An ONNX Runtime on-device training checkpoint: parameters, optional optimizer state and a
 * property bag, in ORT's flatbuffer format.
 *
 * <p>The file format is ONNX Runtime's {@code ort_training_checkpoint.fbs} (file identifier {@code
 * ODTC}, {@code Checkpoint.version} 2; {@code onnxruntime/core/flatbuffers/schema/} in the ONNX
 * Runtime repository): a {@code ModuleState} with {@code requires_grad_params} and {@code
 * frozen_params} (both always written, possibly empty), tensors with name, int64 dims, data type
 * FLOAT (1) and little-endian raw bytes inline; optimizer groups with a step, the initial learning
 * rate and per-parameter moments; int64, float and string properties. Only float32 tensors are
 * supported, inline or in the external data file {@code <file>.data} (ONNX Runtime's form for
 * checkpoints beyond a flatbuffer's 2 GiB); a "nominal" state is rejected.
 *
 * <p>Immutable. Names are unique across trainable and frozen parameters.
 *
 * @param trainable parameters that receive gradients (the training graph must have a {@code
 *     <name>_grad.accumulation.buffer} input for each)
 * @param frozen parameters fed to the graphs but never updated
 * @param optimizerGroups optimizer state; empty means the moments start at zero
 * @param intProperties user properties stored as int64
 * @param floatProperties user properties stored as float
 * @param stringProperties user properties stored as strings
 */
public record TrainingCheckpoint(
    List<Tensor> trainable,
    List<Tensor> frozen,
    List<OptimizerGroup> optimizerGroups,
    Map<String, Long> intProperties,
    Map<String, Float> floatProperties,
    Map<String, String> stringProperties) {

  /** The only checkpoint version ONNX Runtime 1.24 accepts. */
  public static final int FORMAT_VERSION = 2;

  /** Validates and copies; throws {@link IllegalArgumentException} on duplicate names. */
  public TrainingCheckpoint {
    trainable = List.copyOf(trainable);
    frozen = List.copyOf(frozen);
    optimizerGroups = List.copyOf(optimizerGroups);
    intProperties = copy(intProperties);
    floatProperties = copy(floatProperties);
    stringProperties = copy(stringProperties);
    Set<String> names = new HashSet<>();
    for (Tensor t :
        (Iterable<Tensor>) Stream.concat(trainable.stream(), frozen.stream())::iterator) {
      checkArgument(
          names.add(t.name()),
          "parameter names must be unique across trainable and frozen but %s repeats",
          t.name());
    }
    Set<String> groups = new HashSet<>();
    for (OptimizerGroup g : optimizerGroups) {
      checkArgument(groups.add(g.name()), "duplicate optimizer group %s", g.name());
    }
  }

  /** Parameters only: no optimizer state, no properties. */
  public static TrainingCheckpoint of(List<Tensor> trainable, List<Tensor> frozen) {
    return new TrainingCheckpoint(trainable, frozen, List.of(), Map.of(), Map.of(), Map.of());
  }

  /** This checkpoint with its optimizer state replaced. */
  public TrainingCheckpoint withOptimizerGroups(List<OptimizerGroup> groups) {
    return new TrainingCheckpoint(
        trainable, frozen, groups, intProperties, floatProperties, stringProperties);
  }

  /** The trainable or frozen parameter of that name, if present. */
  public Optional<Tensor> parameter(String name) {
    return Stream.concat(trainable.stream(), frozen.stream())
        .filter(t -> t.name().equals(name))
        .findFirst();
  }

  /** The optimizer group of that name, if present. */
  public Optional<OptimizerGroup> optimizerGroup(String name) {
    return optimizerGroups.stream().filter(g -> g.name().equals(name)).findFirst();
  }

  /**
   * Reads a checkpoint file.
   *
   * @throws CheckpointException naming the file if it cannot be read, is not an ORT training
   *     checkpoint of version {@value #FORMAT_VERSION}, is malformed, or uses an unsupported
   *     feature (non-float tensors, nominal state); also if its external data file is missing,
   *     short, or a tensor's range lies outside it
   */
  public static TrainingCheckpoint read(Path file) {
    return CheckpointReader.read(file);
  }

  /**
   * The global L2 norm of a checkpoint file's parameters (trainable and frozen) and its first
   * non-finite value, read from the mapped file without copying any tensor onto the heap: what a
   * divergence check needs, at the cost of one pass over the parameters.
   *
   * @throws CheckpointException as {@link #read} does
   */
  public static ParameterScan scanParameters(Path file) {
    return CheckpointReader.scanParameters(file);
  }

  /**
   * What {@link #scanParameters} found.
   *
   * @param l2Norm the L2 norm of all parameters together (NaN or infinite if any value is)
   * @param firstNonFinite the first NaN or infinite value, as "tensor holds NaN at element k"
   */
  public record ParameterScan(double l2Norm, Optional<String> firstNonFinite) {}

  /**
   * Tensor bytes from which {@link #write(Path)} puts the tensors in an external data file: 1,800
   * MiB, ONNX Runtime's own threshold, a margin under the 2 GiB a flatbuffer can address.
   */
  public static final long DEFAULT_EXTERNAL_THRESHOLD = 1800L << 20;

  /** {@link #write(Path, long)} with {@link #DEFAULT_EXTERNAL_THRESHOLD}. */
  public void write(Path file) {
    write(file, DEFAULT_EXTERNAL_THRESHOLD);
  }

  /**
   * Writes this checkpoint to {@code file}, atomically; when its tensors hold {@code
   * externalThreshold} bytes or more, all of them (parameters and optimizer moments) go to {@code
   * <file>.data} in ONNX Runtime's external-data form (docs/runtimes.md), which ONNX Runtime loads
   * and {@link #read} reads. The temporary files are synced and renamed; an existing {@code file}
   * is removed before its data file is replaced.
   *
   * @throws CheckpointException naming the file on an I/O error
   */
  public void write(Path file, long externalThreshold) {
    CheckpointWriter.write(this, file, externalThreshold, true);
  }

  /**
   * {@link #write(Path, long)} without syncing: as atomic for other processes, but a crash of the
   * machine may leave the files incomplete. For checkpoints that are written again from their
   * source whenever they are needed, such as the initial checkpoint of training artifacts, where
   * syncing gigabytes would only delay the start.
   *
   * @throws CheckpointException naming the file on an I/O error
   */
  public void writeWithoutSync(Path file, long externalThreshold) {
    CheckpointWriter.write(this, file, externalThreshold, false);
  }

  private static <V> Map<String, V> copy(Map<String, V> map) {
    Map<String, V> copy = new LinkedHashMap<>();
    map.forEach(
        (k, v) -> {
          checkArgument(k != null && !k.isEmpty() && v != null, "property %s=%s", k, v);
          copy.put(k, v);
        });
    return Collections.unmodifiableMap(copy);
  }
}
