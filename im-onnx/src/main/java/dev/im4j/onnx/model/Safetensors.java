package dev.im4j.onnx.model;

import static com.google.common.base.Preconditions.checkArgument;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Writes safetensors files (single or sharded with an index) and reads model weights from either
 * layout.
 *
 * <p>Output is deterministic: tensors are laid out as the Rust crate does (descending dtype width
 * class, then name), the header JSON is compact with {@code __metadata__} first (keys sorted) and
 * each entry as {@code {"dtype","shape","data_offsets"}}, padded with spaces to a multiple of 8
 * bytes. Hugging Face's loader wants {@code {"format": "pt"}} in the metadata; {@link
 * #DEFAULT_METADATA} holds it.
 */
public final class Safetensors {
  /** The single-file weights name in a Hugging Face model directory. */
  public static final String SINGLE_FILE = "model.safetensors";

  /** The shard index name in a Hugging Face model directory. */
  public static final String INDEX_FILE = "model.safetensors.index.json";

  /** Metadata transformers expects in files it loads. */
  public static final Map<String, String> DEFAULT_METADATA = Map.of("format", "pt");

  private static final ObjectMapper JSON =
      JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
  private static final int ENCODE_CHUNK = 1 << 16; // elements per write buffer

  private Safetensors() {}

  /**
   * Writes {@code tensors} to one file, each in its own dtype.
   *
   * @throws SafetensorsException if the file cannot be written
   */
  public static void write(Path file, Map<String, String> metadata, Weights tensors) {
    List<Tensor> ordered = new ArrayList<>(tensors.tensors());
    ordered.sort(
        Comparator.comparingInt((Tensor t) -> -SafetensorsDTypes.writeRank(t.dtype()))
            .thenComparing(Tensor::name));
    byte[] header = header(metadata, ordered);
    if (header.length > SafetensorsFile.MAX_HEADER_BYTES) {
      throw new SafetensorsException(
          file
              + ": header would be "
              + header.length
              + " bytes, over the format's limit of "
              + SafetensorsFile.MAX_HEADER_BYTES
              + "; write fewer tensors per file (use writeSharded)");
    }
    try (FileChannel out =
        FileChannel.open(
            file,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.WRITE)) {
      ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      length.putLong(header.length).flip();
      writeFully(out, length);
      writeFully(out, ByteBuffer.wrap(header));
      ByteBuffer buffer = ByteBuffer.allocate(ENCODE_CHUNK * 4).order(ByteOrder.LITTLE_ENDIAN);
      for (Tensor t : ordered) {
        t.forEachChunk(
            (from, data, n) -> {
              for (int start = 0; start < n; start += ENCODE_CHUNK) {
                buffer.clear();
                Tensor.encode(t.dtype(), data, start, Math.min(n, start + ENCODE_CHUNK), buffer);
                buffer.flip();
                try {
                  writeFully(out, buffer);
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              }
            });
      }
      out.force(true);
    } catch (IOException | UncheckedIOException e) {
      throw new SafetensorsException(file + ": cannot be written: " + e, e);
    }
  }

  private static void writeFully(FileChannel out, ByteBuffer buffer) throws IOException {
    while (buffer.hasRemaining()) {
      out.write(buffer);
    }
  }

  /** The padded header for tensors in the given (file) order. */
  static byte[] header(Map<String, String> metadata, List<Tensor> ordered) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (JsonGenerator g = new JsonFactory().createGenerator(bytes, JsonEncoding.UTF8)) {
      g.writeStartObject();
      if (!metadata.isEmpty()) {
        g.writeObjectFieldStart(SafetensorsFile.METADATA_KEY);
        for (Map.Entry<String, String> e : new TreeMap<>(metadata).entrySet()) {
          g.writeStringField(e.getKey(), e.getValue());
        }
        g.writeEndObject();
      }
      long offset = 0;
      for (Tensor t : ordered) {
        long size = (long) t.numel() * t.dtype().byteSize();
        g.writeObjectFieldStart(t.name());
        g.writeStringField("dtype", SafetensorsDTypes.code(t.dtype()));
        g.writeArrayFieldStart("shape");
        for (long d : t.shape()) {
          g.writeNumber(d);
        }
        g.writeEndArray();
        g.writeArrayFieldStart("data_offsets");
        g.writeNumber(offset);
        g.writeNumber(offset + size);
        g.writeEndArray();
        g.writeEndObject();
        offset += size;
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new IllegalStateException("in-memory JSON generation failed", e);
    }
    while (bytes.size() % 8 != 0) {
      bytes.write(' ');
    }
    return bytes.toByteArray();
  }

  /**
   * Writes {@code weights} into {@code dir} as Hugging Face does: one {@value #SINGLE_FILE} if the
   * data fit in {@code maxShardBytes}, else {@code model-00001-of-0000N.safetensors} shards filled
   * greedily in name order (a tensor larger than the limit gets a shard of its own) and {@value
   * #INDEX_FILE} with {@code metadata.total_size} (data bytes) and {@code weight_map}.
   *
   * <p>{@code dir} should hold no other weights: stale shards or index files are not removed, and
   * an old single file would shadow a new index. {@link ModelDirectory#save} writes into a fresh
   * directory.
   *
   * @return the files written, relative names
   * @throws IllegalArgumentException if {@code maxShardBytes <= 0}
   * @throws SafetensorsException if a file cannot be written
   */
  public static List<String> writeSharded(
      Path dir, Map<String, String> metadata, Weights weights, long maxShardBytes) {
    checkArgument(
        maxShardBytes > 0,
        "maxShardBytes must be > 0 but was %s; Hugging Face's default is 5 GB (5000000000)",
        maxShardBytes);
    List<List<Tensor>> shards = new ArrayList<>();
    List<Tensor> current = new ArrayList<>();
    long currentBytes = 0;
    long total = 0;
    for (Tensor t : weights.tensors()) {
      long size = (long) t.numel() * t.dtype().byteSize();
      total += size;
      if (!current.isEmpty() && currentBytes + size > maxShardBytes) {
        shards.add(current);
        current = new ArrayList<>();
        currentBytes = 0;
      }
      current.add(t);
      currentBytes += size;
    }
    if (!current.isEmpty() || shards.isEmpty()) {
      shards.add(current);
    }
    if (shards.size() == 1) {
      write(dir.resolve(SINGLE_FILE), metadata, weights);
      return List.of(SINGLE_FILE);
    }
    List<String> written = new ArrayList<>();
    Map<String, String> weightMap = new TreeMap<>();
    for (int i = 0; i < shards.size(); i++) {
      String name = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
      write(dir.resolve(name), metadata, Weights.of(shards.get(i)));
      written.add(name);
      for (Tensor t : shards.get(i)) {
        weightMap.put(t.name(), name);
      }
    }
    writeIndex(dir.resolve(INDEX_FILE), total, weightMap);
    written.add(INDEX_FILE);
    return written;
  }

  /** Writes the index as transformers does ({@code json.dumps(indent=2, sort_keys=True)}). */
  private static void writeIndex(Path file, long totalSize, Map<String, String> weightMap) {
    StringBuilder b = new StringBuilder();
    b.append("{\n  \"metadata\": {\n    \"total_size\": ").append(totalSize).append("\n  },\n");
    b.append("  \"weight_map\": {");
    String separator = "\n";
    try {
      for (Map.Entry<String, String> e : weightMap.entrySet()) {
        b.append(separator)
            .append("    ")
            .append(JSON.writeValueAsString(e.getKey()))
            .append(": ")
            .append(JSON.writeValueAsString(e.getValue()));
        separator = ",\n";
      }
    } catch (IOException e) {
      throw new IllegalStateException("string escaping failed", e);
    }
    b.append("\n  }\n}\n");
    try {
      Files.writeString(file, b);
    } catch (IOException e) {
      throw new SafetensorsException(file + ": cannot be written: " + e, e);
    }
  }

  /**
   * Reads all weights of a model directory, looking where transformers looks: {@value #SINGLE_FILE}
   * first, else {@value #INDEX_FILE} and its shards.
   *
   * @throws SafetensorsException if neither exists, a file is malformed, the index names a missing
   *     shard, a tensor is in no shard or in two, or a shard holds a tensor the index does not map
   *     to it
   */
  public static Weights readDirectory(Path dir) {
    Path single = dir.resolve(SINGLE_FILE);
    if (Files.isRegularFile(single)) {
      try (SafetensorsFile f = SafetensorsFile.open(single)) {
        return f.readAll();
      }
    }
    Path index = dir.resolve(INDEX_FILE);
    if (Files.isRegularFile(index)) {
      return readSharded(index);
    }
    String pickle =
        Files.exists(dir.resolve("pytorch_model.bin"))
                || Files.exists(dir.resolve("pytorch_model.bin.index.json"))
            ? " (pytorch_model.bin is pickle, which im4j does not read: convert it to safetensors)"
            : "";
    throw new SafetensorsException(
        dir
            + ": has neither "
            + SINGLE_FILE
            + " nor "
            + INDEX_FILE
            + pickle
            + "; save the weights first");
  }

  /** Reads a sharded checkpoint through its index file. */
  public static Weights readSharded(Path indexFile) {
    Map<String, String> weightMap = readIndex(indexFile);
    Map<String, List<String>> byShard = new TreeMap<>();
    for (Map.Entry<String, String> e : weightMap.entrySet()) {
      byShard.computeIfAbsent(e.getValue(), k -> new ArrayList<>()).add(e.getKey());
    }
    Path dir = indexFile.toAbsolutePath().getParent();
    List<Tensor> tensors = new ArrayList<>();
    for (Map.Entry<String, List<String>> shard : byShard.entrySet()) {
      Path file = dir.resolve(shard.getKey());
      if (!Files.isRegularFile(file)) {
        throw new SafetensorsException(
            indexFile
                + ": field \"weight_map\" names shard \""
                + shard.getKey()
                + "\" (for tensor \""
                + shard.getValue().get(0)
                + "\") but "
                + file
                + " does not exist; copy the missing shard or fix the index");
      }
      try (SafetensorsFile f = SafetensorsFile.open(file)) {
        TreeSet<String> inFile = new TreeSet<>();
        for (TensorInfo t : f.tensors()) {
          inFile.add(t.name());
        }
        TreeSet<String> mapped = new TreeSet<>(shard.getValue());
        TreeSet<String> missing = new TreeSet<>(mapped);
        missing.removeAll(inFile);
        TreeSet<String> unmapped = new TreeSet<>(inFile);
        unmapped.removeAll(mapped);
        if (!missing.isEmpty() || !unmapped.isEmpty()) {
          throw new SafetensorsException(
              indexFile
                  + ": field \"weight_map\" disagrees with shard "
                  + file
                  + ": mapped there but absent "
                  + missing
                  + ", present but mapped elsewhere or not at all "
                  + unmapped
                  + "; regenerate the index");
        }
        for (String name : mapped) {
          tensors.add(f.tensor(name));
        }
      }
    }
    return Weights.of(tensors);
  }

  /** Parses and validates {@code weight_map} of an index file. */
  static Map<String, String> readIndex(Path indexFile) {
    JsonNode root;
    try (var parser = JSON.createParser(indexFile.toFile())) {
      root = JSON.readTree(parser);
    } catch (IOException e) {
      String message =
          e instanceof com.fasterxml.jackson.core.JsonProcessingException j
              ? j.getOriginalMessage()
              : e.toString();
      if (message != null && message.startsWith("Duplicate field")) {
        throw new SafetensorsException(
            indexFile + ": repeats a key (" + message + "); each tensor must be mapped once", e);
      }
      throw new SafetensorsException(indexFile + ": not valid JSON: " + message, e);
    }
    if (root == null || !root.isObject()) {
      throw new SafetensorsException(indexFile + ": expected a JSON object at the top level");
    }
    JsonNode map = root.get("weight_map");
    if (map == null || !map.isObject()) {
      throw new SafetensorsException(
          indexFile + ": field \"weight_map\" must be an object of tensor name to shard file");
    }
    Map<String, String> out = new LinkedHashMap<>();
    Map<String, Boolean> shardNamesChecked = new HashMap<>();
    for (Map.Entry<String, JsonNode> e : map.properties()) {
      if (!e.getValue().isTextual()) {
        throw new SafetensorsException(
            indexFile
                + ": field \"weight_map."
                + e.getKey()
                + "\" must be a shard file name but is "
                + e.getValue());
      }
      String shard = e.getValue().textValue();
      if (shardNamesChecked.putIfAbsent(shard, Boolean.TRUE) == null
          && (shard.isEmpty()
              || shard.contains("/")
              || shard.contains("\\")
              || shard.equals(".")
              || shard.equals(".."))) {
        throw new SafetensorsException(
            indexFile
                + ": field \"weight_map."
                + e.getKey()
                + "\": shard \""
                + shard
                + "\" must be a plain file name in the same directory");
      }
      out.put(e.getKey(), shard);
    }
    return out;
  }
}
