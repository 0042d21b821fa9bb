package dev.im4j.onnx.model;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkElementIndex;
import static com.google.common.base.Preconditions.checkNotNull;

import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.graph.StreamedBytes;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * A named float32 tensor with the dtype it is stored as (F32, F16 or BF16 in a safetensors file;
 * FLOAT in an ONNX Runtime training checkpoint, whose parameters and moments are these too),
 * row-major; a scalar has no dims and one element.
 *
 * <p>Immutable. The values live on the Java heap ({@link #of}: copied in), or are produced when
 * read: from a file region ({@link #inFile}, and the tensors {@link SafetensorsFile} and checkpoint
 * readers return), a constant ({@link #zeros}) or a seeded generator ({@link
 * CausalLmParameters#initialize}). Writers stream them with {@link #forEachChunk}, at most {@value
 * #CHUNK_ELEMENTS} values at a time, so a model passes from its source to a file without a whole
 * copy on the heap; {@link #toArray()} and {@link #data()} copy every value onto the heap. A
 * file-backed tensor reads its file on each pass and fails (naming the file) if the file was
 * changed or removed since the tensor was made.
 *
 * <p>Writing an F16 or BF16 tensor rounds each value to nearest-even; values read from such a file
 * are exactly representable, so read-then-write is bit-exact.
 */
public final class Tensor {
  /**
   * The most values {@link #forEachChunk} hands over at once: 64 Ki floats (256 KiB). Buffers of
   * this size stay below G1's humongous-object threshold (half a region; regions are 1 MiB for
   * heaps of a few GiB), so streaming a model allocates only short-lived young objects instead of
   * humongous regions that make the heap grow.
   */
  public static final int CHUNK_ELEMENTS = 1 << 16;

  /** Receives a tensor's values in order, a chunk at a time. */
  @FunctionalInterface
  public interface ChunkConsumer {
    /**
     * Values {@code [offset, offset + length)} of the tensor are {@code values[0, length)}; the
     * array is reused for the next chunk, so copy what must outlive the call.
     */
    void accept(long offset, float[] values, int length);
  }

  private final String name;
  private final DType dtype;
  private final long[] shape;
  private final int numel;
  private final TensorValues values;

  private Tensor(String name, DType dtype, long[] shape, TensorValues values) {
    checkNotNull(name, "tensor name must not be null");
    checkArgument(!name.isEmpty(), "tensor name must not be empty");
    checkNotNull(dtype, "dtype of %s must not be null", name);
    checkArgument(
        SafetensorsDTypes.isWeight(dtype),
        "dtype of %s must be F32, F16 or BF16 but was %s; integer tensors are not weights",
        name,
        dtype);
    long n;
    try {
      n = elementCount(shape);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("tensor " + name + ": " + e.getMessage(), e);
    }
    checkArgument(
        n <= SafetensorsFile.MAX_ARRAY_ELEMENTS,
        "tensor %s: dims %s hold %s elements, more than %s",
        name,
        Arrays.toString(shape),
        n,
        SafetensorsFile.MAX_ARRAY_ELEMENTS);
    if (values instanceof TensorValues.Heap h) {
      checkArgument(
          n == h.values().length,
          "tensor %s: dims %s hold %s elements but data has %s; pass exactly product(dims)"
              + " values",
          name,
          Arrays.toString(shape),
          n,
          h.values().length);
    }
    this.name = name;
    this.dtype = dtype;
    this.shape = shape;
    this.numel = (int) n;
    this.values = values;
  }

  /** A tensor holding a copy of {@code data}, whose length must equal the product of the shape. */
  public static Tensor of(String name, DType dtype, long[] shape, float[] data) {
    return new Tensor(name, dtype, shape.clone(), new TensorValues.Heap(data.clone()));
  }

  /** A float32 ({@link DType#FLOAT}) tensor holding a copy of {@code data}. */
  public static Tensor of(String name, long[] shape, float[] data) {
    return of(name, DType.FLOAT, shape, data);
  }

  /**
   * A float32 tensor reading its values from {@code buffer} (positions 0 to the element count),
   * without copying them: the buffer must hold them and not change while the tensor is read (a
   * runtime's parameters, written to a checkpoint between steps).
   *
   * @throws IllegalArgumentException if the buffer's capacity differs from the element count
   */
  public static Tensor view(String name, long[] shape, java.nio.FloatBuffer buffer) {
    checkArgument(
        buffer.capacity() == elementCount(shape),
        "%s: a buffer of %s floats for shape %s",
        name,
        buffer.capacity(),
        Arrays.toString(shape));
    return new Tensor(name, DType.FLOAT, shape.clone(), new TensorValues.Buffer(buffer));
  }

  /** A float32 tensor of zeros (an optimizer moment's start); no array is allocated. */
  public static Tensor zeros(String name, long... shape) {
    return new Tensor(name, DType.FLOAT, shape.clone(), new TensorValues.Constant(0f));
  }

  /**
   * A float32 tensor whose values are the little-endian floats at byte {@code offset} of {@code
   * file}, read from the file whenever they are read (nothing is read now). The file must hold them
   * and stay unchanged while the tensor is used.
   *
   * @throws java.io.UncheckedIOException if the file's size and time cannot be read
   */
  public static Tensor inFile(String name, long[] shape, Path file, long offset) {
    return inFile(name, DType.FLOAT, shape, file, offset, DType.FLOAT);
  }

  /** {@link #inFile} for values stored in the file as {@code stored} (F32, F16 or BF16). */
  static Tensor inFile(
      String name, DType dtype, long[] shape, Path file, long offset, DType stored) {
    return new Tensor(name, dtype, shape.clone(), TensorValues.FileRegion.of(file, offset, stored));
  }

  /**
   * Whether every value is finite by how it is produced (a finite constant, seeded normal values of
   * a modest scale, or seeded uniform values within a finite bound), so that a finiteness check
   * need not produce them.
   */
  boolean finiteByConstruction() {
    if (values instanceof TensorValues.Constant c) {
      return Float.isFinite(c.value());
    }
    if (values instanceof TensorValues.Uniform u) {
      return Float.isFinite(u.bound());
    }
    // |N(0, 1)| from Random.nextGaussian stays below 9; f16 overflows at 65,504
    return values instanceof TensorValues.Gaussian g && Math.abs(g.std()) < 65504f / 16;
  }

  /** Where the values come from. */
  TensorValues values() {
    return values;
  }

  /** A tensor whose values {@code values} produces; takes ownership of {@code shape}. */
  static Tensor lazy(String name, DType dtype, long[] shape, TensorValues values) {
    return new Tensor(name, dtype, shape, values);
  }

  /**
   * The product of the dims.
   *
   * @throws IllegalArgumentException on a negative dim
   * @throws ArithmeticException if the product overflows a long
   */
  public static long elementCount(long... shape) {
    long n = 1;
    for (long d : shape) {
      checkArgument(d >= 0, "dims must be >= 0 but were %s", Arrays.toString(shape));
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  public String name() {
    return name;
  }

  /** The dtype this tensor is written as. */
  public DType dtype() {
    return dtype;
  }

  /** A copy of the shape. */
  public long[] shape() {
    return shape.clone();
  }

  /** Number of elements. */
  public int numel() {
    return numel;
  }

  /**
   * Hands every value, in row-major order, to {@code consumer} in chunks of at most {@link
   * #CHUNK_ELEMENTS}; a tensor not on the heap is read (or generated) once, into one reused array.
   *
   * @throws IllegalStateException if a file-backed tensor's file changed or is gone
   * @throws java.io.UncheckedIOException if its file cannot be read
   */
  public void forEachChunk(ChunkConsumer consumer) {
    float[] chunk = new float[Math.min(numel, CHUNK_ELEMENTS)];
    try (TensorValues.Cursor cursor = values.open()) {
      for (long from = 0; from < numel; from += chunk.length) {
        int n = (int) Math.min(chunk.length, numel - from);
        cursor.read(from, chunk, 0, n);
        consumer.accept(from, chunk, n);
      }
    }
  }

  /**
   * The value at flat index {@code i}: an array access on the heap, a read otherwise (use {@link
   * #forEachChunk} to visit many).
   */
  public float get(int i) {
    checkElementIndex(i, numel, "element");
    if (values instanceof TensorValues.Heap h) {
      return h.values()[i];
    }
    float[] one = new float[1];
    try (TensorValues.Cursor cursor = values.open()) {
      cursor.read(i, one, 0, 1);
    }
    return one[0];
  }

  /** A read-only view of the values, row-major (a copy on the heap for a tensor not there). */
  public FloatBuffer data() {
    float[] data = values instanceof TensorValues.Heap h ? h.values() : toArray();
    return FloatBuffer.wrap(data).asReadOnlyBuffer();
  }

  /**
   * The values as little-endian float32 bytes, produced chunk by chunk ({@link #forEachChunk}) each
   * time they are written: how a weight enters a graph ({@link
   * dev.im4j.onnx.graph.Graph#streamedInitializer}) without a copy of the whole tensor.
   */
  public StreamedBytes float32Bytes() {
    return sink ->
        writeFloat32(
            ByteBuffer.allocate(Math.min(numel, CHUNK_ELEMENTS) * Float.BYTES)
                .order(ByteOrder.LITTLE_ENDIAN),
            sink);
  }

  /**
   * Hands the values to {@code sink} as little-endian float32 bytes, row-major, a chunk at a time
   * through {@code buffer} (little-endian, at least {@code min(numel(), CHUNK_ELEMENTS) * 4}
   * bytes), which is reused for each chunk: a writer of many tensors passes one buffer for all of
   * them.
   */
  public void writeFloat32(ByteBuffer buffer, Consumer<ByteBuffer> sink) {
    checkArgument(
        buffer.order() == ByteOrder.LITTLE_ENDIAN
            && buffer.capacity() >= Math.min(numel, CHUNK_ELEMENTS) * Float.BYTES,
        "buffer must be little-endian with room for one chunk of %s",
        this);
    forEachChunk(
        (offset, chunk, length) -> {
          buffer.clear();
          buffer.asFloatBuffer().put(chunk, 0, length);
          buffer.limit(length * Float.BYTES);
          sink.accept(buffer);
        });
  }

  /**
   * Hands the values to {@code sink} as little-endian bytes of this tensor's dtype (F16 and BF16
   * rounded to nearest-even), row-major, a chunk at a time through {@code buffer} (little-endian,
   * room for {@code min(numel(), CHUNK_ELEMENTS)} values of the dtype), reused for each chunk.
   */
  public void writeStored(ByteBuffer buffer, Consumer<ByteBuffer> sink) {
    if (dtype == DType.FLOAT) {
      writeFloat32(buffer, sink);
      return;
    }
    checkArgument(
        buffer.order() == ByteOrder.LITTLE_ENDIAN
            && buffer.capacity() >= Math.min(numel, CHUNK_ELEMENTS) * dtype.byteSize(),
        "buffer must be little-endian with room for one chunk of %s",
        this);
    forEachChunk(
        (offset, chunk, length) -> {
          buffer.clear();
          encode(dtype, chunk, 0, length, buffer);
          buffer.flip();
          sink.accept(buffer);
        });
  }

  /** Values {@code data[start, end)} into {@code out} as {@code dtype} (F32, F16 or BF16). */
  static void encode(DType dtype, float[] data, int start, int end, ByteBuffer out) {
    switch (dtype) {
      case FLOAT -> {
        for (int i = start; i < end; i++) {
          out.putFloat(data[i]);
        }
      }
      case FLOAT16 -> {
        for (int i = start; i < end; i++) {
          out.putShort(HalfFloats.f32ToF16(data[i]));
        }
      }
      case BFLOAT16 -> {
        for (int i = start; i < end; i++) {
          out.putShort(HalfFloats.f32ToBf16(data[i]));
        }
      }
      default -> throw new IllegalStateException("tensors are floating, not " + dtype);
    }
  }

  /**
   * Runs {@code action} on every tensor with one worker thread per available processor, each taking
   * the largest tensor not yet taken and passing its own {@code perWorker} state (a reused chunk
   * buffer: one buffer per tensor kept the JVM heap growing). Producing seeded or widened values is
   * CPU-bound and a tensor's values come in order from its own cursor, so tensors are the unit of
   * parallel work. Returns when every worker has stopped; the first failure is rethrown as it was
   * (an interrupt as a {@link java.util.concurrent.CancellationException}, the flag set again).
   */
  public static <C> void forEachInParallel(
      List<Tensor> tensors, Supplier<C> perWorker, BiConsumer<Tensor, C> action) {
    List<Tensor> largestFirst = new ArrayList<>(tensors);
    largestFirst.sort(Comparator.comparingInt(Tensor::numel).reversed());
    int threads = Math.min(Runtime.getRuntime().availableProcessors(), largestFirst.size());
    if (threads == 0) {
      return;
    }
    AtomicInteger next = new AtomicInteger();
    ExecutorService pool =
        Executors.newFixedThreadPool(
            threads,
            r -> {
              Thread thread = new Thread(r, "im4j-tensor-worker");
              thread.setDaemon(true);
              return thread;
            });
    try {
      List<Future<?>> workers = new ArrayList<>();
      for (int w = 0; w < threads; w++) {
        workers.add(
            pool.submit(
                () -> {
                  C state = perWorker.get();
                  for (int i = next.getAndIncrement();
                      i < largestFirst.size();
                      i = next.getAndIncrement()) {
                    action.accept(largestFirst.get(i), state);
                  }
                }));
      }
      for (Future<?> f : workers) {
        try {
          f.get();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new CancellationException("interrupted while working on tensors");
        } catch (ExecutionException e) {
          if (e.getCause() instanceof RuntimeException r) {
            throw r;
          }
          if (e.getCause() instanceof Error err) {
            throw err;
          }
          throw new IllegalStateException(e.getCause());
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * The stored values, memory-mapped read-only, when this tensor reads them from a file that holds
   * them in this tensor's own dtype (a safetensors file of that dtype), little-endian, at an offset
   * aligned to the dtype's width and under 2 GiB: whoever reads the buffer reads the file's pages,
   * with no copy in memory (the kernel may drop them and read them again under memory pressure).
   * Empty otherwise: values on the heap, generated, or stored in another dtype.
   *
   * @throws IllegalStateException if the file changed or was removed since the tensor was made
   */
  public java.util.Optional<ByteBuffer> mapStored() {
    long bytes = (long) dtype.byteSize() * numel;
    if (!(values instanceof TensorValues.FileRegion f)
        || f.stored() != dtype
        || f.offset() % dtype.byteSize() != 0
        || bytes > Integer.MAX_VALUE) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(f.map(numel).order(ByteOrder.LITTLE_ENDIAN));
  }

  /** A copy of the values, row-major, on the heap. */
  public float[] toArray() {
    float[] out = new float[numel];
    try (TensorValues.Cursor cursor = values.open()) {
      cursor.read(0, out, 0, numel);
    }
    return out;
  }

  /** The same values under another name (no copy). */
  public Tensor withName(String newName) {
    return new Tensor(newName, dtype, shape, values);
  }

  /** The same values, to be stored as {@code newDtype} (no copy). */
  public Tensor withDtype(DType newDtype) {
    return new Tensor(name, newDtype, shape, values);
  }

  boolean hasShape(long[] expected) {
    return Arrays.equals(shape, expected);
  }

  /**
   * Equal names, dtypes, shapes and bit patterns (NaNs compare by {@code floatToIntBits}); reads
   * both tensors' values, chunk by chunk.
   */
  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Tensor t
        && name.equals(t.name)
        && dtype == t.dtype
        && Arrays.equals(shape, t.shape))) {
      return false;
    }
    if (values == t.values) {
      return true;
    }
    float[] a = new float[Math.min(numel, CHUNK_ELEMENTS)];
    float[] b = new float[a.length];
    try (TensorValues.Cursor x = values.open();
        TensorValues.Cursor y = t.values.open()) {
      for (long from = 0; from < numel; from += a.length) {
        int n = (int) Math.min(a.length, numel - from);
        x.read(from, a, 0, n);
        y.read(from, b, 0, n);
        if (!Arrays.equals(a, 0, n, b, 0, n)) {
          return false;
        }
      }
    }
    return true;
  }

  /** From the name, dtype and shape only: hashing does not read the values. */
  @Override
  public int hashCode() {
    return (name.hashCode() * 31 + dtype.hashCode()) * 31 + Arrays.hashCode(shape);
  }

  @Override
  public String toString() {
    return name + " " + SafetensorsDTypes.code(dtype) + Arrays.toString(shape);
  }
}
