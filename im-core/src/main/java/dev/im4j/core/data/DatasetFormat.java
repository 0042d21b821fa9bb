package dev.im4j.core.data;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The JSON Lines dialects that {@link DatasetReader} understands: one JSON object per line.
 *
 * <p>Fields not named below (ids, sources, metadata) are ignored. Role names are matched
 * case-insensitively; any other role is an error. Every conversation row must contain at least one
 * assistant message, since a row without one has no output to learn from. Empty strings are valid
 * content.
 */
public enum DatasetFormat {
  /**
   * Alpaca rows: {@code {"instruction": str, "input": str?, "output": str, "system": str?}}.
   *
   * <p>Becomes an optional system message (present whenever the {@code system} field is, even if
   * empty), one user message and one assistant message ({@code output}). The user message is {@code
   * instruction}, followed by {@link #ALPACA_INPUT_JOINER} and {@code input} when {@code input} is
   * present and non-empty.
   */
  ALPACA(List.of("instruction", "output"), "", "", "", List.of()),

  /**
   * Chat rows: {@code {"messages": [{"role": "system"|"user"|"assistant", "content": str}, ...]}},
   * any number of turns.
   */
  MESSAGES(
      List.of("messages"),
      "messages",
      "role",
      "content",
      List.of(
          Map.entry("system", Role.SYSTEM),
          Map.entry("user", Role.USER),
          Map.entry("assistant", Role.ASSISTANT))),

  /**
   * ShareGPT rows: {@code {"conversations": [{"from": "system"|"human"|"gpt", "value": str},
   * ...]}}; {@code "user"} and {@code "assistant"} are accepted as synonyms of {@code "human"} and
   * {@code "gpt"}.
   */
  SHAREGPT(
      List.of("conversations"),
      "conversations",
      "from",
      "value",
      List.of(
          Map.entry("system", Role.SYSTEM),
          Map.entry("human", Role.USER),
          Map.entry("gpt", Role.ASSISTANT),
          Map.entry("user", Role.USER),
          Map.entry("assistant", Role.ASSISTANT))),

  /**
   * Plain-text rows: {@code {"text": str}}, as language-modelling datasets (TRL's, Hugging Face's
   * {@code text} column) store documents. Each becomes a {@link PlainText}: no roles, no template,
   * every token trained under every loss policy.
   */
  TEXT(List.of("text"), "", "", "", List.of()),

  /**
   * Detects the format of each source from its first valid line (by the presence of {@code
   * "instruction"}/{@code "output"}, {@code "messages"}, {@code "conversations"} or {@code
   * "text"}), then requires every later line to have that format. A line carrying the fields of two
   * formats is an error.
   */
  AUTO(List.of(), "", "", "", List.of());

  /**
   * Joins an Alpaca row's {@code instruction} and non-empty {@code input} into the user message: a
   * blank line, as in the Stanford Alpaca prompt, where the input is a separate paragraph.
   */
  public static final String ALPACA_INPUT_JOINER = "\n\n";

  /** Top-level fields whose presence identifies this format in {@link #AUTO} detection. */
  private final List<String> markerFields;

  private final String listField;
  private final String roleField;
  private final String contentField;

  /** Accepted role names (lower case) in the order error messages list them. */
  private final List<Map.Entry<String, Role>> roles;

  DatasetFormat(
      List<String> markerFields,
      String listField,
      String roleField,
      String contentField,
      List<Map.Entry<String, Role>> roles) {
    this.markerFields = markerFields;
    this.listField = listField;
    this.roleField = roleField;
    this.contentField = contentField;
    this.roles = roles;
  }

  /** The formats that {@link #AUTO} chooses among, in a fixed order. */
  static List<DatasetFormat> concrete() {
    return List.of(ALPACA, MESSAGES, SHAREGPT, TEXT);
  }

  List<String> markerFields() {
    return markerFields;
  }

  /** Name of the top-level array of turns ({@code ""} for {@link #ALPACA} and {@link #TEXT}). */
  String listField() {
    return listField;
  }

  /** Name of a turn's role field. */
  String roleField() {
    return roleField;
  }

  /** Name of a turn's text field. */
  String contentField() {
    return contentField;
  }

  /** The role a wire name stands for, matched case-insensitively, or empty if unknown. */
  Optional<Role> role(String wireName) {
    String lower = wireName.toLowerCase(Locale.ROOT);
    return roles.stream()
        .filter(e -> e.getKey().equals(lower))
        .map(Map.Entry::getValue)
        .findFirst();
  }

  /** The accepted role names, for error messages: "system, user, assistant". */
  String allowedRoles() {
    return roles.stream().map(Map.Entry::getKey).collect(Collectors.joining(", "));
  }

  /** Lower-case name used in messages ("alpaca", "messages", "sharegpt", "text", "auto"). */
  String displayName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
