package dev.im4j.cli;

import dev.im4j.core.mask.ExampleEncoder;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.template.ChatTemplate;
import dev.im4j.core.template.ChatTemplates;
import dev.im4j.core.tokenizer.HfTokenizer;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Tokenizer, chat template and loss policy: how conversations become weighted tokens. */
final class PipelineOptions {
  @Option(
      names = "--tokenizer",
      paramLabel = "DIR",
      description = "Directory holding tokenizer.json and, if present, tokenizer_config.json.")
  Path tokenizer;

  @Option(
      names = "--template",
      paramLabel = "NAME",
      description =
          "jinja, tulu, chatml, llama3 or alpaca (default: jinja when tokenizer_config.json has a"
              + " chat_template, else tulu).")
  String template;

  @Option(
      names = "--policy",
      paramLabel = "NAME",
      defaultValue = "im",
      description =
          "Which tokens get loss: it (outputs only), im (instruction modelling: all content),"
              + " all (every token), reference (the paper's released code) (default:"
              + " ${DEFAULT-VALUE}).")
  String policy;

  @Option(
      names = "--prompt-weight",
      paramLabel = "X",
      description =
          "Loss weight of system and user content in [0, 1]; replaces --policy (0 = it, 1 = im)."
              + " (default: unset)")
  Float promptWeight;

  @Option(
      names = "--max-rendered-chars",
      paramLabel = "N",
      defaultValue = "" + ExampleEncoder.DEFAULT_MAX_RENDERED_CHARS,
      description =
          "Most characters the chat template may render for one example; a template is stopped"
              + " there, before tokenizing (default: ${DEFAULT-VALUE}).")
  int maxRenderedChars;

  LossPolicy policy() {
    Flags.require(
        promptWeight == null || (promptWeight >= 0 && promptWeight <= 1),
        "--prompt-weight",
        promptWeight,
        "in [0, 1] (0 = it, 1 = im)");
    return promptWeight != null
        ? LossPolicy.promptWeight(promptWeight)
        : LossPolicy.fromName(policy);
  }

  /** Whether --tokenizer was given. */
  boolean hasTokenizer() {
    return tokenizer != null;
  }

  /** Loads the tokenizer; the caller closes it. */
  HfTokenizer loadTokenizer() {
    if (tokenizer == null) {
      throw new IllegalArgumentException("--tokenizer DIR is required");
    }
    return HfTokenizer.load(tokenizer);
  }

  /**
   * The encoder for {@code tok} (loaded by {@link #loadTokenizer}) under {@code lossPolicy}, with
   * renderings bounded by {@code --max-rendered-chars}.
   */
  ExampleEncoder encoder(HfTokenizer tok) {
    if (maxRenderedChars < 1) {
      throw new IllegalArgumentException(
          "--max-rendered-chars must be >= 1 but was "
              + maxRenderedChars
              + "; the default is "
              + ExampleEncoder.DEFAULT_MAX_RENDERED_CHARS);
    }
    ChatTemplate chat = ChatTemplates.resolve(template, tokenizer, tok.specialTokens());
    return ExampleEncoder.of(chat, tok).withMaxRenderedChars(maxRenderedChars);
  }
}
