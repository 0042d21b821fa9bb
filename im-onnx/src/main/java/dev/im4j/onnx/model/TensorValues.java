package dev.im4j.onnx.model;

import dev.im4j.onnx.graph.DType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.Arrays;
import java.util.Random;

/**
 * Where a {@link Tensor}'s float32 values come from: an array on the heap, a region of a file (read
 * when needed, F16 and BF16 widened chunk by chunk), a constant, or a seeded generator. Only the
 * heap form holds the values; the others produce them on each read, so a model's weights can pass
 * from their source to a file without a whole copy on the Java heap.
 *
 * <p>Values are read through a {@link Cursor}, one per reader: cursors are cheap, not thread-safe,
 * and fastest when read in ascending order (a generator restarts when read backwards).
 */
sealed interface TensorValues {
  /** A reader of the values; close it to release its file. */
  interface Cursor extends AutoCloseable {
    /** Copies values {@code [from, from + length)} into {@code dst[offset...]}. */
    void read(long from, float[] dst, int offset, int length);

    @Override
    void close();
  }

  Cursor open();

  /** The values in a Java array (owned by the tensor, never modified). */
  record Heap(float[] values) implements TensorValues, Cursor {
    @Override
    public Cursor open() {
      return this;
    }

    @Override
    public void read(long from, float[] dst, int offset, int length) {
      System.arraycopy(values, Math.toIntExact(from), dst, offset, length);
    }

    @Override
    public void close() {}
  }

  /** The values in a float buffer owned by someone else (read, never written, never copied). */
  record Buffer(java.nio.FloatBuffer values) implements TensorValues, Cursor {
    @Override
    public Cursor open() {
      return this;
    }

    @Override
    public void read(long from, float[] dst, int offset, int length) {
      values.duplicate().position(Math.toIntExact(from)).get(dst, offset, length);
    }

    @Override
    public void close() {}
  }

  /** Every value equal to {@code value} (zeros, ones). */
  record Constant(float value) implements TensorValues, Cursor {
    @Override
    public Cursor open() {
      return this;
    }

    @Override
    public void read(long from, float[] dst, int offset, int length) {
      Arrays.fill(dst, offset, offset + length, value);
    }

    @Override
    public void close() {}
  }

  /**
   * {@code std · new Random(seed).nextGaussian()} for each element in order ({@link
   * SeededGaussian}), rounded to {@code roundTo} (so that writing the values as that dtype is
   * exact).
   */
  record Gaussian(long seed, float std, DType roundTo) implements TensorValues {
    @Override
    public Cursor open() {
      return new Cursor() {
        private SeededGaussian random = new SeededGaussian(seed);
        private long position;

        @Override
        public void read(long from, float[] dst, int offset, int length) {
          if (from < position) {
            random = new SeededGaussian(seed);
            position = 0;
          }
          for (; position < from; position++) {
            random.next();
          }
          for (int i = 0; i < length; i++) {
            dst[offset + i] = HalfFloats.roundTo(roundTo, random.next() * std);
          }
          position += length;
        }

        @Override
        public void close() {}
      };
    }
  }

  /**
   * {@code bound · (2u − 1)} for each element in order, {@code u} the next {@code
   * java.util.Random(seed).nextFloat()} (a specified sequence, equal on every JVM): uniform on
   * {@code [−bound, bound)}, as PEFT's Kaiming-uniform initialisation of LoRA's A.
   */
  record Uniform(long seed, float bound) implements TensorValues {
    @Override
    public Cursor open() {
      return new Cursor() {
        private Random random = new Random(seed);
        private long position;

        @Override
        public void read(long from, float[] dst, int offset, int length) {
          if (from < position) {
            random = new Random(seed);
            position = 0;
          }
          for (; position < from; position++) {
            random.nextFloat();
          }
          for (int i = 0; i < length; i++) {
            dst[offset + i] = bound * (2 * random.nextFloat() - 1);
          }
          position += length;
        }

        @Override
        public void close() {}
      };
    }
  }

  /**
   * A LoRA-merged weight, {@code base + s · B A} in the base's layout: {@code [out, in]}, or {@code
   * [in, out]} for a GPT-2 Conv1D weight ({@code transposed}). The base's values are read chunk by
   * chunk and each element gets its delta, {@code s · Σ_k B[o, k] A[k, i]} summed in double; {@code
   * a} ({@code [rank, in]}) and {@code b} ({@code [out, rank]}) are small enough to hold.
   */
  record LoraMerged(
      TensorValues base,
      float[] a,
      float[] b,
      int rank,
      int in,
      int out,
      double scaling,
      boolean transposed)
      implements TensorValues {
    @Override
    public Cursor open() {
      Cursor baseCursor = base.open();
      return new Cursor() {
        @Override
        public void read(long from, float[] dst, int offset, int length) {
          baseCursor.read(from, dst, offset, length);
          for (int i = 0; i < length; i++) {
            long e = from + i;
            int o = (int) (transposed ? e % out : e / in);
            int x = (int) (transposed ? e / out : e % in);
            double delta = 0;
            for (int k = 0; k < rank; k++) {
              delta += (double) b[o * rank + k] * a[k * in + x];
            }
            dst[offset + i] = (float) (dst[offset + i] + scaling * delta);
          }
        }

        @Override
        public void close() {
          baseCursor.close();
        }
      };
    }
  }

  /**
   * Little-endian values of {@code stored} (F32, F16 or BF16) at byte {@code offset} of {@code
   * file}. The file's size and modification time when the tensor was made are checked on every
   * open: a file replaced or changed since then fails instead of giving other values.
   */
  record FileRegion(Path file, long offset, DType stored, long size, FileTime modified)
      implements TensorValues {
    /** Bytes read per call (256 KiB: below G1's humongous threshold, see Tensor#CHUNK_ELEMENTS). */
    static final int READ_BYTES = 1 << 18;

    static FileRegion of(Path file, long offset, DType stored) {
      try {
        return new FileRegion(
            file, offset, stored, Files.size(file), Files.getLastModifiedTime(file));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
      }
    }

    /**
     * The first {@code count} values, memory-mapped read-only (the stored bytes, little-endian): a
     * view of the file's pages, not a copy.
     */
    java.nio.MappedByteBuffer map(long count) {
      int width = stored.byteSize();
      try (FileChannel channel = openUnchanged()) {
        return channel.map(FileChannel.MapMode.READ_ONLY, offset, count * width);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot map " + file + ": " + e.getMessage(), e);
      }
    }

    /** The file, opened for reading after checking that it has not changed since. */
    private FileChannel openUnchanged() {
      FileChannel channel;
      try {
        channel = FileChannel.open(file, StandardOpenOption.READ);
        if (channel.size() != size || !Files.getLastModifiedTime(file).equals(modified)) {
          channel.close();
          throw new IllegalStateException(
              file
                  + " changed after tensors were read from it (size "
                  + size
                  + " -> "
                  + Files.size(file)
                  + "); its tensors' values are read from the file when needed, so it must"
                  + " stay unchanged while they are used");
        }
      } catch (NoSuchFileException e) {
        throw new IllegalStateException(
            file
                + " was removed after tensors were read from it; its tensors' values are read"
                + " from the file when needed, so it must stay while they are used",
            e);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
      }
      return channel;
    }

    @Override
    public Cursor open() {
      FileChannel channel = openUnchanged();
      int width = stored.byteSize();
      ByteBuffer buffer = ByteBuffer.allocate(READ_BYTES).order(ByteOrder.LITTLE_ENDIAN);
      return new Cursor() {
        @Override
        public void read(long from, float[] dst, int at, int length) {
          long position = offset + from * width;
          int done = 0;
          try {
            while (done < length) {
              int n = Math.min(length - done, READ_BYTES / width);
              buffer.clear().limit(n * width);
              while (buffer.hasRemaining()) {
                if (channel.read(buffer, position + buffer.position()) < 0) {
                  throw new IllegalStateException(
                      file
                          + " ended at byte "
                          + (position + buffer.position())
                          + " inside a tensor");
                }
              }
              buffer.flip();
              switch (stored) {
                case FLOAT -> buffer.asFloatBuffer().get(dst, at + done, n);
                case FLOAT16 -> {
                  for (int i = 0; i < n; i++) {
                    dst[at + done + i] = HalfFloats.f16ToF32(buffer.getShort());
                  }
                }
                case BFLOAT16 -> {
                  for (int i = 0; i < n; i++) {
                    dst[at + done + i] = HalfFloats.bf16ToF32(buffer.getShort());
                  }
                }
                default -> throw new IllegalStateException("not a float dtype: " + stored);
              }
              done += n;
              position += (long) n * width;
            }
          } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
          }
        }

        @Override
        public void close() {
          try {
            channel.close();
          } catch (IOException e) {
            throw new UncheckedIOException("cannot close " + file + ": " + e.getMessage(), e);
          }
        }
      };
    }
  }
}
