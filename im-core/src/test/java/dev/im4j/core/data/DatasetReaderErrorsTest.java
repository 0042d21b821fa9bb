package dev.im4j.core.data;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One test per kind of bad line, asserting the source, line, field and reason. */
class DatasetReaderErrorsTest {
  private static final String OK_MESSAGES =
      "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"},"
          + " {\"role\": \"assistant\", \"content\": \"a\"}]}";
  private static final String OK_ALPACA = "{\"instruction\": \"q\", \"output\": \"a\"}";
  private static final String OK_SHAREGPT =
      "{\"conversations\": [{\"from\": \"human\", \"value\": \"q\"},"
          + " {\"from\": \"gpt\", \"value\": \"a\"}]}";

  @TempDir Path dir;

  /** Reads {@code lines} (each followed by a newline) in fail-fast mode and returns the error. */
  private static DatasetException failure(DatasetFormat format, String... lines) {
    return failure(format, (String.join("\n", lines) + "\n").getBytes(UTF_8));
  }

  private static DatasetException failure(DatasetFormat format, byte[] bytes) {
    try (DatasetReader reader =
        DatasetReader.open(
            new ByteArrayInputStream(bytes), "data.jsonl", format, OnError.FAIL_FAST)) {
      return assertThrows(DatasetException.class, reader::readAll);
    }
  }

  private static void assertError(
      DatasetException e, long line, String field, String expectedMessage) {
    assertEquals("data.jsonl", e.source());
    assertEquals(line, e.line());
    assertEquals(field.isEmpty() ? Optional.empty() : Optional.of(field), e.field());
    assertEquals(expectedMessage, e.getMessage());
  }

  @Test
  void failureInAFileNamesThePathAndLine() throws IOException {
    Path file = dir.resolve("data.jsonl");
    Files.writeString(file, OK_MESSAGES + "\n\n{\"messages\": []}\n");
    try (DatasetReader reader =
        DatasetReader.open(file, DatasetFormat.MESSAGES, OnError.FAIL_FAST)) {
      DatasetException e = assertThrows(DatasetException.class, reader::readAll);
      assertEquals(
          file
              + ":3: field \"messages\": is empty; a conversation needs at least one user and one"
              + " assistant message",
          e.getMessage());
      assertEquals(file.toString(), e.source());
    }
  }

  @Test
  void unknownRole() {
    DatasetException e =
        failure(
            DatasetFormat.MESSAGES,
            OK_MESSAGES,
            "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"},"
                + " {\"role\": \"assistant\", \"content\": \"a\"},"
                + " {\"role\": \"bot\", \"content\": \"x\"}]}");
    assertError(
        e,
        2,
        "messages[2].role",
        "data.jsonl:2: field \"messages[2].role\": unknown role \"bot\"; allowed: system, user,"
            + " assistant");
    assertEquals("unknown role \"bot\"; allowed: system, user, assistant", e.reason());
  }

  @Test
  void unknownShareGptRoleListsItsOwnNames() {
    assertError(
        failure(
            DatasetFormat.SHAREGPT,
            "{\"conversations\": [{\"from\": \"robot\\n\", \"value\": \"q\"}]}"),
        1,
        "conversations[0].from",
        "data.jsonl:1: field \"conversations[0].from\": unknown role \"robot\\n\"; allowed:"
            + " system, human, gpt, user, assistant");
  }

  @Test
  void malformedJson() {
    DatasetException e = failure(DatasetFormat.AUTO, OK_ALPACA, "{\"instruction\": \"q\",, }");
    assertEquals(2, e.line());
    assertEquals(Optional.empty(), e.field());
    assertTrue(
        e.getMessage().startsWith("data.jsonl:2: malformed JSON at column 21: "), e.getMessage());
  }

  @Test
  void trailingContentAfterTheObject() {
    DatasetException e = failure(DatasetFormat.AUTO, OK_ALPACA + " " + OK_ALPACA);
    assertTrue(e.getMessage().startsWith("data.jsonl:1: malformed JSON"), e.getMessage());
  }

  @Test
  void duplicateKey() {
    DatasetException e =
        failure(
            DatasetFormat.ALPACA, "{\"instruction\": \"q\", \"output\": \"a\", \"output\": \"b\"}");
    assertTrue(e.getMessage().startsWith("data.jsonl:1: malformed JSON at column"), e.getMessage());
    assertTrue(e.getMessage().contains("Duplicate field 'output'"), e.getMessage());
  }

  @Test
  void prettyPrintedJsonIsNotJsonLines() {
    DatasetException e = failure(DatasetFormat.AUTO, "{", "  \"instruction\": \"q\"", "}");
    assertEquals(1, e.line());
    assertTrue(
        e.getMessage()
            .startsWith("data.jsonl:1: malformed JSON: the line ends inside a JSON value"),
        e.getMessage());
    assertTrue(e.getMessage().endsWith("so pretty-printed JSON is not JSON Lines"), e.getMessage());
  }

  @Test
  void controlCharacterLineIsNotBlank() {
    DatasetException e = failure(DatasetFormat.AUTO, "\u001f");
    assertTrue(e.getMessage().startsWith("data.jsonl:1: malformed JSON"), e.getMessage());
  }

  @Test
  void notAnObject() {
    assertError(
        failure(DatasetFormat.AUTO, "[1, 2]"),
        1,
        "",
        "data.jsonl:1: expected one JSON object per line but found an array of 2 elements");
    assertError(
        failure(DatasetFormat.MESSAGES, "\"text\""),
        1,
        "",
        "data.jsonl:1: expected one JSON object per line but found a string (\"text\")");
  }

  @Test
  void missingAlpacaField() {
    assertError(
        failure(DatasetFormat.ALPACA, OK_ALPACA, "{\"instruction\": \"q\", \"input\": \"i\"}"),
        2,
        "output",
        "data.jsonl:2: field \"output\": missing; required in alpaca rows: \"instruction\" and"
            + " \"output\" strings");
  }

  @Test
  void missingTurnListHintsAtTheFormatTheLineHas() {
    assertError(
        failure(DatasetFormat.MESSAGES, OK_SHAREGPT),
        1,
        "messages",
        "data.jsonl:1: field \"messages\": missing; required in messages rows: an array of"
            + " {\"role\": ..., \"content\": ...} objects (the line looks like sharegpt"
            + " (\"conversations\"): read it as DatasetFormat.SHAREGPT or AUTO)");
  }

  @Test
  void missingContent() {
    assertError(
        failure(
            DatasetFormat.MESSAGES,
            "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}, {\"role\": \"assistant\"}]}"),
        1,
        "messages[1].content",
        "data.jsonl:1: field \"messages[1].content\": missing; required in every messages turn");
  }

  @Test
  void contentOfTheWrongType() {
    String template =
        "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"},"
            + " {\"role\": \"assistant\", \"content\": %s}]}";
    assertError(
        failure(DatasetFormat.MESSAGES, String.format(template, "42")),
        1,
        "messages[1].content",
        "data.jsonl:1: field \"messages[1].content\": must be a string but was a number (42)");
    assertError(
        failure(DatasetFormat.MESSAGES, String.format(template, "null")),
        1,
        "messages[1].content",
        "data.jsonl:1: field \"messages[1].content\": must be a string but was null");
    assertError(
        failure(DatasetFormat.MESSAGES, String.format(template, "[\"a\"]")),
        1,
        "messages[1].content",
        "data.jsonl:1: field \"messages[1].content\": must be a string but was an array of 1"
            + " element");
    assertError(
        failure(DatasetFormat.MESSAGES, String.format(template, "true")),
        1,
        "messages[1].content",
        "data.jsonl:1: field \"messages[1].content\": must be a string but was a boolean (true)");
  }

  @Test
  void alpacaOptionalFieldsMustBeStringsWhenPresent() {
    assertError(
        failure(
            DatasetFormat.ALPACA, "{\"instruction\": \"q\", \"input\": null, \"output\": \"a\"}"),
        1,
        "input",
        "data.jsonl:1: field \"input\": must be a string but was null; omit the optional field or"
            + " use \"\"");
    assertError(
        failure(
            DatasetFormat.ALPACA, "{\"instruction\": \"q\", \"output\": \"a\", \"system\": {}}"),
        1,
        "system",
        "data.jsonl:1: field \"system\": must be a string but was an object");
  }

  @Test
  void turnListOfTheWrongTypeAndTurnThatIsNotAnObject() {
    assertError(
        failure(DatasetFormat.MESSAGES, "{\"messages\": \"hello\"}"),
        1,
        "messages",
        "data.jsonl:1: field \"messages\": must be an array of {\"role\": ..., \"content\": ...}"
            + " objects but was a string (\"hello\")");
    assertError(
        failure(DatasetFormat.SHAREGPT, "{\"conversations\": [\"hi\"]}"),
        1,
        "conversations[0]",
        "data.jsonl:1: field \"conversations[0]\": must be an object {\"from\": ..., \"value\":"
            + " ...} but was a string (\"hi\")");
  }

  @Test
  void emptyMessagesList() {
    assertError(
        failure(DatasetFormat.MESSAGES, "{\"messages\": []}"),
        1,
        "messages",
        "data.jsonl:1: field \"messages\": is empty; a conversation needs at least one user and"
            + " one assistant message");
  }

  @Test
  void conversationWithoutAssistantMessage() {
    assertError(
        failure(
            DatasetFormat.MESSAGES,
            "{\"messages\": [{\"role\": \"system\", \"content\": \"s\"},"
                + " {\"role\": \"user\", \"content\": \"q\"}]}"),
        1,
        "messages",
        "data.jsonl:1: field \"messages\": has no assistant message (roles: system, user), so"
            + " there is no output to learn; add an assistant turn or drop the row");
  }

  @Test
  void invalidUtf8InTheMiddleOfTheFile() throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    bytes.write((OK_ALPACA + "\n").getBytes(UTF_8));
    bytes.write("{\"instruction\": \"caf".getBytes(UTF_8));
    bytes.write(new byte[] {(byte) 0xC3, (byte) 0x28}); // 0xC3 must be followed by 0x80..0xBF
    bytes.write("\", \"output\": \"a\"}\n".getBytes(UTF_8));
    bytes.write((OK_ALPACA + "\n").getBytes(UTF_8));
    Path file = dir.resolve("latin.jsonl");
    Files.write(file, bytes.toByteArray());

    try (DatasetReader reader = DatasetReader.open(file, DatasetFormat.AUTO, OnError.FAIL_FAST)) {
      assertEquals(1, reader.next().line());
      DatasetException e = assertThrows(DatasetException.class, reader::next);
      assertEquals(
          file
              + ":2: invalid UTF-8 at byte 21 of the line (bytes 0xC3); the file must be UTF-8:"
              + " re-encode it, e.g. with iconv",
          e.getMessage());
    }
    try (DatasetReader reader =
        DatasetReader.open(file, DatasetFormat.AUTO, OnError.SKIP_AND_REPORT)) {
      assertEquals(List.of(1L, 3L), reader.stream().map(DatasetRecord::line).toList());
      assertEquals(List.of(2L), reader.report().skipped().stream().map(s -> s.line()).toList());
    }
  }

  @Test
  void encodedSurrogateIsInvalidUtf8() {
    byte[] line = {'{', '"', (byte) 0xED, (byte) 0xA0, (byte) 0x80, '"', ':', '1', '}', '\n'};
    DatasetException e = failure(DatasetFormat.AUTO, line);
    assertTrue(
        e.getMessage().startsWith("data.jsonl:1: invalid UTF-8 at byte 3 of the line"),
        e.getMessage());
  }

  @Test
  void incompleteUtf8SequenceAtTheEndOfALine() {
    byte[] line = {'{', '}', (byte) 0xE2, (byte) 0x82, '\n'};
    assertError(
        failure(DatasetFormat.AUTO, line),
        1,
        "",
        "data.jsonl:1: invalid UTF-8 at byte 3 of the line: incomplete multi-byte sequence (bytes"
            + " 0xE2 0x82) at the end of the line; the file must be UTF-8: re-encode it, e.g. with"
            + " iconv");
  }

  @Test
  void truncatedLastLine() {
    DatasetException e =
        failure(
            DatasetFormat.AUTO, (OK_ALPACA + "\n{\"instruction\": \"q\", \"outp").getBytes(UTF_8));
    assertEquals(2, e.line());
    assertTrue(
        e.getMessage()
            .startsWith(
                "data.jsonl:2: truncated last line: the file ends inside a JSON value, without a"
                    + " final newline ("),
        e.getMessage());
    assertTrue(e.getMessage().endsWith("the file was probably cut off, re-create it"));
  }

  @Test
  void truncatedInsideAUtf8Character() {
    byte[] head = (OK_ALPACA + "\n{\"instruction\": \"").getBytes(UTF_8);
    byte[] bytes = Arrays.copyOf(head, head.length + 1);
    bytes[head.length] = (byte) 0xE2; // first byte of a three-byte character
    assertError(
        failure(DatasetFormat.AUTO, bytes),
        2,
        "",
        "data.jsonl:2: truncated last line: the file ends inside a UTF-8 character (bytes 0xE2)"
            + " and without a final newline; the file was probably cut off, re-create it");
  }

  @Test
  void textRowWithoutTextOrWithTextOfTheWrongType() {
    String ok = "{\"text\": \"a\"}";
    assertError(
        failure(DatasetFormat.TEXT, ok, "{\"content\": \"a\"}"),
        2,
        "text",
        "data.jsonl:2: field \"text\": missing; required in text rows: a \"text\" string");
    assertError(
        failure(DatasetFormat.TEXT, ok, ok, "{\"text\": 42}"),
        3,
        "text",
        "data.jsonl:3: field \"text\": must be a string but was a number (42)");
    assertError(
        failure(DatasetFormat.TEXT, "{\"text\": null}"),
        1,
        "text",
        "data.jsonl:1: field \"text\": must be a string but was null");
    assertError(
        failure(DatasetFormat.TEXT, "{\"text\": [\"a\", \"b\"]}"),
        1,
        "text",
        "data.jsonl:1: field \"text\": must be a string but was an array of 2 elements");
    assertTrue(
        failure(DatasetFormat.TEXT, "{\"text\": \"x\\ud800y\"}")
            .getMessage()
            .startsWith(
                "data.jsonl:1: field \"text\": contains a lone surrogate \\ud800 at character 1"));
  }

  @Test
  void textRowReadAsAnotherFormatHintsAtText() {
    assertError(
        failure(DatasetFormat.MESSAGES, "{\"text\": \"a\"}"),
        1,
        "messages",
        "data.jsonl:1: field \"messages\": missing; required in messages rows: an array of"
            + " {\"role\": ..., \"content\": ...} objects (the line looks like text"
            + " (\"text\"): read it as DatasetFormat.TEXT or AUTO)");
  }

  @Test
  void textMixedWithConversationsOrBesideThemIsRejected() {
    assertError(
        failure(DatasetFormat.AUTO, "{\"text\": \"a\"}", OK_MESSAGES),
        2,
        "",
        "data.jsonl:2: mixed formats: the line is messages (\"messages\") but line 1 made this"
            + " source text; a source must use one format, so convert the line or split the file");
    assertError(
        failure(DatasetFormat.AUTO, "{\"text\": \"a\", \"instruction\": \"q\", \"output\": \"a\"}"),
        1,
        "",
        "data.jsonl:1: ambiguous format: the line has fields of alpaca (\"instruction\"/\"output\")"
            + " and text (\"text\"); choose the format explicitly instead of AUTO");
  }

  @Test
  void undetectableFormat() {
    assertError(
        failure(DatasetFormat.AUTO, "{\"prompt\": \"q\", \"completion\": \"a\"}"),
        1,
        "",
        "data.jsonl:1: cannot detect the format: the object has none of alpaca"
            + " (\"instruction\"/\"output\"), messages (\"messages\"), sharegpt (\"conversations\"),"
            + " text (\"text\"); fix the line or choose the format explicitly");
  }

  @Test
  void ambiguousFormat() {
    assertError(
        failure(
            DatasetFormat.AUTO, "{\"instruction\": \"q\", \"output\": \"a\", \"messages\": []}"),
        1,
        "",
        "data.jsonl:1: ambiguous format: the line has fields of alpaca (\"instruction\"/\"output\")"
            + " and messages (\"messages\"); choose the format explicitly instead of AUTO");
  }

  @Test
  void explicitFormatIgnoresOtherFormatsFields() {
    try (DatasetReader reader =
        DatasetReader.open(
            new ByteArrayInputStream(
                "{\"instruction\": \"q\", \"output\": \"a\", \"messages\": []}\n".getBytes(UTF_8)),
            "data.jsonl",
            DatasetFormat.ALPACA,
            OnError.FAIL_FAST)) {
      assertEquals(1, reader.readAll().size());
    }
  }

  @Test
  void mixedFormatsAreRejectedAfterDetection() {
    assertError(
        failure(DatasetFormat.AUTO, "", OK_MESSAGES, OK_MESSAGES, OK_SHAREGPT),
        4,
        "",
        "data.jsonl:4: mixed formats: the line is sharegpt (\"conversations\") but line 2 made"
            + " this source messages; a source must use one format, so convert the line or split"
            + " the file");
  }

  @Test
  void detectionUsesTheFirstValidLine() {
    String text = "{\"messages\": []}\n" + OK_ALPACA + "\n" + OK_MESSAGES + "\n";
    try (DatasetReader reader =
        DatasetReader.open(
            new ByteArrayInputStream(text.getBytes(UTF_8)),
            "data.jsonl",
            DatasetFormat.AUTO,
            OnError.SKIP_AND_REPORT)) {
      assertEquals(List.of(2L), reader.stream().map(DatasetRecord::line).toList());
      ReadReport report = reader.report();
      assertEquals(DatasetFormat.ALPACA, report.format());
      assertEquals(
          List.of(
              "data.jsonl:1: field \"messages\": is empty; a conversation needs at least one user"
                  + " and one assistant message",
              "data.jsonl:3: mixed formats: the line is messages (\"messages\") but line 2 made"
                  + " this source alpaca; a source must use one format, so convert the line or"
                  + " split the file"),
          report.skipped().stream().map(s -> s.describe(report.source())).toList());
    }
  }

  @Test
  void failFastRethrowsTheSameErrorAndCountsOnlyGoodLines() {
    byte[] bytes = (OK_ALPACA + "\n\n{}\n" + OK_ALPACA + "\n").getBytes(UTF_8);
    try (DatasetReader reader =
        DatasetReader.open(
            new ByteArrayInputStream(bytes), "data.jsonl", DatasetFormat.AUTO, OnError.FAIL_FAST)) {
      assertEquals(1, reader.next().line());
      DatasetException first = assertThrows(DatasetException.class, reader::hasNext);
      assertSame(first, assertThrows(DatasetException.class, reader::next));
      assertEquals(3, first.line());
      assertEquals(
          new ReadReport("data.jsonl", DatasetFormat.ALPACA, 2, 1, 1, 0, List.of()),
          reader.report());
    }
  }

  @Test
  void longQuotedValuesAreCut() {
    String role = "x".repeat(100);
    DatasetException e =
        failure(
            DatasetFormat.MESSAGES,
            "{\"messages\": [{\"role\": \"" + role + "\", \"content\": \"q\"}]}");
    assertEquals(
        "unknown role \"" + "x".repeat(60) + "\"...; allowed: system, user, assistant", e.reason());
  }

  @Test
  void missingFileIsADatasetException() {
    Path missing = dir.resolve("missing.jsonl");
    DatasetException e =
        assertThrows(
            DatasetException.class,
            () -> DatasetReader.open(missing, DatasetFormat.AUTO, OnError.FAIL_FAST));
    assertEquals(0, e.line());
    assertTrue(e.getMessage().startsWith(missing + ": cannot open the dataset file: "));
    assertTrue(e.getCause() instanceof NoSuchFileException);
  }
}
