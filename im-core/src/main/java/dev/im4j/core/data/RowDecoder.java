package dev.im4j.core.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/** Turns one parsed JSON line into an {@link Example}, validating every field it reads. */
final class RowDecoder {
  /** Longest excerpt of an offending value quoted in an error, in code points. */
  private static final int MAX_QUOTED_CODE_POINTS = 60;

  private RowDecoder() {}

  /**
   * The format {@code row}'s top-level fields identify, or {@code null} if none.
   *
   * @throws RowException if the fields of more than one format are present
   */
  static DatasetFormat detect(JsonNode row) throws RowException {
    List<DatasetFormat> matches = new ArrayList<>();
    for (DatasetFormat format : DatasetFormat.concrete()) {
      if (format.markerFields().stream().anyMatch(row::has)) {
        matches.add(format);
      }
    }
    if (matches.size() > 1) {
      throw new RowException(
          "",
          "ambiguous format: the line has fields of "
              + matches.stream()
                  .map(RowDecoder::describeMarkers)
                  .collect(Collectors.joining(" and "))
              + "; choose the format explicitly instead of AUTO");
    }
    return matches.isEmpty() ? null : matches.get(0);
  }

  /** Why no format could be detected, for a row where {@link #detect} found none. */
  static RowException undetectable() {
    return new RowException(
        "",
        "cannot detect the format: the object has none of "
            + DatasetFormat.concrete().stream()
                .map(RowDecoder::describeMarkers)
                .collect(Collectors.joining(", "))
            + "; fix the line or choose the format explicitly");
  }

  /** "alpaca (\"instruction\"/\"output\")", for messages about detection. */
  static String describeMarkers(DatasetFormat format) {
    return format.displayName()
        + " ("
        + format.markerFields().stream()
            .map(field -> '"' + field + '"')
            .collect(Collectors.joining("/"))
        + ")";
  }

  /**
   * Decodes a JSON object in a concrete format.
   *
   * @throws RowException naming the first invalid field, including a string with a lone surrogate
   *     and the content field at which the example exceeds {@link ReadLimits#maxExampleChars()}
   */
  static Example decode(JsonNode row, DatasetFormat format, ReadLimits limits) throws RowException {
    ContentBudget budget = new ContentBudget(limits.maxExampleChars());
    return switch (format) {
      case ALPACA -> alpaca(row, budget);
      case TEXT -> text(row, budget);
      case MESSAGES, SHAREGPT -> turns(row, format, budget);
      case AUTO -> throw new IllegalStateException("AUTO must be resolved before decoding");
    };
  }

  private static Conversation alpaca(JsonNode row, ContentBudget budget) throws RowException {
    String required = "required in alpaca rows: \"instruction\" and \"output\" strings";
    String instruction = requiredString(row, "instruction", "instruction", required);
    String output = requiredString(row, "output", "output", required);
    String input = optionalString(row, "input");
    String system = optionalString(row, "system");
    // In the order the fields appear in the conversation, so the field named is where it overflows.
    budget.add("system", system);
    budget.add("instruction", instruction);
    budget.add("input", input);
    budget.add("output", output);
    String user =
        input == null || input.isEmpty()
            ? instruction
            : instruction + DatasetFormat.ALPACA_INPUT_JOINER + input;
    List<Message> messages = new ArrayList<>(3);
    if (system != null) {
      messages.add(Message.system(system));
    }
    messages.add(Message.user(user));
    messages.add(Message.assistant(output));
    return new Conversation(messages);
  }

  private static PlainText text(JsonNode row, ContentBudget budget) throws RowException {
    String text = requiredString(row, "text", "text", "required in text rows: a \"text\" string");
    budget.add("text", text);
    return new PlainText(text);
  }

  private static Conversation turns(JsonNode row, DatasetFormat format, ContentBudget budget)
      throws RowException {
    String listField = format.listField();
    String roleField = format.roleField();
    String contentField = format.contentField();
    String turnShape = "{\"" + roleField + "\": ..., \"" + contentField + "\": ...}";
    JsonNode list = row.get(listField);
    if (list == null) {
      throw new RowException(
          listField,
          "missing; required in "
              + format.displayName()
              + " rows: an array of "
              + turnShape
              + " objects");
    }
    if (!list.isArray()) {
      throw new RowException(
          listField, "must be an array of " + turnShape + " objects but was " + describe(list));
    }
    if (list.isEmpty()) {
      throw new RowException(
          listField, "is empty; a conversation needs at least one user and one assistant message");
    }
    List<Message> messages = new ArrayList<>(list.size());
    boolean hasAssistant = false;
    for (int i = 0; i < list.size(); i++) {
      String path = listField + "[" + i + "]";
      JsonNode turn = list.get(i);
      if (!turn.isObject()) {
        throw new RowException(
            path, "must be an object " + turnShape + " but was " + describe(turn));
      }
      String required = "required in every " + format.displayName() + " turn";
      String roleName = requiredString(turn, roleField, path + "." + roleField, required);
      Role role =
          format
              .role(roleName)
              .orElseThrow(
                  () ->
                      new RowException(
                          path + "." + roleField,
                          "unknown role "
                              + quote(roleName)
                              + "; allowed: "
                              + format.allowedRoles()));
      String content = requiredString(turn, contentField, path + "." + contentField, required);
      budget.add(path + "." + contentField, content);
      hasAssistant |= role == Role.ASSISTANT;
      messages.add(new Message(role, content));
    }
    if (!hasAssistant) {
      throw new RowException(
          listField,
          "has no assistant message (roles: "
              + messages.stream().map(m -> m.role().wireName()).collect(Collectors.joining(", "))
              + "), so there is no output to learn; add an assistant turn or drop the row");
    }
    return new Conversation(messages);
  }

  private static String requiredString(JsonNode object, String name, String path, String required)
      throws RowException {
    JsonNode value = object.get(name);
    if (value == null) {
      throw new RowException(path, "missing; " + required);
    }
    return checkString(value, path);
  }

  /** The field's text, or {@code null} if the field is absent; an explicit null is an error. */
  private static String optionalString(JsonNode object, String name) throws RowException {
    JsonNode value = object.get(name);
    if (value == null) {
      return null;
    }
    if (value.isNull()) {
      throw new RowException(
          name, "must be a string but was null; omit the optional field or use \"\"");
    }
    return checkString(value, name);
  }

  private static String checkString(JsonNode value, String path) throws RowException {
    if (!value.isTextual()) {
      throw new RowException(path, "must be a string but was " + describe(value));
    }
    String text = value.textValue();
    int lone = loneSurrogate(text);
    if (lone >= 0) {
      throw new RowException(path, loneSurrogateReason(text.charAt(lone), lone));
    }
    return text;
  }

  /**
   * The index of the first UTF-16 unit of {@code text} that is a surrogate outside a high-low pair,
   * or -1 if there is none. Strict UTF-8 decoding cannot produce one, but a JSON escape can: the
   * escape of U+D800 without a low surrogate after it is valid JSON and encodes no character, and
   * the tokenizer and the mask builder would later fail on it far from the data.
   */
  private static int loneSurrogate(String text) {
    int n = text.length();
    for (int i = 0; i < n; i++) {
      char c = text.charAt(i);
      if (Character.isSurrogate(c)) {
        if (Character.isHighSurrogate(c)
            && i + 1 < n
            && Character.isLowSurrogate(text.charAt(i + 1))) {
          i++;
        } else {
          return i;
        }
      }
    }
    return -1;
  }

  private static String loneSurrogateReason(char surrogate, int index) {
    return "contains a lone surrogate "
        + hexEscape(surrogate)
        + " at character "
        + index
        + " (counting UTF-16 units from 0): "
        + (Character.isHighSurrogate(surrogate)
            ? "a high surrogate not followed by a low one"
            : "a low surrogate not preceded by a high one")
        + " encodes no character, and text must be valid Unicode; fix the JSON escape (a"
        + " character beyond U+FFFF is a pair such as \\ud83d\\ude00) or drop the line";
  }

  private static String hexEscape(char c) {
    return String.format(Locale.ROOT, "\\u%04x", (int) c);
  }

  /**
   * Sums the content characters of one example and rejects it at the field where the sum passes
   * {@link ReadLimits#maxExampleChars()}, before the example can reach a template or tokenizer.
   */
  private static final class ContentBudget {
    private final int max;
    private long used;

    ContentBudget(int max) {
      this.max = max;
    }

    /**
     * Counts {@code text} (null: an absent optional field) as the content of field {@code path}.
     */
    void add(String path, String text) throws RowException {
      if (text == null) {
        return;
      }
      used += text.length();
      if (used > max) {
        throw new RowException(
            path,
            "the example's content reaches "
                + used
                + " characters with this field ("
                + text.length()
                + " in the field), more than the limit of "
                + max
                + " characters per example (content fields summed, UTF-16 units); shorten or"
                + " split the example, or raise the limit with --max-example-chars"
                + " (ReadLimits.maxExampleChars)");
      }
    }
  }

  /** The JSON type of a value, with the value itself when it is short: "a number (42)". */
  static String describe(JsonNode value) {
    JsonNodeType type = value.getNodeType();
    return switch (type) {
      case NULL -> "null";
      case NUMBER -> "a number (" + value.asText() + ")";
      case BOOLEAN -> "a boolean (" + value.asText() + ")";
      case STRING -> "a string (" + quote(value.textValue()) + ")";
      case ARRAY -> "an array of " + value.size() + (value.size() == 1 ? " element" : " elements");
      case OBJECT -> "an object";
      case BINARY, MISSING, POJO -> "a " + type.name().toLowerCase(Locale.ROOT);
    };
  }

  /**
   * A value as a JSON string literal, so control characters and quotes are visible, cut to {@value
   * #MAX_QUOTED_CODE_POINTS} code points.
   */
  static String quote(String text) {
    String excerpt = text;
    boolean cut = text.codePointCount(0, text.length()) > MAX_QUOTED_CODE_POINTS;
    if (cut) {
      excerpt = text.substring(0, text.offsetByCodePoints(0, MAX_QUOTED_CODE_POINTS));
    }
    StringBuilder out = new StringBuilder(excerpt.length() + 2).append('"');
    for (int i = 0; i < excerpt.length(); i++) {
      char c = excerpt.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20 || c == 0x7F) {
            out.append(String.format("\\u%04x", (int) c));
          } else if (Character.isSurrogate(c) && !pairedSurrogate(excerpt, i)) {
            out.append(hexEscape(c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
    return cut ? out.append("...").toString() : out.toString();
  }

  /** Whether the surrogate at {@code i} is half of a high-low pair. */
  private static boolean pairedSurrogate(String text, int i) {
    char c = text.charAt(i);
    return Character.isHighSurrogate(c)
        ? i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))
        : i > 0 && Character.isHighSurrogate(text.charAt(i - 1));
  }
}
