package dev.im4j.core.data;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reader's input bounds: strings must be valid Unicode (no lone surrogate from a JSON escape),
 * and an example's content must fit {@link ReadLimits#maxExampleChars()}; both are invalid lines
 * named by file, line and field, thrown or skipped per {@link OnError}.
 */
class DatasetReaderInputLimitsTest {
  private static final String OK_MESSAGES =
      "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"},"
          + " {\"role\": \"assistant\", \"content\": \"a\"}]}";

  /** The JSON escapes of a lone high and a lone low surrogate (as written in the file). */
  private static final String HIGH = "\\ud800";

  private static final String LOW = "\\udc00";

  @TempDir Path dir;

  private static DatasetReader reader(
      DatasetFormat format, OnError onError, ReadLimits limits, String... lines) {
    byte[] bytes = (String.join("\n", lines) + "\n").getBytes(UTF_8);
    return DatasetReader.open(
        new ByteArrayInputStream(bytes), "data.jsonl", format, onError, limits);
  }

  private static DatasetException failure(
      DatasetFormat format, ReadLimits limits, String... lines) {
    try (DatasetReader reader = reader(format, OnError.FAIL_FAST, limits, lines)) {
      return assertThrows(DatasetException.class, reader::readAll);
    }
  }

  private static void assertError(DatasetException e, long line, String field, String reason) {
    assertEquals("data.jsonl", e.source());
    assertEquals(line, e.line());
    assertEquals(Optional.of(field), e.field());
    assertEquals(reason, e.reason());
    assertEquals("data.jsonl:" + line + ": field \"" + field + "\": " + reason, e.getMessage());
  }

  private static String loneHigh(int index) {
    return "contains a lone surrogate \\ud800 at character "
        + index
        + " (counting UTF-16 units from 0): a high surrogate not followed by a low one encodes no"
        + " character, and text must be valid Unicode; fix the JSON escape (a character beyond"
        + " U+FFFF is a pair such as \\ud83d\\ude00) or drop the line";
  }

  private static String loneLow(int index) {
    return "contains a lone surrogate \\udc00 at character "
        + index
        + " (counting UTF-16 units from 0): a low surrogate not preceded by a high one encodes no"
        + " character, and text must be valid Unicode; fix the JSON escape (a character beyond"
        + " U+FFFF is a pair such as \\ud83d\\ude00) or drop the line";
  }

  private static String tooLong(long used, int inField, int max) {
    return "the example's content reaches "
        + used
        + " characters with this field ("
        + inField
        + " in the field), more than the limit of "
        + max
        + " characters per example (content fields summed, UTF-16 units); shorten or split the"
        + " example, or raise the limit with --max-example-chars (ReadLimits.maxExampleChars)";
  }

  // ---------------------------------------------------------------- lone surrogates

  @Test
  void loneHighSurrogateInAMessagesContentFailsFastNamingFieldAndIndex() {
    DatasetException e =
        failure(
            DatasetFormat.MESSAGES,
            ReadLimits.DEFAULT,
            OK_MESSAGES,
            "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"},"
                + " {\"role\": \"assistant\", \"content\": \"abc"
                + HIGH
                + "d\"}]}");
    assertError(e, 2, "messages[1].content", loneHigh(3));
  }

  @Test
  void loneLowSurrogateInAShareGptValueFailsFast() {
    DatasetException e =
        failure(
            DatasetFormat.SHAREGPT,
            ReadLimits.DEFAULT,
            "{\"conversations\": [{\"from\": \"human\", \"value\": \""
                + LOW
                + "q\"}, {\"from\": \"gpt\", \"value\": \"a\"}]}");
    assertError(e, 1, "conversations[0].value", loneLow(0));
  }

  @Test
  void loneSurrogateInEveryAlpacaFieldFailsFast() {
    String bad = "xy" + HIGH;
    Map<String, String> rows =
        Map.of(
            "instruction", "{\"instruction\": \"" + bad + "\", \"output\": \"a\"}",
            "input", "{\"instruction\": \"q\", \"input\": \"" + bad + "\", \"output\": \"a\"}",
            "output", "{\"instruction\": \"q\", \"output\": \"" + bad + "\"}",
            "system", "{\"instruction\": \"q\", \"output\": \"a\", \"system\": \"" + bad + "\"}");
    rows.forEach(
        (field, row) ->
            assertError(
                failure(DatasetFormat.ALPACA, ReadLimits.DEFAULT, row), 1, field, loneHigh(2)));
  }

  @Test
  void reversedPairIsALoneLowSurrogateAndRolesAreCheckedToo() {
    assertError(
        failure(
            DatasetFormat.MESSAGES,
            ReadLimits.DEFAULT,
            "{\"messages\": [{\"role\": \"user\", \"content\": \"\\ude00\\ud83d\"},"
                + " {\"role\": \"assistant\", \"content\": \"a\"}]}"),
        1,
        "messages[0].content",
        "contains a lone surrogate \\ude00 at character 0 (counting UTF-16 units from 0): a low"
            + " surrogate not preceded by a high one encodes no character, and text must be valid"
            + " Unicode; fix the JSON escape (a character beyond U+FFFF is a pair such as"
            + " \\ud83d\\ude00) or drop the line");
    assertError(
        failure(
            DatasetFormat.MESSAGES,
            ReadLimits.DEFAULT,
            "{\"messages\": [{\"role\": \"user" + HIGH + "\", \"content\": \"q\"}]}"),
        1,
        "messages[0].role",
        loneHigh(4));
  }

  @Test
  void escapedSurrogatePairsAreOneCharacterAndValid() {
    try (DatasetReader reader =
        reader(
            DatasetFormat.AUTO,
            OnError.FAIL_FAST,
            ReadLimits.DEFAULT,
            "{\"instruction\": \"\\ud83d\\ude00\", \"output\": \"x\\udbff\\udfff\"}")) {
      Conversation c = (Conversation) reader.next().example();
      assertEquals("\uD83D\uDE00", c.get(0).content());
      assertEquals("x\uDBFF\uDFFF", c.get(1).content());
    }
  }

  @Test
  void skipModeSkipsAndListsLoneSurrogatesInEveryFormat() throws IOException {
    String badMessages =
        "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"},"
            + " {\"role\": \"assistant\", \"content\": \"a"
            + LOW
            + "\"}]}";
    try (DatasetReader reader =
        reader(
            DatasetFormat.MESSAGES,
            OnError.SKIP_AND_REPORT,
            ReadLimits.DEFAULT,
            OK_MESSAGES,
            badMessages,
            OK_MESSAGES)) {
      assertEquals(List.of(1L, 3L), reader.stream().map(DatasetRecord::line).toList());
      assertEquals(
          List.of(new ReadReport.SkippedLine(2, "messages[1].content", loneLow(1))),
          reader.report().skipped());
    }

    Path file = dir.resolve("sharegpt.jsonl");
    Files.writeString(
        file,
        "{\"conversations\": [{\"from\": \"human\", \"value\": \"q"
            + HIGH
            + "\"}, {\"from\": \"gpt\", \"value\": \"a\"}]}\n"
            + "{\"conversations\": [{\"from\": \"human\", \"value\": \"q\"},"
            + " {\"from\": \"gpt\", \"value\": \"a\"}]}\n");
    try (DatasetReader reader =
        DatasetReader.open(file, DatasetFormat.AUTO, OnError.SKIP_AND_REPORT)) {
      assertEquals(List.of(2L), reader.stream().map(DatasetRecord::line).toList());
      ReadReport report = reader.report();
      assertEquals(DatasetFormat.SHAREGPT, report.format());
      assertEquals(
          List.of(file + ":1: field \"conversations[0].value\": " + loneHigh(1)),
          report.skipped().stream().map(s -> s.describe(report.source())).toList());
    }

    try (DatasetReader reader =
        reader(
            DatasetFormat.ALPACA,
            OnError.SKIP_AND_REPORT,
            ReadLimits.DEFAULT,
            "{\"instruction\": \"q\", \"input\": \"" + HIGH + "\", \"output\": \"a\"}",
            "{\"instruction\": \"q\", \"output\": \"a\"}")) {
      assertEquals(List.of(2L), reader.stream().map(DatasetRecord::line).toList());
      assertEquals(
          List.of(new ReadReport.SkippedLine(1, "input", loneHigh(0))), reader.report().skipped());
    }
  }

  @Test
  void aLoneSurrogateQuotedInAnotherErrorIsEscaped() {
    // A string where an object belongs: the message quotes it, and must not carry the surrogate.
    DatasetException e =
        failure(DatasetFormat.MESSAGES, ReadLimits.DEFAULT, "{\"messages\": [\"x" + HIGH + "\"]}");
    assertError(
        e,
        1,
        "messages[0]",
        "must be an object {\"role\": ..., \"content\": ...} but was a string (\"x\\ud800\")");
  }

  // ---------------------------------------------------------------- characters per example

  @Test
  void theFieldThatPassesTheLimitIsNamedWithTheCountAndTheLimit() {
    // 5 + 6 = 11 content characters; the roles do not count.
    DatasetException e =
        failure(
            DatasetFormat.MESSAGES,
            new ReadLimits(10),
            "{\"messages\": [{\"role\": \"user\", \"content\": \"12345\"},"
                + " {\"role\": \"assistant\", \"content\": \"678901\"}]}");
    assertError(e, 1, "messages[1].content", tooLong(11, 6, 10));
  }

  @Test
  void aPlainTextPastTheLimitIsRejectedAtItsField() {
    try (DatasetReader reader =
        reader(
            DatasetFormat.TEXT,
            OnError.FAIL_FAST,
            new ReadLimits(10),
            "{\"text\": \"0123456789\"}")) {
      assertEquals(1, reader.readAll().size());
    }
    DatasetException e =
        failure(DatasetFormat.TEXT, new ReadLimits(10), "{\"text\": \"01234567890\"}");
    assertError(e, 1, "text", tooLong(11, 11, 10));
  }

  @Test
  void anExampleExactlyAtTheLimitIsRead() {
    try (DatasetReader reader =
        reader(
            DatasetFormat.SHAREGPT,
            OnError.FAIL_FAST,
            new ReadLimits(10),
            "{\"conversations\": [{\"from\": \"human\", \"value\": \"12345\"},"
                + " {\"from\": \"gpt\", \"value\": \"67890\"}]}")) {
      assertEquals(1, reader.readAll().size());
    }
    DatasetException e =
        failure(
            DatasetFormat.SHAREGPT,
            new ReadLimits(9),
            "{\"conversations\": [{\"from\": \"human\", \"value\": \"12345\"},"
                + " {\"from\": \"gpt\", \"value\": \"67890\"}]}");
    assertError(e, 1, "conversations[1].value", tooLong(10, 5, 9));
  }

  @Test
  void alpacaFieldsCountInConversationOrder() {
    // system, instruction, input, output: 4 + 4 + 4 > 10 at "input" (the joiner does not count).
    String row =
        "{\"output\": \"oooo\", \"input\": \"iiii\", \"instruction\": \"qqqq\", \"system\": \"ssss\"}";
    assertError(
        failure(DatasetFormat.ALPACA, new ReadLimits(10), row), 1, "input", tooLong(12, 4, 10));
    assertError(
        failure(DatasetFormat.AUTO, new ReadLimits(15), row), 1, "output", tooLong(16, 4, 15));
    try (DatasetReader reader =
        reader(DatasetFormat.ALPACA, OnError.FAIL_FAST, new ReadLimits(16), row)) {
      assertEquals(1, reader.readAll().size());
    }
  }

  @Test
  void charactersAreUtf16UnitsSoAnEmojiCountsTwo() {
    DatasetException e =
        failure(
            DatasetFormat.ALPACA,
            new ReadLimits(3),
            "{\"instruction\": \"\\ud83d\\ude00\", \"output\": \"\uD83D\uDE00\"}");
    assertError(e, 1, "output", tooLong(4, 2, 3));
  }

  @Test
  void skipModeSkipsAndListsOverlongExamples() {
    try (DatasetReader reader =
        reader(
            DatasetFormat.AUTO,
            OnError.SKIP_AND_REPORT,
            new ReadLimits(4),
            "{\"instruction\": \"12\", \"output\": \"345\"}",
            "{\"instruction\": \"12\", \"output\": \"34\"}")) {
      assertEquals(List.of(2L), reader.stream().map(DatasetRecord::line).toList());
      ReadReport report = reader.report();
      assertEquals(DatasetFormat.ALPACA, report.format());
      assertEquals(2, report.linesRead());
      assertEquals(
          List.of(new ReadReport.SkippedLine(1, "output", tooLong(5, 3, 4))), report.skipped());
    }
  }

  @Test
  void theDefaultAllowsOneMillionCharactersInTheOldSignatures() throws IOException {
    assertEquals(1_000_000, ReadLimits.DEFAULT.maxExampleChars());
    String atLimit = "x".repeat(ReadLimits.DEFAULT_MAX_EXAMPLE_CHARS - 1);
    Path file = dir.resolve("long.jsonl");
    Files.writeString(
        file,
        "{\"instruction\": \""
            + atLimit
            + "\", \"output\": \"a\"}\n"
            + "{\"instruction\": \""
            + atLimit
            + "\", \"output\": \"ab\"}\n");
    try (DatasetReader reader = DatasetReader.open(file, DatasetFormat.AUTO, OnError.FAIL_FAST)) {
      assertEquals(1, reader.next().line());
      DatasetException e = assertThrows(DatasetException.class, reader::next);
      assertEquals(2, e.line());
      assertEquals(Optional.of("output"), e.field());
      assertEquals(tooLong(1_000_001, 2, 1_000_000), e.reason());
    }
    byte[] bytes = Files.readAllBytes(file);
    try (DatasetReader reader =
        DatasetReader.open(
            new ByteArrayInputStream(bytes),
            "long.jsonl",
            DatasetFormat.AUTO,
            OnError.SKIP_AND_REPORT)) {
      assertEquals(List.of(1L), reader.stream().map(DatasetRecord::line).toList());
      assertEquals(2, reader.report().skipped().get(0).line());
    }
  }

  @Test
  void aLimitBelowOneIsACallerMistake() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> new ReadLimits(0));
    assertEquals(
        "maxExampleChars must be >= 1 but was 0; the default is 1000000 characters per example",
        e.getMessage());
    assertThrows(
        NullPointerException.class,
        () ->
            DatasetReader.open(
                new ByteArrayInputStream(new byte[0]),
                "data.jsonl",
                DatasetFormat.AUTO,
                OnError.FAIL_FAST,
                null));
  }
}
