package dev.im4j.onnx.model;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkState;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.im4j.onnx.graph.DType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An open, fully validated safetensors file whose tensors are read through memory maps.
 *
 * <p>Format: an 8-byte little-endian header length N, N bytes of UTF-8 JSON (an object mapping each
 * tensor name to {@code {"dtype", "shape", "data_offsets": [begin, end]}}, plus an optional {@code
 * "__metadata__"} object of strings), then the byte buffer. {@link #open} checks everything before
 * allocating anything proportional to the data, following the rules of the reference Rust crate:
 * the header is at most {@value #MAX_HEADER_BYTES} bytes and fits in the file; it is a JSON object
 * without duplicate keys; every dtype is known; shapes are non-negative and their byte sizes do not
 * overflow; {@code end - begin == numel * dtype size}; sorted by offsets, the tensors tile the
 * buffer exactly, from 0 to its end, with no gap and no overlap (zero-size tensors allowed). Two
 * rules are stricter than the crate's: a repeated key (the crate keeps the last) and an empty
 * tensor name are rejected. Unknown keys inside a tensor entry are ignored, as the crate does.
 *
 * <p>Tensors are mapped in chunks below 2 GiB, so files and tensors may exceed 2 GiB; a float array
 * still holds at most {@link #MAX_ARRAY_ELEMENTS} elements.
 *
 * <p>Thread-safe for reads; {@link #close()} is idempotent.
 */
public final class SafetensorsFile implements AutoCloseable {
  /** Largest header accepted, as the Rust crate: 100 MB. */
  public static final long MAX_HEADER_BYTES = 100_000_000L;

  /** Largest number of elements {@link #floats} can return (a Java array limit). */
  public static final int MAX_ARRAY_ELEMENTS = Integer.MAX_VALUE - 8;

  static final String METADATA_KEY = "__metadata__";
  private static final long CHUNK_BYTES = 1L << 30; // a multiple of every dtype size

  private static final ObjectMapper JSON =
      JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

  private final Path path;
  private final FileChannel channel;
  private final long dataStart;
  private final List<TensorInfo> tensors; // sorted by offsets
  private final Map<String, TensorInfo> byName;
  private final Map<String, String> metadata;
  private final long chunkBytes;
  private final AtomicBoolean closed = new AtomicBoolean();

  private SafetensorsFile(
      Path path,
      FileChannel channel,
      long dataStart,
      List<TensorInfo> tensors,
      Map<String, String> metadata,
      long chunkBytes) {
    this.path = path;
    this.chunkBytes = chunkBytes;
    this.channel = channel;
    this.dataStart = dataStart;
    this.tensors = List.copyOf(tensors);
    Map<String, TensorInfo> names = new TreeMap<>();
    for (TensorInfo t : tensors) {
      names.put(t.name(), t);
    }
    this.byName = Collections.unmodifiableMap(names);
    this.metadata = Collections.unmodifiableMap(metadata);
  }

  /**
   * Opens and validates a safetensors file.
   *
   * @throws SafetensorsException naming the file and the problem if it cannot be read or is
   *     malformed
   */
  public static SafetensorsFile open(Path path) {
    return open(path, CHUNK_BYTES);
  }

  /** As {@link #open(Path)}, mapping at most {@code chunkBytes} (a multiple of 8) at a time. */
  static SafetensorsFile open(Path path, long chunkBytes) {
    checkArgument(
        chunkBytes > 0 && chunkBytes % 8 == 0 && chunkBytes <= Integer.MAX_VALUE,
        "chunkBytes must be a positive multiple of 8 below 2^31 but was %s",
        chunkBytes);
    FileChannel channel;
    try {
      channel = FileChannel.open(path, StandardOpenOption.READ);
    } catch (IOException e) {
      throw new SafetensorsException(path + ": cannot be opened: " + e, e);
    }
    try {
      long size = channel.size();
      if (size < 8) {
        throw fail(path, "file is " + size + " bytes, shorter than the 8-byte header length");
      }
      ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(channel, lengthBytes, 0, path);
      long n = lengthBytes.getLong(0); // u64: negative means >= 2^63
      if (n < 0 || n > MAX_HEADER_BYTES) {
        throw fail(
            path,
            "header length "
                + Long.toUnsignedString(n)
                + " exceeds the limit of "
                + MAX_HEADER_BYTES
                + " bytes; the file is not safetensors or is corrupt");
      }
      if (n > size - 8) {
        throw fail(
            path,
            "header length "
                + n
                + " exceeds the "
                + (size - 8)
                + " bytes after the length field; the file is truncated or corrupt");
      }
      ByteBuffer header = ByteBuffer.allocate((int) n);
      readFully(channel, header, 8, path);
      Parsed parsed = parseHeader(path, header.array(), size - 8 - n);
      return new SafetensorsFile(path, channel, 8 + n, parsed.tensors, parsed.metadata, chunkBytes);
    } catch (IOException e) {
      closeQuietly(channel, e);
      throw new SafetensorsException(path + ": cannot be read: " + e, e);
    } catch (RuntimeException e) {
      closeQuietly(channel, e);
      throw e;
    }
  }

  private static void closeQuietly(FileChannel channel, Exception primary) {
    try {
      channel.close();
    } catch (IOException suppressed) {
      primary.addSuppressed(suppressed);
    }
  }

  private record Parsed(List<TensorInfo> tensors, Map<String, String> metadata) {}

  /** Validates a header; {@code bufferBytes} is the size of the byte buffer after it. */
  static Parsed parseHeader(Path path, byte[] header, long bufferBytes) {
    String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(header))
              .toString();
    } catch (CharacterCodingException e) {
      throw fail(path, "header is not valid UTF-8 (" + e + ")");
    }
    JsonNode root;
    try (JsonParser parser = JSON.createParser(text)) {
      root = JSON.readTree(parser);
      if (root != null && parser.nextToken() != null) {
        throw fail(path, "header has text after its JSON object");
      }
    } catch (JsonProcessingException e) {
      String message = e.getOriginalMessage();
      if (message != null && message.startsWith("Duplicate field")) {
        throw fail(
            path, "header repeats a key (" + message + "); each tensor name must appear once");
      }
      throw fail(path, "header is not valid JSON: " + message);
    } catch (IOException e) {
      throw fail(path, "header is not valid JSON: " + e);
    }
    if (root == null || !root.isObject()) {
      throw fail(path, "header must be a JSON object but is " + describe(root));
    }
    Map<String, String> metadata = new LinkedHashMap<>();
    List<TensorInfo> tensors = new ArrayList<>();
    for (Map.Entry<String, JsonNode> field : root.properties()) {
      String name = field.getKey();
      JsonNode value = field.getValue();
      if (name.equals(METADATA_KEY)) {
        readMetadata(path, value, metadata);
      } else if (name.isEmpty()) {
        // The Rust crate accepts "", but no framework names a parameter so; im4j's Tensor needs a
        // name, and failing here keeps every bad input a SafetensorsException.
        throw fail(path, "a tensor has an empty name; rename it in the writing program");
      } else {
        tensors.add(readEntry(path, name, value, bufferBytes));
      }
    }
    tensors.sort(
        Comparator.comparingLong(TensorInfo::begin)
            .thenComparingLong(TensorInfo::end)
            .thenComparing(TensorInfo::name));
    long expectedBegin = 0;
    TensorInfo previous = null;
    for (TensorInfo t : tensors) {
      if (t.begin() < expectedBegin) {
        throw fail(
            path,
            "tensor \""
                + t.name()
                + "\": data_offsets ["
                + t.begin()
                + ", "
                + t.end()
                + "] overlap tensor \""
                + previous.name()
                + "\" at ["
                + previous.begin()
                + ", "
                + previous.end()
                + "]; tensors must not share bytes");
      }
      if (t.begin() > expectedBegin) {
        throw fail(
            path,
            "tensor \""
                + t.name()
                + "\": data_offsets begin at "
                + t.begin()
                + " but the previous tensor ends at "
                + expectedBegin
                + "; tensors must cover the byte buffer contiguously from 0 without gaps");
      }
      expectedBegin = t.end();
      previous = t;
    }
    if (expectedBegin != bufferBytes) {
      throw fail(
          path,
          "tensors cover "
              + expectedBegin
              + " bytes but the byte buffer after the header is "
              + bufferBytes
              + " bytes; the file is truncated or has trailing bytes");
    }
    return new Parsed(tensors, metadata);
  }

  private static void readMetadata(Path path, JsonNode value, Map<String, String> out) {
    if (value.isNull()) {
      return; // the Rust crate reads null as no metadata
    }
    if (!value.isObject()) {
      throw fail(
          path, "field \"__metadata__\" must be an object of strings but is " + describe(value));
    }
    for (Map.Entry<String, JsonNode> e : value.properties()) {
      if (!e.getValue().isTextual()) {
        throw fail(
            path,
            "field \"__metadata__."
                + e.getKey()
                + "\" must be a string but is "
                + describe(e.getValue()));
      }
      out.put(e.getKey(), e.getValue().textValue());
    }
  }

  private static TensorInfo readEntry(Path path, String name, JsonNode entry, long bufferBytes) {
    String where = "tensor \"" + name + "\"";
    if (!entry.isObject()) {
      throw fail(path, where + ": must be an object but is " + describe(entry));
    }
    JsonNode dtypeNode = entry.get("dtype");
    if (dtypeNode == null || !dtypeNode.isTextual()) {
      throw fail(path, where + ": field \"dtype\" must be a string but is " + describe(dtypeNode));
    }
    String code = dtypeNode.textValue();
    DType dtype =
        SafetensorsDTypes.fromCode(code)
            .orElseThrow(
                () ->
                    fail(
                        path,
                        where
                            + ": field \"dtype\": unsupported value \""
                            + code
                            + "\"; supported: "
                            + SafetensorsDTypes.supportedCodes()));
    JsonNode shapeNode = entry.get("shape");
    if (shapeNode == null || !shapeNode.isArray()) {
      throw fail(path, where + ": field \"shape\" must be an array but is " + describe(shapeNode));
    }
    long[] shape = new long[shapeNode.size()];
    long numel = 1;
    for (int i = 0; i < shape.length; i++) {
      shape[i] = nonNegativeLong(path, where + ": field \"shape[" + i + "]\"", shapeNode.get(i));
      try {
        numel = Math.multiplyExact(numel, shape[i]);
      } catch (ArithmeticException e) {
        throw fail(
            path,
            where + ": shape " + shapeNode + " has more elements than a 64-bit count can hold");
      }
    }
    long expectedBytes;
    try {
      expectedBytes = Math.multiplyExact(numel, (long) dtype.byteSize());
    } catch (ArithmeticException e) {
      throw fail(path, where + ": shape " + shapeNode + " overflows a 64-bit byte count");
    }
    JsonNode offsets = entry.get("data_offsets");
    if (offsets == null || !offsets.isArray() || offsets.size() != 2) {
      throw fail(
          path,
          where + ": field \"data_offsets\" must be [begin, end] but is " + describe(offsets));
    }
    long begin = nonNegativeLong(path, where + ": field \"data_offsets[0]\"", offsets.get(0));
    long end = nonNegativeLong(path, where + ": field \"data_offsets[1]\"", offsets.get(1));
    if (begin > end || end > bufferBytes) {
      throw fail(
          path,
          where
              + ": data_offsets ["
              + begin
              + ", "
              + end
              + "] out of range; allowed 0 <= begin <= end <= "
              + bufferBytes
              + " (the byte buffer size)");
    }
    if (end - begin != expectedBytes) {
      throw fail(
          path,
          where
              + ": data_offsets ["
              + begin
              + ", "
              + end
              + "] span "
              + (end - begin)
              + " bytes but dtype "
              + code
              + " and shape "
              + shapeNode
              + " need "
              + expectedBytes);
    }
    return new TensorInfo(name, dtype, shape, begin, end);
  }

  private static long nonNegativeLong(Path path, String where, JsonNode node) {
    if (node == null || !node.isIntegralNumber()) {
      throw fail(path, where + " must be a non-negative integer but is " + describe(node));
    }
    if (!node.canConvertToLong() || node.longValue() < 0) {
      throw fail(
          path,
          where + " must be a non-negative integer below 2^63 but is " + node.bigIntegerValue());
    }
    return node.longValue();
  }

  private static String describe(JsonNode node) {
    if (node == null || node.isMissingNode()) {
      return "missing";
    }
    String text = node.toString();
    return node.getNodeType().name().toLowerCase(java.util.Locale.ROOT)
        + " "
        + (text.length() > 80 ? text.substring(0, 80) + "..." : text);
  }

  private static SafetensorsException fail(Path path, String problem) {
    return new SafetensorsException(path + ": " + problem);
  }

  private static void readFully(FileChannel channel, ByteBuffer into, long position, Path path)
      throws IOException {
    long at = position;
    while (into.hasRemaining()) {
      int read = channel.read(into, at);
      if (read < 0) {
        throw fail(path, "file ended while reading the header at byte " + at);
      }
      at += read;
    }
  }

  public Path path() {
    return path;
  }

  /** Tensors in file order (by offsets). */
  public List<TensorInfo> tensors() {
    return tensors;
  }

  /** The {@code __metadata__} entries, in header order (empty if absent). */
  public Map<String, String> metadata() {
    return metadata;
  }

  public Optional<TensorInfo> find(String name) {
    return Optional.ofNullable(byName.get(name));
  }

  /**
   * The header entry of {@code name}.
   *
   * @throws SafetensorsException if the file has no such tensor
   */
  public TensorInfo info(String name) {
    TensorInfo t = byName.get(name);
    if (t == null) {
      throw fail(path, "no tensor named \"" + name + "\"");
    }
    return t;
  }

  /**
   * The raw little-endian bytes of a tensor (any dtype), copied.
   *
   * @throws SafetensorsException if it does not exist, is 2 GiB or larger, or cannot be read
   */
  public byte[] bytes(String name) {
    TensorInfo t = info(name);
    if (t.byteSize() > MAX_ARRAY_ELEMENTS) {
      throw fail(
          path, "tensor \"" + name + "\" has " + t.byteSize() + " bytes, too many for one array");
    }
    byte[] out = new byte[(int) t.byteSize()];
    int at = 0;
    for (long off = 0; off < t.byteSize(); off += chunkBytes) {
      ByteBuffer chunk = map(t, off, Math.min(chunkBytes, t.byteSize() - off));
      int len = chunk.remaining();
      chunk.get(out, at, len);
      at += len;
    }
    return out;
  }

  /**
   * The values of a floating tensor as float32 (F16 and BF16 widen exactly), row-major.
   *
   * @throws SafetensorsException if it does not exist, is not F32/F16/BF16, has more than {@link
   *     #MAX_ARRAY_ELEMENTS} elements, or cannot be read
   */
  public float[] floats(String name) {
    TensorInfo t = info(name);
    if (!SafetensorsDTypes.isWeight(t.dtype())) {
      throw fail(
          path,
          "tensor \""
              + name
              + "\" has dtype "
              + SafetensorsDTypes.code(t.dtype())
              + "; only F32, F16 and BF16 convert to float32");
    }
    long numel = t.numel();
    if (numel > MAX_ARRAY_ELEMENTS) {
      throw fail(
          path,
          "tensor \""
              + name
              + "\" has "
              + numel
              + " elements; a float array holds at most "
              + MAX_ARRAY_ELEMENTS);
    }
    float[] out = new float[(int) numel];
    int at = 0;
    for (long off = 0; off < t.byteSize(); off += chunkBytes) {
      ByteBuffer chunk = map(t, off, Math.min(chunkBytes, t.byteSize() - off));
      switch (t.dtype()) {
        case FLOAT -> {
          int n = chunk.remaining() / 4;
          chunk.asFloatBuffer().get(out, at, n);
          at += n;
        }
        case FLOAT16 -> {
          while (chunk.hasRemaining()) {
            out[at++] = HalfFloats.f16ToF32(chunk.getShort());
          }
        }
        case BFLOAT16 -> {
          while (chunk.hasRemaining()) {
            out[at++] = HalfFloats.bf16ToF32(chunk.getShort());
          }
        }
        default -> throw new IllegalStateException("unexpected floating dtype " + t.dtype());
      }
    }
    return out;
  }

  /**
   * A floating tensor as a {@link Tensor} keeping its dtype, backed by this file: nothing is read
   * now, and its values are read (F16 and BF16 widened chunk by chunk) whenever they are used, also
   * after this file object is closed; the file must stay unchanged meanwhile.
   *
   * @throws SafetensorsException if it does not exist, is not F32/F16/BF16, or has more than {@link
   *     #MAX_ARRAY_ELEMENTS} elements
   */
  public Tensor tensor(String name) {
    TensorInfo t = info(name);
    if (!SafetensorsDTypes.isWeight(t.dtype())) {
      throw fail(
          path,
          "tensor \""
              + name
              + "\" has dtype "
              + SafetensorsDTypes.code(t.dtype())
              + "; only F32, F16 and BF16 convert to float32");
    }
    if (t.numel() > MAX_ARRAY_ELEMENTS) {
      throw fail(
          path,
          "tensor \""
              + name
              + "\" has "
              + t.numel()
              + " elements; a tensor holds at most "
              + MAX_ARRAY_ELEMENTS);
    }
    checkState(!closed.get(), "%s is closed", path);
    return Tensor.inFile(
        name, t.dtype(), t.shape(), path.toAbsolutePath(), dataStart + t.begin(), t.dtype());
  }

  /** Every tensor (all must be floating), backed by this file as {@link #tensor} is. */
  public Weights readAll() {
    List<Tensor> out = new ArrayList<>(tensors.size());
    for (TensorInfo t : tensors) {
      out.add(tensor(t.name()));
    }
    return Weights.of(out);
  }

  private ByteBuffer map(TensorInfo t, long offset, long length) {
    checkState(!closed.get(), "%s is closed", path);
    if (length == 0) {
      return ByteBuffer.allocate(0).order(ByteOrder.LITTLE_ENDIAN);
    }
    try {
      MappedByteBuffer m =
          channel.map(FileChannel.MapMode.READ_ONLY, dataStart + t.begin() + offset, length);
      return m.order(ByteOrder.LITTLE_ENDIAN);
    } catch (IOException e) {
      throw new SafetensorsException(path + ": cannot map tensor \"" + t.name() + "\": " + e, e);
    }
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      try {
        channel.close();
      } catch (IOException e) {
        throw new SafetensorsException(path + ": cannot be closed: " + e, e);
      }
    }
  }

  @Override
  public String toString() {
    return path + " " + Arrays.toString(tensors.toArray());
  }
}
