package dev.im4j.core.data;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;

/**
 * Splits a byte stream into lines at {@code '\n'} and decodes each line strictly as UTF-8.
 *
 * <p>Holds one line plus a fixed-size read buffer, never the whole stream, and asks the stream for
 * more bytes only when the current line is not yet complete. Splitting bytes before decoding is
 * safe because {@code 0x0A} never occurs inside a multi-byte UTF-8 sequence, and it lets an invalid
 * byte be reported against its own line. Lines grow by doubling, so a very long line costs linear
 * time. Not thread-safe.
 */
final class Utf8LineReader implements Closeable {
  private static final int READ_CHUNK = 1 << 16;

  /** A line buffer grown beyond this by one huge line is dropped afterwards, not kept. */
  private static final int RETAINED_LINE_CAPACITY = 1 << 20;

  private static final int INITIAL_LINE_CAPACITY = 256;

  /** The largest array most JVMs allocate. */
  private static final int MAX_LINE_BYTES = Integer.MAX_VALUE - 8;

  private final InputStream in;
  private final byte[] chunk = new byte[READ_CHUNK];
  private int chunkPos;
  private int chunkEnd;
  private boolean endOfStream;

  private byte[] line = new byte[INITIAL_LINE_CAPACITY];
  private int lineLength;
  private boolean terminated;
  private long lineNumber;

  private final CharsetDecoder decoder =
      UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT);

  /** Takes ownership of {@code in}: {@link #close()} closes it. */
  Utf8LineReader(InputStream in) {
    this.in = in;
  }

  /**
   * Moves to the next line.
   *
   * @return false at the end of the stream; a final line without {@code '\n'} is still a line
   */
  boolean advance() throws IOException {
    if (line.length > RETAINED_LINE_CAPACITY) {
      line = new byte[INITIAL_LINE_CAPACITY];
    }
    lineLength = 0;
    boolean sawBytes = false;
    while (true) {
      if (chunkPos == chunkEnd) {
        if (endOfStream || !fill()) {
          if (!sawBytes) {
            return false;
          }
          terminated = false;
          lineNumber++;
          return true;
        }
        continue; // a read may return no bytes
      }
      sawBytes = true;
      int newline = indexOfNewline();
      if (newline >= 0) {
        append(chunkPos, newline - chunkPos);
        chunkPos = newline + 1;
        terminated = true;
        lineNumber++;
        return true;
      }
      append(chunkPos, chunkEnd - chunkPos);
      chunkPos = chunkEnd;
    }
  }

  /** 1-based number of the current line; 0 before the first {@link #advance()}. */
  long lineNumber() {
    return lineNumber;
  }

  /** Whether the current line ended with {@code '\n'}; false only for a last line without one. */
  boolean terminated() {
    return terminated;
  }

  /**
   * The current line as text, without its {@code '\n'}, a trailing {@code '\r'} (CRLF files) and,
   * on line 1, a UTF-8 byte order mark.
   *
   * @throws RowException if the bytes are not valid UTF-8
   */
  String text() throws RowException {
    int end = lineLength;
    if (end > 0 && line[end - 1] == '\r') {
      end--;
    }
    int start = 0;
    if (lineNumber == 1
        && end >= 3
        && line[0] == (byte) 0xEF
        && line[1] == (byte) 0xBB
        && line[2] == (byte) 0xBF) {
      start = 3;
    }
    ByteBuffer bytes = ByteBuffer.wrap(line, start, end - start);
    // UTF-8 never needs more chars than bytes.
    CharBuffer chars = CharBuffer.allocate(end - start);
    decoder.reset();
    CoderResult result = decoder.decode(bytes, chars, false);
    if (result.isError()) {
      int at = bytes.position();
      throw new RowException(
          "",
          "invalid UTF-8 at byte "
              + (at + 1)
              + " of the line (bytes "
              + hex(at, Math.min(result.length(), end - at))
              + "); the file must be UTF-8: re-encode it, e.g. with iconv");
    }
    if (bytes.hasRemaining()) {
      int at = bytes.position();
      String bytesText = hex(at, end - at);
      if (!terminated) {
        throw new RowException(
            "",
            "truncated last line: the file ends inside a UTF-8 character (bytes "
                + bytesText
                + ") and without a final newline; the file was probably cut off, re-create it");
      }
      throw new RowException(
          "",
          "invalid UTF-8 at byte "
              + (at + 1)
              + " of the line: incomplete multi-byte sequence (bytes "
              + bytesText
              + ") at the end of the line; the file must be UTF-8: re-encode it, e.g. with iconv");
    }
    decoder.decode(bytes, chars, true);
    decoder.flush(chars);
    return chars.flip().toString();
  }

  @Override
  public void close() throws IOException {
    in.close();
  }

  private boolean fill() throws IOException {
    int n = in.read(chunk, 0, chunk.length);
    if (n < 0) {
      endOfStream = true;
      return false;
    }
    chunkPos = 0;
    chunkEnd = n;
    return true;
  }

  private int indexOfNewline() {
    for (int i = chunkPos; i < chunkEnd; i++) {
      if (chunk[i] == '\n') {
        return i;
      }
    }
    return -1;
  }

  private void append(int from, int length) throws IOException {
    long needed = (long) lineLength + length;
    if (needed > line.length) {
      if (needed > MAX_LINE_BYTES) {
        throw new IOException(
            "line "
                + (lineNumber + 1)
                + " is longer than "
                + MAX_LINE_BYTES
                + " bytes, the most a Java array holds; split the example or fix the line breaks");
      }
      long wanted = Math.min(Math.max((long) line.length * 2, needed), MAX_LINE_BYTES);
      byte[] grown = new byte[(int) wanted];
      System.arraycopy(line, 0, grown, 0, lineLength);
      line = grown;
    }
    System.arraycopy(chunk, from, line, lineLength, length);
    lineLength += length;
  }

  private String hex(int from, int count) {
    StringBuilder out = new StringBuilder();
    for (int i = from; i < from + Math.min(count, 4); i++) {
      if (i > from) {
        out.append(' ');
      }
      out.append(String.format("0x%02X", line[i] & 0xFF));
    }
    return out.toString();
  }
}
