package dev.im4j.core.template;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.im4j.core.tokenizer.SpecialTokens;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Chooses the chat template for a tokenizer directory, by name or by default. */
public final class ChatTemplates {
  /** The name that selects the Jinja template of {@code tokenizer_config.json}. */
  public static final String JINJA = "jinja";

  /** The built-in used when the tokenizer declares no chat template: the paper's format. */
  public static final BuiltinTemplate DEFAULT_BUILTIN = BuiltinTemplate.TULU;

  private ChatTemplates() {}

  /**
   * The template named {@code name} ({@code jinja}, {@code tulu}, {@code chatml}, {@code llama3},
   * {@code alpaca}), or, when {@code name} is null, the Jinja template of {@code
   * tokenizerDir/tokenizer_config.json} if it has a {@code chat_template}, else {@link
   * #DEFAULT_BUILTIN}. Built-ins close assistant turns with the tokenizer's EOS text (or {@link
   * BuiltinTemplate#DEFAULT_EOS} if it declares none).
   *
   * @throws IllegalArgumentException for an unknown name
   * @throws TemplateException if the Jinja template is missing or does not parse
   */
  public static ChatTemplate resolve(String name, Path tokenizerDir, SpecialTokens special) {
    Path config = tokenizerDir.resolve("tokenizer_config.json");
    if (name == null) {
      name = hasChatTemplate(config) ? JINJA : DEFAULT_BUILTIN.shortName();
    }
    if (name.equalsIgnoreCase(JINJA)) {
      return JinjaChatTemplate.fromTokenizerConfig(config);
    }
    return BuiltinTemplate.fromName(name).create(special.eos().orElse(BuiltinTemplate.DEFAULT_EOS));
  }

  private static boolean hasChatTemplate(Path config) {
    if (!Files.isRegularFile(config)) {
      return false;
    }
    try {
      JsonNode node = new ObjectMapper().readTree(config.toFile()).get("chat_template");
      return node != null && !node.isNull();
    } catch (IOException e) {
      throw new TemplateException(config + ": not valid JSON: " + e.getMessage(), e);
    }
  }
}
