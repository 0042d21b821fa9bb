package dev.im4j.core.template;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.im4j.core.data.Conversation;
import dev.im4j.core.template.jinja.JinjaTemplate;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A Hugging Face chat template (Jinja) rendered exactly like {@code transformers}' {@code
 * apply_chat_template(..., tokenize=False)}, with the provenance of every character.
 *
 * <p>Content spans are exact by construction: the interpreter tracks, for each character, the
 * message it was copied from, through concatenation, slicing, stripping, splitting, replacing and
 * {@code tojson}. A message whose content is emitted empty (or stripped to nothing) still gets an
 * empty content span where it was placed.
 *
 * <p>The template runs sandboxed (no Java objects, reflection or I/O; bounded output, loops and
 * recursion), so templates from downloaded files are safe to render. The template sees {@code
 * messages}, {@code add_generation_prompt}, {@code tools} and {@code documents} (both {@code none},
 * as transformers passes them when not given) and the special tokens. Parsed once; immutable and
 * thread-safe.
 */
public final class JinjaChatTemplate implements ChatTemplate {
  private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
  private static final Set<String> RESERVED =
      Set.of("messages", "add_generation_prompt", "tools", "documents");
  private static final List<String> TOKEN_KEYS =
      List.of("bos_token", "eos_token", "unk_token", "pad_token");

  private final JinjaTemplate template;
  private final Map<String, String> specialTokens;
  private final Clock clock;

  private JinjaChatTemplate(
      JinjaTemplate template, Map<String, String> specialTokens, Clock clock) {
    this.template = template;
    this.specialTokens = specialTokens;
    this.clock = clock;
  }

  /**
   * Parses a chat template.
   *
   * @param source the Jinja source
   * @param specialTokens template variables such as {@code bos_token -> "<s>"}; names must be
   *     identifiers other than messages, add_generation_prompt, tools and documents
   * @throws TemplateException with line and column if the template does not parse
   * @throws IllegalArgumentException for a bad special-token name
   */
  public static JinjaChatTemplate of(String source, Map<String, String> specialTokens) {
    checkNotNull(source, "source");
    checkNotNull(specialTokens, "specialTokens");
    for (Map.Entry<String, String> e : specialTokens.entrySet()) {
      checkArgument(
          IDENTIFIER.matcher(e.getKey()).matches() && !RESERVED.contains(e.getKey()),
          "special token name must be an identifier other than %s but was '%s'",
          RESERVED,
          e.getKey());
      checkNotNull(e.getValue(), "value of special token %s", e.getKey());
    }
    return new JinjaChatTemplate(
        JinjaTemplate.parse(source), Map.copyOf(specialTokens), Clock.systemDefaultZone());
  }

  /**
   * Reads {@code chat_template} and the special tokens ({@code bos_token}, {@code eos_token},
   * {@code unk_token}, {@code pad_token}; each a string or a {@code {"content": ...}} object; null
   * ones are left out) from a Hugging Face {@code tokenizer_config.json}. When {@code
   * chat_template} is a list of {@code {name, template}} entries, the one named {@code default} is
   * used.
   *
   * @throws TemplateException if the file cannot be read, has no usable chat template, or the
   *     template does not parse; the message names the file
   */
  public static JinjaChatTemplate fromTokenizerConfig(Path tokenizerConfigJson) {
    checkNotNull(tokenizerConfigJson, "tokenizerConfigJson");
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(tokenizerConfigJson.toFile());
    } catch (IOException e) {
      throw new TemplateException("cannot read tokenizer config " + tokenizerConfigJson, e);
    }
    if (root == null || !root.isObject()) {
      throw new TemplateException(
          "tokenizer config " + tokenizerConfigJson + " is not a JSON object");
    }
    JsonNode chat = root.get("chat_template");
    String source = null;
    if (chat != null && chat.isTextual()) {
      source = chat.asText();
    } else if (chat != null && chat.isArray()) {
      for (JsonNode entry : chat) {
        if ("default".equals(entry.path("name").asText()) && entry.path("template").isTextual()) {
          source = entry.get("template").asText();
        }
      }
      if (source == null) {
        throw new TemplateException(
            "tokenizer config "
                + tokenizerConfigJson
                + " lists chat templates but none is named 'default'");
      }
    }
    if (source == null) {
      throw new TemplateException(
          "tokenizer config "
              + tokenizerConfigJson
              + " has no chat_template (a string or a list of {name, template}); use a"
              + " tokenizer directory whose tokenizer_config.json has one, or a built-in"
              + " template (tulu, chatml, llama3, alpaca)");
    }
    Map<String, String> tokens = new LinkedHashMap<>();
    for (String key : TOKEN_KEYS) {
      JsonNode v = root.get(key);
      if (v != null && v.isObject()) {
        v = v.get("content");
      }
      if (v != null && v.isTextual()) {
        tokens.put(key, v.asText());
      }
    }
    try {
      return of(source, tokens);
    } catch (TemplateException e) {
      throw new TemplateException(
          "chat_template of " + tokenizerConfigJson + ": " + e.getMessage(), e);
    }
  }

  /** This template with {@code strftime_now} reading {@code clock} (for reproducible output). */
  public JinjaChatTemplate withClock(Clock clock) {
    return new JinjaChatTemplate(template, specialTokens, checkNotNull(clock, "clock"));
  }

  /** The special tokens passed to the template as variables; read-only. */
  public Map<String, String> specialTokens() {
    return specialTokens;
  }

  @Override
  public RenderedConversation render(Conversation conversation, boolean addGenerationPrompt) {
    checkNotNull(conversation, "conversation");
    return template.render(conversation, addGenerationPrompt, specialTokens, clock);
  }

  /**
   * Renders, stopping the interpreter as soon as the output would pass {@code maxChars}: a runaway
   * template costs at most that much output, not the interpreter's own bound of 10,000,000
   * characters. Strings the template builds along the way keep that bound of their own.
   *
   * @throws RenderLimitException if the output would pass {@code maxChars}; {@link
   *     RenderLimitException#stopped()} is true
   */
  @Override
  public RenderedConversation render(
      Conversation conversation, boolean addGenerationPrompt, int maxChars) {
    checkNotNull(conversation, "conversation");
    checkArgument(maxChars >= 1, "maxChars must be >= 1 but was %s", maxChars);
    return template.render(conversation, addGenerationPrompt, specialTokens, clock, maxChars);
  }

  @Override
  public String name() {
    return ChatTemplates.JINJA;
  }
}
