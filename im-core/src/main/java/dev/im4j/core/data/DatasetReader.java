package dev.im4j.core.data;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * Reads a JSON Lines dataset, one example per line, as a lazy sequence of {@link DatasetRecord}s.
 *
 * <p>Usage:
 *
 * <pre>{@code
 * try (DatasetReader reader =
 *     DatasetReader.open(path, DatasetFormat.AUTO, OnError.SKIP_AND_REPORT)) {
 *   reader.forEachRemaining(record -> ...);
 *   ReadReport report = reader.report(); // every skipped line, with its reason
 * }
 * }</pre>
 *
 * <p>Contract:
 *
 * <ul>
 *   <li>Streaming: the reader holds one line at a time plus a fixed read buffer and reads the
 *       source only as far as the next example requires. (In {@link OnError#SKIP_AND_REPORT} mode
 *       the report also keeps one entry per skipped line.)
 *   <li>Lines end at {@code '\n'}; a trailing {@code '\r'} and a byte order mark on line 1 are
 *       dropped. Each line is decoded strictly as UTF-8 and parsed with Jackson as one JSON object;
 *       duplicate keys and trailing content after the object are errors. A last line without a
 *       newline is read normally if it is complete, and reported as truncated if it is not.
 *   <li>Blank lines (empty, or only spaces and tabs) are skipped in both modes and counted in
 *       {@link ReadReport#blankLines()}.
 *   <li>Every string the reader takes from a row must be valid Unicode: a lone surrogate, which a
 *       JSON escape can write, makes the line invalid (field and character index named). An example
 *       whose content passes {@link ReadLimits#maxExampleChars()} ({@link ReadLimits#DEFAULT}
 *       unless given to {@code open}) is invalid at the field where it does, so no template or
 *       tokenizer ever sees it.
 *   <li>Any other invalid line is, depending on {@link OnError}, thrown as a {@link
 *       DatasetException} naming source, line and field, or skipped and listed in {@link
 *       #report()}. I/O failures always throw {@link DatasetException} with the cause.
 *   <li>{@link #hasNext()} and {@link #next()} throw {@link IllegalStateException} once the reader
 *       is closed; after a {@link DatasetException} they throw the same exception again.
 * </ul>
 *
 * <p>Not thread-safe. {@link #close()} is idempotent and closes the underlying stream.
 */
public final class DatasetReader implements Iterator<DatasetRecord>, AutoCloseable {
  /**
   * One shared, immutable reader. Strings are limited only by memory (Jackson's default cap of 20M
   * characters could reject a legitimate long document).
   */
  private static final ObjectReader JSON =
      new ObjectMapper(
              JsonFactory.builder()
                  .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                  .streamReadConstraints(
                      StreamReadConstraints.builder().maxStringLength(Integer.MAX_VALUE).build())
                  .build())
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .reader();

  private final String source;
  private final DatasetFormat format;
  private final OnError onError;
  private final ReadLimits limits;
  private final Utf8LineReader lines;

  /** For {@link DatasetFormat#AUTO}: the detected format, or null until a valid line fixes it. */
  private DatasetFormat resolved;

  private long resolvedAtLine;

  private long examples;
  private long blankLines;
  private long emptyContents;
  private final List<ReadReport.SkippedLine> skipped = new ArrayList<>();

  private DatasetRecord pending;
  private boolean exhausted;
  private boolean closed;
  private DatasetException failure;

  private DatasetReader(
      InputStream in, String source, DatasetFormat format, OnError onError, ReadLimits limits) {
    this.lines = new Utf8LineReader(in);
    this.source = source;
    this.format = format;
    this.onError = onError;
    this.limits = limits;
    this.resolved = format == DatasetFormat.AUTO ? null : format;
  }

  /**
   * Opens a JSON Lines file (any extension) with the {@link ReadLimits#DEFAULT default limits}. Its
   * display name in records and errors is {@code path.toString()}.
   *
   * @throws DatasetException if the file cannot be opened
   */
  public static DatasetReader open(Path path, DatasetFormat format, OnError onError) {
    return open(path, format, onError, ReadLimits.DEFAULT);
  }

  /**
   * Opens a JSON Lines file (any extension) with the given limits. Its display name in records and
   * errors is {@code path.toString()}.
   *
   * @throws DatasetException if the file cannot be opened
   */
  public static DatasetReader open(
      Path path, DatasetFormat format, OnError onError, ReadLimits limits) {
    checkNotNull(path, "path");
    checkNotNull(format, "format");
    checkNotNull(onError, "onError");
    checkNotNull(limits, "limits");
    InputStream in;
    try {
      in = Files.newInputStream(path);
    } catch (IOException e) {
      throw new DatasetException(path.toString(), 0, "", "cannot open the dataset file: " + e, e);
    }
    return new DatasetReader(in, path.toString(), format, onError, limits);
  }

  /**
   * Reads JSON Lines from a stream, which the reader now owns and closes, with the {@link
   * ReadLimits#DEFAULT default limits}.
   *
   * @param sourceName non-blank name shown in records, reports and errors, e.g. a URL or file name
   */
  public static DatasetReader open(
      InputStream in, String sourceName, DatasetFormat format, OnError onError) {
    return open(in, sourceName, format, onError, ReadLimits.DEFAULT);
  }

  /**
   * Reads JSON Lines from a stream, which the reader now owns and closes, with the given limits.
   *
   * @param sourceName non-blank name shown in records, reports and errors, e.g. a URL or file name
   */
  public static DatasetReader open(
      InputStream in, String sourceName, DatasetFormat format, OnError onError, ReadLimits limits) {
    checkNotNull(in, "in");
    checkNotNull(sourceName, "sourceName");
    checkArgument(
        !sourceName.isBlank(), "sourceName must name the data for error messages but was blank");
    checkNotNull(format, "format");
    checkNotNull(onError, "onError");
    checkNotNull(limits, "limits");
    return new DatasetReader(in, sourceName, format, onError, limits);
  }

  /**
   * Whether another example follows, reading (and, in skip mode, skipping) lines until one is found
   * or the source ends.
   *
   * @throws DatasetException at an invalid line in fail-fast mode, or on an I/O failure
   * @throws IllegalStateException if the reader is closed
   */
  @Override
  public boolean hasNext() {
    checkState();
    if (pending == null && !exhausted) {
      pending = readNext();
    }
    return pending != null;
  }

  /**
   * The next example.
   *
   * @throws NoSuchElementException if there is none
   * @throws DatasetException at an invalid line in fail-fast mode, or on an I/O failure
   * @throws IllegalStateException if the reader is closed
   */
  @Override
  public DatasetRecord next() {
    if (!hasNext()) {
      throw new NoSuchElementException("no more examples in " + source);
    }
    DatasetRecord next = pending;
    pending = null;
    return next;
  }

  /** The remaining examples as a sequential, lazy stream; closing the stream closes this reader. */
  public Stream<DatasetRecord> stream() {
    checkState();
    return StreamSupport.stream(
            Spliterators.spliteratorUnknownSize(this, Spliterator.ORDERED | Spliterator.NONNULL),
            false)
        .onClose(this::close);
  }

  /**
   * Reads all remaining examples into a list, for small files. Call {@link #report()} afterwards to
   * see what was skipped.
   *
   * @throws DatasetException as {@link #hasNext()}
   */
  public List<DatasetRecord> readAll() {
    List<DatasetRecord> all = new ArrayList<>();
    forEachRemaining(all::add);
    return all;
  }

  /**
   * What has been read so far: complete once {@link #hasNext()} has returned false. Includes an
   * example that {@link #hasNext()} has read but {@link #next()} not yet returned; in fail-fast
   * mode a line that threw is not counted.
   */
  public ReadReport report() {
    return new ReadReport(
        source,
        resolved == null ? DatasetFormat.AUTO : resolved,
        examples + blankLines + skipped.size(),
        examples,
        blankLines,
        emptyContents,
        skipped);
  }

  /**
   * Closes the underlying stream. Idempotent.
   *
   * @throws DatasetException if closing the stream fails
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    pending = null;
    try {
      lines.close();
    } catch (IOException e) {
      throw new DatasetException(source, 0, "", "cannot close the dataset: " + e, e);
    }
  }

  private void checkState() {
    if (closed) {
      throw new IllegalStateException("the reader for " + source + " is closed");
    }
    if (failure != null) {
      throw failure;
    }
  }

  /** Reads lines until one is a valid example; null at the end of the source. */
  private DatasetRecord readNext() {
    while (true) {
      try {
        if (!lines.advance()) {
          exhausted = true;
          return null;
        }
      } catch (IOException e) {
        throw fail(
            new DatasetException(
                source, lines.lineNumber() + 1, "", "I/O error while reading: " + e, e));
      }
      long line = lines.lineNumber();
      try {
        String text = lines.text();
        if (isBlank(text)) {
          blankLines++;
          continue;
        }
        Example example = decode(parse(text, lines.terminated()), line);
        examples++;
        if (example instanceof Conversation conversation) {
          for (Message message : conversation.messages()) {
            if (message.content().isEmpty()) {
              emptyContents++;
            }
          }
        } else if (((PlainText) example).text().isEmpty()) {
          emptyContents++;
        }
        return new DatasetRecord(source, line, example);
      } catch (RowException e) {
        if (onError == OnError.FAIL_FAST) {
          throw fail(new DatasetException(source, line, e.field(), e.reason(), null));
        }
        skipped.add(new ReadReport.SkippedLine(line, e.field(), e.reason()));
      }
    }
  }

  private DatasetException fail(DatasetException e) {
    failure = e;
    return e;
  }

  private static JsonNode parse(String text, boolean terminated) throws RowException {
    JsonNode node;
    try {
      node = JSON.readTree(text);
    } catch (JsonEOFException e) {
      if (!terminated) {
        throw new RowException(
            "",
            "truncated last line: the file ends inside a JSON value, without a final newline ("
                + e.getOriginalMessage()
                + "); the file was probably cut off, re-create it");
      }
      throw new RowException(
          "",
          "malformed JSON: the line ends inside a JSON value ("
              + e.getOriginalMessage()
              + "); each line must hold one complete JSON object, so pretty-printed JSON is not"
              + " JSON Lines");
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      throw new RowException(
          "",
          "malformed JSON"
              + (at == null || at.getColumnNr() < 1 ? "" : " at column " + at.getColumnNr())
              + ": "
              + firstLine(e.getOriginalMessage())
              + (terminated ? "" : " (the last line has no final newline: was the file cut off?)"));
    }
    if (!node.isObject()) {
      throw new RowException(
          "", "expected one JSON object per line but found " + RowDecoder.describe(node));
    }
    return node;
  }

  /** Decodes a row in the configured format, detecting it first for {@link DatasetFormat#AUTO}. */
  private Example decode(JsonNode row, long line) throws RowException {
    if (format != DatasetFormat.AUTO) {
      try {
        return RowDecoder.decode(row, format, limits);
      } catch (RowException e) {
        throw withFormatHint(row, e);
      }
    }
    DatasetFormat shape = RowDecoder.detect(row);
    if (resolved == null) {
      if (shape == null) {
        throw RowDecoder.undetectable();
      }
      Example example = RowDecoder.decode(row, shape, limits);
      resolved = shape;
      resolvedAtLine = line;
      return example;
    }
    if (shape != null && shape != resolved) {
      throw new RowException(
          "",
          "mixed formats: the line is "
              + RowDecoder.describeMarkers(shape)
              + " but line "
              + resolvedAtLine
              + " made this source "
              + resolved.displayName()
              + "; a source must use one format, so convert the line or split the file");
    }
    return RowDecoder.decode(row, resolved, limits);
  }

  /** When an explicit format misses its fields but the row has another format's, say so. */
  private RowException withFormatHint(JsonNode row, RowException e) {
    if (!format.markerFields().contains(e.field()) || row.has(e.field())) {
      return e;
    }
    DatasetFormat shape;
    try {
      shape = RowDecoder.detect(row);
    } catch (RowException ambiguous) {
      return e;
    }
    if (shape == null || shape == format) {
      return e;
    }
    return new RowException(
        e.field(),
        e.reason()
            + " (the line looks like "
            + RowDecoder.describeMarkers(shape)
            + ": read it as DatasetFormat."
            + shape.name()
            + " or AUTO)");
  }

  /**
   * Empty or only JSON's in-line whitespace. Deliberately narrower than {@link String#isBlank()},
   * which would also pass control characters such as U+001F that are no part of JSON.
   */
  private static boolean isBlank(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c != ' ' && c != '\t' && c != '\r') {
        return false;
      }
    }
    return true;
  }

  private static String firstLine(String text) {
    int newline = text.indexOf('\n');
    return newline < 0 ? text : text.substring(0, newline);
  }
}
