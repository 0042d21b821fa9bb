package dev.im4j.core.tokenizer;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.Optional;
import java.util.OptionalInt;

/**
 * The named special tokens of a tokenizer (from {@code tokenizer_config.json} for Hugging Face
 * tokenizers), as text and as id. Absent tokens are empty.
 *
 * @param bos beginning-of-sequence token text, e.g. {@code <s>}
 * @param bosId its id
 * @param eos end-of-sequence token text, e.g. {@code </s>}
 * @param eosId its id
 * @param pad padding token text
 * @param padId its id
 */
public record SpecialTokens(
    Optional<String> bos,
    OptionalInt bosId,
    Optional<String> eos,
    OptionalInt eosId,
    Optional<String> pad,
    OptionalInt padId) {
  public SpecialTokens {
    checkArgument(bos.isPresent() == bosId.isPresent(), "bos text and id must both be present");
    checkArgument(eos.isPresent() == eosId.isPresent(), "eos text and id must both be present");
    checkArgument(pad.isPresent() == padId.isPresent(), "pad text and id must both be present");
  }

  /** No special tokens at all. */
  public static SpecialTokens none() {
    return new SpecialTokens(
        Optional.empty(),
        OptionalInt.empty(),
        Optional.empty(),
        OptionalInt.empty(),
        Optional.empty(),
        OptionalInt.empty());
  }
}
