package dev.im4j.core.data;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.stream.IntStream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/** Conversations written in each format read back equal; every line is accounted for. */
class DatasetReaderProperties {
  private static final ObjectMapper JSON = new ObjectMapper();

  // ---------------------------------------------------------------- round trips

  @Property
  void messagesRoundTrip(@ForAll("chats") List<Conversation> chats, @ForAll long seed) {
    Random random = new Random(seed);
    byte[] file = jsonl(chats, chat -> turns(chat, "messages", "role", "content", random));
    assertEquals(chats, read(file, DatasetFormat.MESSAGES));
    assertEquals(chats, read(file, DatasetFormat.AUTO));
  }

  @Property
  void shareGptRoundTrip(@ForAll("chats") List<Conversation> chats, @ForAll long seed) {
    Random random = new Random(seed);
    byte[] file = jsonl(chats, chat -> turns(chat, "conversations", "from", "value", random));
    assertEquals(chats, read(file, DatasetFormat.SHAREGPT));
    assertEquals(chats, read(file, DatasetFormat.AUTO));
  }

  @Property
  void alpacaRoundTrip(@ForAll("alpacaChats") List<Conversation> chats, @ForAll long seed) {
    Random random = new Random(seed);
    byte[] file =
        jsonl(
            chats,
            chat -> {
              ObjectNode row = JSON.createObjectNode();
              row.put("id", random.nextInt());
              int i = 0;
              if (chat.size() == 3) {
                row.put("system", chat.get(i++).content());
              }
              row.put("instruction", chat.get(i++).content());
              if (random.nextBoolean()) {
                row.put("input", ""); // an empty input adds nothing to the instruction
              }
              row.put("output", chat.get(i).content());
              return row;
            });
    assertEquals(chats, read(file, DatasetFormat.ALPACA));
    assertEquals(chats, read(file, DatasetFormat.AUTO));
  }

  @Property
  void alpacaJoinsANonEmptyInputAfterTheInstruction(
      @ForAll("text") String instruction,
      @ForAll("nonEmptyText") String input,
      @ForAll("text") String output) {
    ObjectNode row = JSON.createObjectNode();
    row.put("instruction", instruction).put("input", input).put("output", output);
    assertEquals(
        List.of(
            Conversation.of(
                Message.user(instruction + DatasetFormat.ALPACA_INPUT_JOINER + input),
                Message.assistant(output))),
        read(jsonl(List.of(row), r -> r), DatasetFormat.ALPACA));
  }

  // ---------------------------------------------------------------- accounting

  /** Kinds of line, each with how it is written. */
  enum LineKind {
    VALID(
        "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"},"
            + " {\"role\": \"assistant\", \"content\": \"a\"}]}"),
    BLANK(" \t"),
    MALFORMED("{\"messages\": [}"),
    NOT_AN_OBJECT("[]"),
    UNKNOWN_ROLE("{\"messages\": [{\"role\": \"bot\", \"content\": \"a\"}]}"),
    NO_ASSISTANT("{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}]}"),
    WRONG_TYPE("{\"messages\": [{\"role\": \"assistant\", \"content\": 1.5}]}"),
    INVALID_UTF8(null);

    private final String text;

    LineKind(String text) {
      this.text = text;
    }

    boolean bad() {
      return this != VALID && this != BLANK;
    }

    void writeTo(ByteArrayOutputStream out) {
      if (text == null) {
        out.writeBytes("{\"messages\": \"".getBytes(UTF_8));
        out.write(0xFF); // never valid in UTF-8
        out.writeBytes("\"}".getBytes(UTF_8));
      } else {
        out.writeBytes(text.getBytes(UTF_8));
      }
      out.write('\n');
    }
  }

  @Property
  void skipModeAccountsForEveryLine(@ForAll("lineKinds") List<LineKind> kinds) {
    byte[] file = write(kinds);
    try (DatasetReader reader =
        DatasetReader.open(
            new ByteArrayInputStream(file),
            "mixed.jsonl",
            DatasetFormat.MESSAGES,
            OnError.SKIP_AND_REPORT)) {
      List<Long> examples = reader.stream().map(DatasetRecord::line).toList();
      ReadReport report = reader.report();

      assertEquals(linesOf(kinds, LineKind.VALID::equals), examples);
      assertEquals(
          linesOf(kinds, LineKind::bad),
          report.skipped().stream().map(ReadReport.SkippedLine::line).toList());
      assertEquals(kinds.size(), report.linesRead());
      assertEquals(examples.size(), report.examples());
      assertEquals(linesOf(kinds, LineKind.BLANK::equals).size(), report.blankLines());
    }
  }

  @Property
  void failFastStopsAtTheFirstBadLine(@ForAll("lineKinds") List<LineKind> kinds) {
    byte[] file = write(kinds);
    List<Long> bad = linesOf(kinds, LineKind::bad);
    try (DatasetReader reader =
        DatasetReader.open(
            new ByteArrayInputStream(file),
            "mixed.jsonl",
            DatasetFormat.MESSAGES,
            OnError.FAIL_FAST)) {
      if (bad.isEmpty()) {
        assertEquals(linesOf(kinds, LineKind.VALID::equals).size(), reader.readAll().size());
      } else {
        DatasetException e = assertThrows(DatasetException.class, reader::readAll);
        assertEquals(bad.get(0), e.line());
        assertEquals(bad.get(0) - 1, reader.report().linesRead());
      }
    }
  }

  // ---------------------------------------------------------------- generators

  /**
   * Strings mixing ASCII, control characters, line and paragraph separators, the byte order mark,
   * JSON's special characters, BMP and supplementary characters; often empty.
   */
  @Provide
  Arbitrary<String> text() {
    Arbitrary<Integer> codePoint =
        Arbitraries.frequencyOf(
            Tuple.of(4, Arbitraries.integers().between(0x20, 0x7E)),
            Tuple.of(2, Arbitraries.integers().between(0x00, 0x1F)),
            Tuple.of(2, Arbitraries.of(0x7F, 0x85, 0x2028, 0x2029, 0xFEFF, 0xFFFD, 0xFFFF)),
            Tuple.of(2, Arbitraries.of((int) '"', (int) '\\', (int) '\n', (int) '\r')),
            Tuple.of(2, Arbitraries.integers().between(0xA0, 0xD7FF)),
            Tuple.of(1, Arbitraries.integers().between(0xE000, 0xFFFF)),
            Tuple.of(2, Arbitraries.integers().between(0x10000, 0x10FFFF)));
    Arbitrary<String> nonEmpty =
        codePoint
            .list()
            .ofMinSize(1)
            .ofMaxSize(16)
            .map(
                codePoints -> {
                  StringBuilder out = new StringBuilder();
                  codePoints.forEach(out::appendCodePoint);
                  return out.toString();
                });
    return Arbitraries.frequencyOf(Tuple.of(1, Arbitraries.just("")), Tuple.of(4, nonEmpty));
  }

  @Provide
  Arbitrary<String> nonEmptyText() {
    return text().filter(s -> !s.isEmpty());
  }

  /** Conversations of 1 to 6 messages in any role order, with at least one assistant message. */
  @Provide
  Arbitrary<List<Conversation>> chats() {
    Arbitrary<Message> message =
        Combinators.combine(Arbitraries.of(Role.class), text()).as(Message::new);
    Arbitrary<Conversation> chat =
        message
            .list()
            .ofMinSize(1)
            .ofMaxSize(6)
            .map(
                messages -> {
                  List<Message> out = new ArrayList<>(messages);
                  if (out.stream().noneMatch(m -> m.role() == Role.ASSISTANT)) {
                    int last = out.size() - 1;
                    out.set(last, Message.assistant(out.get(last).content()));
                  }
                  return new Conversation(out);
                });
    return chat.list().ofMaxSize(5);
  }

  /** Alpaca-shaped conversations: optional system, one user, one assistant message. */
  @Provide
  Arbitrary<List<Conversation>> alpacaChats() {
    Arbitrary<Conversation> chat =
        Combinators.combine(Arbitraries.of(true, false), text(), text(), text())
            .as(
                (withSystem, system, user, assistant) ->
                    withSystem
                        ? Conversation.of(
                            Message.system(system),
                            Message.user(user),
                            Message.assistant(assistant))
                        : Conversation.of(Message.user(user), Message.assistant(assistant)));
    return chat.list().ofMaxSize(5);
  }

  @Provide
  Arbitrary<List<LineKind>> lineKinds() {
    return Arbitraries.of(LineKind.class).list().ofMaxSize(30);
  }

  // ---------------------------------------------------------------- helpers

  /**
   * A row of a turn-list format; roles are written in the format's wire names, for ShareGPT
   * choosing between "human"/"user" and "gpt"/"assistant" at random, and an ignored "id" field.
   */
  private static ObjectNode turns(
      Conversation chat, String listField, String roleField, String contentField, Random random) {
    ObjectNode row = JSON.createObjectNode();
    row.put("id", random.nextLong());
    ArrayNode list = row.putArray(listField);
    for (Message message : chat.messages()) {
      String role = message.role().wireName();
      if (listField.equals("conversations") && random.nextBoolean()) {
        role =
            switch (message.role()) {
              case SYSTEM -> "system";
              case USER -> "human";
              case ASSISTANT -> "gpt";
            };
      }
      list.addObject().put(roleField, role).put(contentField, message.content());
    }
    return row;
  }

  private static <T> byte[] jsonl(List<T> items, Function<T, ObjectNode> row) {
    StringBuilder out = new StringBuilder();
    for (T item : items) {
      try {
        out.append(JSON.writeValueAsString(row.apply(item))).append('\n');
      } catch (JsonProcessingException e) {
        throw new UncheckedIOException(e);
      }
    }
    return out.toString().getBytes(UTF_8);
  }

  private static List<Conversation> read(byte[] file, DatasetFormat format) {
    try (DatasetReader reader =
        DatasetReader.open(
            new ByteArrayInputStream(file), "generated.jsonl", format, OnError.FAIL_FAST)) {
      return reader.stream().map(r -> (Conversation) r.example()).toList();
    }
  }

  private static byte[] write(List<LineKind> kinds) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    kinds.forEach(kind -> kind.writeTo(out));
    return out.toByteArray();
  }

  /** 1-based numbers of the lines whose kind matches. */
  private static List<Long> linesOf(List<LineKind> kinds, Predicate<LineKind> matches) {
    return IntStream.range(0, kinds.size())
        .filter(i -> matches.test(kinds.get(i)))
        .mapToObj(i -> (long) i + 1)
        .toList();
  }
}
