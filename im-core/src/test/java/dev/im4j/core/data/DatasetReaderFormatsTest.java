package dev.im4j.core.data;

import static dev.im4j.core.data.Message.assistant;
import static dev.im4j.core.data.Message.system;
import static dev.im4j.core.data.Message.user;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Hand-written fixture files in each format read to the conversations written out here. */
class DatasetReaderFormatsTest {

  static Path fixture(String name) {
    try {
      return Path.of(DatasetReaderFormatsTest.class.getResource("/data/" + name).toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  private static List<DatasetRecord> readAll(Path path, DatasetFormat format) {
    try (DatasetReader reader = DatasetReader.open(path, format, OnError.FAIL_FAST)) {
      return reader.readAll();
    }
  }

  private static List<Conversation> conversations(List<DatasetRecord> records) {
    return records.stream().map(r -> (Conversation) r.example()).toList();
  }

  private static List<Example> examples(List<DatasetRecord> records) {
    return records.stream().map(DatasetRecord::example).toList();
  }

  private static List<Long> lines(List<DatasetRecord> records) {
    return records.stream().map(DatasetRecord::line).toList();
  }

  @Test
  void alpacaRowsBecomeOptionalSystemUserAndAssistant() {
    Path path = fixture("alpaca.jsonl");
    List<DatasetRecord> records = readAll(path, DatasetFormat.ALPACA);

    assertEquals(
        List.of(
            Conversation.of(user("Name a prime number."), assistant("7")),
            Conversation.of(user("Translate to French.\n\nGood morning"), assistant("Bonjour")),
            Conversation.of(user("Say nothing."), assistant("")),
            Conversation.of(
                system("You are terse."),
                user("Résumé de «Faust» 🎭"),
                assistant("Ein Pakt. 契約。"))),
        conversations(records));
    assertEquals(List.of(1L, 2L, 4L, 5L), lines(records));
    assertEquals(path.toString(), records.get(0).source());
  }

  @Test
  void alpacaInputJoinerIsABlankLine() {
    assertEquals("\n\n", DatasetFormat.ALPACA_INPUT_JOINER);
  }

  @Test
  void messagesRowsKeepEveryTurnAndIgnoreExtraFields() {
    List<DatasetRecord> records = readAll(fixture("messages.jsonl"), DatasetFormat.MESSAGES);

    assertEquals(
        List.of(
            Conversation.of(user("2+2?"), assistant("4")),
            Conversation.of(
                system("Answer in one word."),
                user("Colour of the sky?"),
                assistant("Blue"),
                user("And at night?"),
                assistant("Black")),
            Conversation.of(user("Ελληνικά\tκαι\nνέα γραμμή"), assistant("")),
            Conversation.of(user(""), assistant("emoji 👩‍💻 and \u0000 escaped"))),
        conversations(records));
    assertEquals(List.of(1L, 2L, 3L, 5L), lines(records));
  }

  @Test
  void shareGptRowsMapHumanAndGptAndAcceptUserAndAssistant() {
    List<DatasetRecord> records = readAll(fixture("sharegpt.jsonl"), DatasetFormat.SHAREGPT);

    assertEquals(
        List.of(
            Conversation.of(user("Hi"), assistant("Hello!")),
            Conversation.of(
                system("Be kind."),
                user("日本語で？"),
                assistant("はい。"),
                user("Thanks"),
                assistant(""))),
        conversations(records));
  }

  @Test
  void textRowsBecomePlainTextsAndIgnoreExtraFields() {
    try (DatasetReader reader =
        DatasetReader.open(fixture("text.jsonl"), DatasetFormat.TEXT, OnError.FAIL_FAST)) {
      List<DatasetRecord> records = reader.readAll();
      assertEquals(
          List.of(
              new PlainText("The storm abated."),
              new PlainText(""),
              new PlainText("Ελληνικά\tκαι\nνέα γραμμή 👩‍💻 </s> inside")),
          records.stream().map(DatasetRecord::example).toList());
      assertEquals(List.of(1L, 2L, 4L), lines(records));
      ReadReport report = reader.report();
      assertEquals(4, report.linesRead());
      assertEquals(1, report.blankLines());
      assertEquals(1, report.emptyContents()); // the empty text
    }
  }

  @Test
  void autoDetectsEachFixtureAsItsOwnFormat() {
    for (DatasetFormat format : DatasetFormat.concrete()) {
      Path path = fixture(format.displayName() + ".jsonl");
      try (DatasetReader auto = DatasetReader.open(path, DatasetFormat.AUTO, OnError.FAIL_FAST)) {
        assertEquals(examples(readAll(path, format)), examples(auto.readAll()));
        assertEquals(format, auto.report().format());
      }
    }
  }

  @Test
  void reportCountsLinesBlankLinesAndEmptyContents() {
    try (DatasetReader reader =
        DatasetReader.open(fixture("messages.jsonl"), DatasetFormat.AUTO, OnError.FAIL_FAST)) {
      reader.readAll();
      ReadReport report = reader.report();
      assertEquals(5, report.linesRead());
      assertEquals(4, report.examples());
      assertEquals(1, report.blankLines());
      assertEquals(2, report.emptyContents());
      assertEquals(List.of(), report.skipped());
      assertEquals(DatasetFormat.MESSAGES, report.format());
    }
  }

  @Test
  void alpacaReportCountsEmptyOutputAndBlankLine() {
    try (DatasetReader reader =
        DatasetReader.open(fixture("alpaca.jsonl"), DatasetFormat.ALPACA, OnError.FAIL_FAST)) {
      reader.readAll();
      ReadReport report = reader.report();
      assertEquals(
          report.source()
              + ": 5 lines, 4 examples, 1 blank, 0 skipped, 1 empty messages"
              + " (format alpaca)",
          report.summary());
    }
  }

  @Test
  void alpacaEmptySystemFieldStillGivesASystemMessage() {
    assertEquals(
        List.of(Conversation.of(system(""), user("q"), assistant("a"))),
        conversations(read("{\"system\": \"\", \"instruction\": \"q\", \"output\": \"a\"}\n")));
  }

  @Test
  void crlfLineEndingsAndByteOrderMarkAreDropped() {
    String text =
        "\uFEFF{\"instruction\": \"q\", \"output\": \"a\"}\r\n"
            + "{\"instruction\": \"q2\", \"output\": \"a2\"}\r\n";
    assertEquals(
        List.of(
            Conversation.of(user("q"), assistant("a")),
            Conversation.of(user("q2"), assistant("a2"))),
        conversations(read(text)));
  }

  @Test
  void lastLineWithoutNewlineIsReadWhenComplete() {
    assertEquals(
        List.of(Conversation.of(user("q"), assistant("a"))),
        conversations(read("\n{\"instruction\": \"q\", \"output\": \"a\"}")));
  }

  @Test
  void roleNamesAreCaseInsensitive() {
    assertEquals(
        List.of(Conversation.of(user("q"), assistant("a"))),
        conversations(
            read(
                "{\"conversations\": [{\"from\": \"Human\", \"value\": \"q\"},"
                    + " {\"from\": \"GPT\", \"value\": \"a\"}]}\n")));
  }

  @Test
  void emptyInputHasNoExamples() {
    try (DatasetReader reader =
        DatasetReader.open(
            new ByteArrayInputStream(new byte[0]),
            "empty",
            DatasetFormat.AUTO,
            OnError.FAIL_FAST)) {
      assertEquals(List.of(), reader.readAll());
      assertEquals(
          new ReadReport("empty", DatasetFormat.AUTO, 0, 0, 0, 0, List.of()), reader.report());
    }
  }

  private static List<DatasetRecord> read(String text) {
    try (DatasetReader reader =
        DatasetReader.open(
            new ByteArrayInputStream(text.getBytes(UTF_8)),
            "inline",
            DatasetFormat.AUTO,
            OnError.FAIL_FAST)) {
      return reader.readAll();
    }
  }
}
