package dev.im4j.core.data;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.NoSuchElementException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The reader pulls bytes only as far as the next example needs, and closes cleanly. */
class DatasetReaderStreamingTest {

  /**
   * An endless stream of Alpaca lines, one line per {@code read} call, that counts the calls and
   * fails once more than {@code allowedReads} are made.
   */
  private static final class LineByLineStream extends InputStream {
    private final long allowedReads;
    long reads;
    int closes;

    LineByLineStream(long allowedReads) {
      this.allowedReads = allowedReads;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
      reads++;
      if (reads > allowedReads) {
        throw new IOException("read " + reads + " is beyond the " + allowedReads + " allowed");
      }
      byte[] line = ("{\"instruction\": \"q" + reads + "\", \"output\": \"a\"}\n").getBytes(UTF_8);
      if (line.length > length) {
        throw new IllegalStateException("test stream expects buffers of at least a line");
      }
      System.arraycopy(line, 0, buffer, offset, line.length);
      return line.length;
    }

    @Override
    public int read() {
      throw new UnsupportedOperationException("the reader must read in blocks");
    }

    @Override
    public void close() {
      closes++;
    }
  }

  @Test
  void readsOnlyAsFarAsTheNextExample() {
    LineByLineStream in = new LineByLineStream(Long.MAX_VALUE);
    try (DatasetReader reader =
        DatasetReader.open(in, "endless", DatasetFormat.AUTO, OnError.FAIL_FAST)) {
      for (int i = 1; i <= 3; i++) {
        DatasetRecord record = reader.next();
        assertEquals(i, record.line());
        assertEquals("q" + i, ((Conversation) record.example()).get(0).content());
        assertEquals(i, in.reads);
      }
      assertTrue(reader.hasNext());
      assertEquals(4, in.reads);
      assertTrue(reader.hasNext()); // hasNext does not read again
      assertEquals(4, in.reads);
    }
  }

  @Test
  void streamIsLazy() {
    LineByLineStream in = new LineByLineStream(5);
    try (Stream<DatasetRecord> records =
        DatasetReader.open(in, "endless", DatasetFormat.ALPACA, OnError.FAIL_FAST).stream()) {
      assertEquals(5, records.limit(5).count());
    }
    assertEquals(1, in.closes);
  }

  @Test
  void ioFailureIsADatasetExceptionWithTheCauseAndTheLineBeingRead() {
    LineByLineStream in = new LineByLineStream(2);
    try (DatasetReader reader =
        DatasetReader.open(in, "flaky", DatasetFormat.AUTO, OnError.SKIP_AND_REPORT)) {
      reader.next();
      reader.next();
      DatasetException e = assertThrows(DatasetException.class, reader::hasNext);
      assertEquals(3, e.line());
      assertInstanceOf(IOException.class, e.getCause());
      assertTrue(e.getMessage().startsWith("flaky:3: I/O error while reading: "), e.getMessage());
    }
  }

  @Test
  void manyLinesAreReadOneAtATime() {
    int lines = 200_000;
    InputStream generated =
        new InputStream() {
          private final LineByLineStream source = new LineByLineStream(lines);

          @Override
          public int read(byte[] buffer, int offset, int length) throws IOException {
            return source.reads == lines ? -1 : source.read(buffer, offset, length);
          }

          @Override
          public int read() {
            throw new UnsupportedOperationException();
          }
        };
    try (DatasetReader reader =
        DatasetReader.open(generated, "generated", DatasetFormat.AUTO, OnError.FAIL_FAST)) {
      long count = 0;
      while (reader.hasNext()) {
        assertEquals(++count, reader.next().line());
      }
      assertEquals(lines, count);
      assertEquals(lines, reader.report().examples());
    }
  }

  @Test
  void linesSplitAcrossManyReadsAndAVeryLongLine() {
    // Longer than Jackson's default 20M-character string limit, which the reader lifts (and than
    // the default ReadLimits, lifted here as far as an int allows).
    String content = "ü".repeat(21_000_000);
    byte[] bytes =
        ("{\"instruction\": \"q\", \"output\": \""
                + content
                + "\"}\n{\"instruction\": \"x\","
                + " \"output\": \"y\"}")
            .getBytes(UTF_8);
    InputStream trickle =
        new ByteArrayInputStream(bytes) {
          @Override
          public synchronized int read(byte[] buffer, int offset, int length) {
            // Odd-sized pieces so that lines and two-byte characters straddle reads.
            return super.read(buffer, offset, Math.min(length, 4093));
          }
        };
    try (DatasetReader reader =
        DatasetReader.open(
            trickle,
            "long",
            DatasetFormat.ALPACA,
            OnError.FAIL_FAST,
            new ReadLimits(Integer.MAX_VALUE))) {
      assertEquals(content, ((Conversation) reader.next().example()).get(1).content());
      assertEquals("y", ((Conversation) reader.next().example()).get(1).content());
      assertFalse(reader.hasNext());
    }
  }

  @Test
  void closeIsIdempotentAndClosesTheStreamOnce() {
    LineByLineStream in = new LineByLineStream(Long.MAX_VALUE);
    DatasetReader reader = DatasetReader.open(in, "endless", DatasetFormat.AUTO, OnError.FAIL_FAST);
    reader.next();
    reader.close();
    reader.close();
    assertEquals(1, in.closes);
    IllegalStateException e = assertThrows(IllegalStateException.class, reader::hasNext);
    assertEquals("the reader for endless is closed", e.getMessage());
    assertThrows(IllegalStateException.class, reader::next);
  }

  @Test
  void nextAfterTheEndThrowsNoSuchElement() {
    try (DatasetReader reader =
        DatasetReader.open(
            new ByteArrayInputStream("\n \n".getBytes(UTF_8)),
            "blank",
            DatasetFormat.AUTO,
            OnError.FAIL_FAST)) {
      assertFalse(reader.hasNext());
      NoSuchElementException e = assertThrows(NoSuchElementException.class, reader::next);
      assertEquals("no more examples in blank", e.getMessage());
      assertEquals(2, reader.report().blankLines());
    }
  }

  @Test
  void blankSourceNameIsRejected() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                DatasetReader.open(
                    new ByteArrayInputStream(new byte[0]),
                    " ",
                    DatasetFormat.AUTO,
                    OnError.FAIL_FAST));
    assertEquals("sourceName must name the data for error messages but was blank", e.getMessage());
  }
}
