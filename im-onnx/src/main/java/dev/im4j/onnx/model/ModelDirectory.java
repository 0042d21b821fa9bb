package dev.im4j.onnx.model;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.io.MoreFiles;
import dev.im4j.onnx.graph.DType;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * A Hugging Face model directory in memory: {@code config.json}, the weights ({@value
 * Safetensors#SINGLE_FILE} or shards with {@value Safetensors#INDEX_FILE}) and the tokenizer and
 * generation files, which are carried as bytes and written back unchanged.
 *
 * <p>Immutable and thread-safe. The weights always match the config ({@link
 * CausalLmParameters#validate}). {@link #load} reads every weight into float32 heap arrays (4 bytes
 * per parameter, whatever the stored dtype); use {@link SafetensorsFile} to read tensors one at a
 * time from large checkpoints.
 */
public final class ModelDirectory {
  /** Files copied through unchanged when present, beside config.json and the weights. */
  public static final List<String> AUXILIARY_FILES =
      List.of(
          "tokenizer.json",
          "tokenizer_config.json",
          "special_tokens_map.json",
          "generation_config.json",
          "chat_template.jinja",
          "added_tokens.json",
          "tokenizer.model",
          "vocab.json",
          "merges.txt");

  /** Hugging Face's default largest shard: 5 GB. */
  public static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L;

  private final CausalLmConfig config;
  private final Weights weights;
  private final Map<String, byte[]> auxiliary; // never exposed; copies handed out

  private ModelDirectory(CausalLmConfig config, Weights weights, Map<String, byte[]> auxiliary) {
    this.config = config;
    this.weights = weights;
    this.auxiliary = auxiliary;
  }

  /**
   * A model from parts; {@code auxiliaryFiles} maps names from {@link #AUXILIARY_FILES} to their
   * bytes (copied).
   *
   * @throws IllegalArgumentException for an auxiliary name not in {@link #AUXILIARY_FILES}
   * @throws SafetensorsException if the weights do not match the config
   */
  public static ModelDirectory of(
      CausalLmConfig config, Weights weights, Map<String, byte[]> auxiliaryFiles) {
    checkNotNull(config, "config must not be null");
    checkNotNull(weights, "weights must not be null");
    Map<String, byte[]> aux = new TreeMap<>();
    for (Map.Entry<String, byte[]> e : auxiliaryFiles.entrySet()) {
      checkArgument(
          AUXILIARY_FILES.contains(e.getKey()),
          "auxiliary file %s is not one of %s",
          e.getKey(),
          AUXILIARY_FILES);
      aux.put(e.getKey(), e.getValue().clone());
    }
    Weights checked = CausalLmParameters.validate(config, weights, "weights");
    return new ModelDirectory(config, checked, Collections.unmodifiableMap(aux));
  }

  /**
   * Loads {@code dir}: config.json, the weights (sharded if the index exists) and any auxiliary
   * files.
   *
   * @throws ModelConfigException if config.json is missing or invalid
   * @throws SafetensorsException if the weights are missing, malformed, or do not match the config
   */
  public static ModelDirectory load(Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new SafetensorsException(
          dir + ": not a directory; expected a Hugging Face model directory");
    }
    CausalLmConfig config = CausalLmConfig.read(dir.resolve(CausalLmConfig.FILE_NAME));
    Weights raw = Safetensors.readDirectory(dir);
    Weights weights = CausalLmParameters.validate(config, raw, dir.toString());
    Map<String, byte[]> aux = new TreeMap<>();
    for (String name : AUXILIARY_FILES) {
      Path file = dir.resolve(name);
      if (Files.isRegularFile(file)) {
        try {
          aux.put(name, Files.readAllBytes(file));
        } catch (IOException e) {
          throw new SafetensorsException(file + ": cannot be read: " + e, e);
        }
      }
    }
    return new ModelDirectory(config, weights, Collections.unmodifiableMap(aux));
  }

  public CausalLmConfig config() {
    return config;
  }

  /** Weights under canonical names (see {@link CausalLmParameters#validate}). */
  public Weights weights() {
    return weights;
  }

  /** Names of the auxiliary files present. */
  public Set<String> auxiliaryFileNames() {
    return auxiliary.keySet();
  }

  /** A copy of an auxiliary file's bytes, if present. */
  public Optional<byte[]> auxiliaryFile(String name) {
    byte[] bytes = auxiliary.get(name);
    return bytes == null ? Optional.empty() : Optional.of(bytes.clone());
  }

  /** The same model with other weights (validated against the config). */
  public ModelDirectory withWeights(Weights newWeights) {
    return new ModelDirectory(
        config, CausalLmParameters.validate(config, newWeights, "weights"), auxiliary);
  }

  /**
   * The same model with every weight stored as {@code dtype} ({@link DType#FLOAT}, {@link
   * DType#FLOAT16} or {@link DType#BFLOAT16}; narrowing rounds to nearest even) and config.json's
   * {@code torch_dtype} naming it, as Hugging Face writes a model saved in that precision.
   */
  public ModelDirectory withDtype(DType dtype) {
    String torchDtype =
        switch (dtype) {
          case FLOAT -> "float32";
          case FLOAT16 -> "float16";
          case BFLOAT16 -> "bfloat16";
          default ->
              throw new IllegalArgumentException(
                  "weights are stored as FLOAT, FLOAT16 or BFLOAT16, not " + dtype);
        };
    return new ModelDirectory(
        config.withTorchDtype(torchDtype),
        CausalLmParameters.validate(config, weights.withDtype(dtype), "weights"),
        auxiliary);
  }

  /** {@link #save(Path, long)} with {@link #DEFAULT_MAX_SHARD_BYTES}. */
  public void save(Path target) {
    save(target, DEFAULT_MAX_SHARD_BYTES);
  }

  /**
   * Writes the directory atomically: everything goes to a fresh sibling directory, each file and
   * the directory are fsynced, then it is renamed to {@code target}. An existing {@code target} is
   * first renamed aside and deleted after the new one is in place, so a reader sees the old or the
   * new directory, never a mix (there is a moment with neither). Needs a POSIX file system (the
   * directory fsync).
   *
   * @throws SafetensorsException if anything cannot be written; the temporary directory is removed
   */
  public void save(Path target, long maxShardBytes) {
    Path absolute = target.toAbsolutePath().normalize();
    Path parent = absolute.getParent();
    checkArgument(parent != null, "target %s has no parent directory", target);
    Path temp;
    try {
      Files.createDirectories(parent);
      deleteStaleTemporaries(absolute);
      temp = Files.createTempDirectory(parent, "." + absolute.getFileName() + ".tmp-");
    } catch (IOException e) {
      throw new SafetensorsException(
          target + ": cannot create a temporary directory beside it: " + e, e);
    }
    try {
      writeInto(temp, maxShardBytes);
      fsync(temp);
      Path old = null;
      if (Files.exists(absolute)) {
        old = parent.resolve("." + absolute.getFileName() + ".old-" + System.nanoTime());
        move(absolute, old);
      }
      move(temp, absolute);
      fsync(parent);
      if (old != null) {
        deleteTree(old);
      }
    } catch (IOException | RuntimeException e) {
      try {
        if (Files.exists(temp)) {
          deleteTree(temp);
        }
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      if (e instanceof SafetensorsException s) {
        throw s;
      }
      throw new SafetensorsException(target + ": cannot be saved: " + e, e);
    }
  }

  /**
   * Deletes the temporary siblings ({@code .<name>.tmp-*}, {@code .<name>.old-*}) that a {@link
   * #save} of {@code target} killed midway left behind; {@link #save} does this itself first.
   *
   * @throws SafetensorsException if one cannot be deleted
   */
  public static void deleteStaleTemporaries(Path target) {
    Path absolute = target.toAbsolutePath().normalize();
    Path parent = absolute.getParent();
    if (parent == null || !Files.isDirectory(parent)) {
      return;
    }
    String tmp = "." + absolute.getFileName() + ".tmp-";
    String old = "." + absolute.getFileName() + ".old-";
    try (java.util.stream.Stream<Path> s = Files.list(parent)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        String name = p.getFileName().toString();
        if (name.startsWith(tmp) || name.startsWith(old)) {
          deleteTree(p);
        }
      }
    } catch (IOException e) {
      throw new SafetensorsException(
          target + ": cannot delete temporaries left beside it by an earlier save: " + e, e);
    }
  }

  private void writeInto(Path dir, long maxShardBytes) throws IOException {
    Path configFile = dir.resolve(CausalLmConfig.FILE_NAME);
    config.write(configFile);
    fsync(configFile);
    for (String name :
        Safetensors.writeSharded(dir, Safetensors.DEFAULT_METADATA, weights, maxShardBytes)) {
      fsync(dir.resolve(name));
    }
    for (Map.Entry<String, byte[]> e : auxiliary.entrySet()) {
      Path file = dir.resolve(e.getKey());
      Files.write(file, e.getValue());
      fsync(file);
    }
  }

  private static void move(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      throw new IOException(
          "cannot rename " + from + " to " + to + " atomically; save onto the same file system", e);
    }
  }

  private static void fsync(Path path) throws IOException {
    try (FileChannel c = FileChannel.open(path, StandardOpenOption.READ)) {
      c.force(true);
    }
  }

  /** Deletes root and everything below it (links are deleted, not followed); absent is fine. */
  private static void deleteTree(Path root) throws IOException {
    if (Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
      MoreFiles.deleteRecursively(root);
    }
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof ModelDirectory m)) {
      return false;
    }
    if (!config.equals(m.config) || !weights.equals(m.weights)) {
      return false;
    }
    if (!auxiliary.keySet().equals(m.auxiliary.keySet())) {
      return false;
    }
    for (Map.Entry<String, byte[]> e : auxiliary.entrySet()) {
      if (!java.util.Arrays.equals(e.getValue(), m.auxiliary.get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }

  @Override
  public int hashCode() {
    return config.hashCode() * 31 + weights.hashCode();
  }

  @Override
  public String toString() {
    return "ModelDirectory["
        + config.modelType().hfName()
        + ", "
        + weights.size()
        + " tensors, "
        + auxiliary.keySet()
        + "]";
  }
}
