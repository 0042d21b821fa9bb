package dev.im4j.core.tokenizer;

/**
 * Turns text into token ids with character offsets: the tokenizer SPI of im4j.
 *
 * <p>Implementations are thread-safe for {@link #encode} and {@link #decode} until {@link #close}
 * is called; {@code close} is idempotent.
 */
public interface Tokenizer extends AutoCloseable {

  /**
   * Encodes a whole text.
   *
   * @param text the text
   * @param addSpecialTokens whether the tokenizer's post-processor may add tokens (such as BOS)
   *     that are not in the text; tokens written in the text itself are always recognised
   * @return ids with UTF-16 offsets into {@code text}; added tokens have an empty range
   */
  Encoding encode(String text, boolean addSpecialTokens);

  /** Decodes ids to text; special tokens are kept unless {@code skipSpecialTokens}. */
  String decode(int[] ids, boolean skipSpecialTokens);

  /** The named special tokens (BOS, EOS, PAD). */
  SpecialTokens specialTokens();

  /**
   * Whether {@code id} is a special token (for Hugging Face: an added token marked {@code
   * special}). The token right after an assistant message's content is trained as its terminator
   * only if it is special.
   */
  boolean isSpecial(int id);

  /** Size of the id space: every id is in {@code [0, vocabSize())}. */
  int vocabSize();

  @Override
  void close();
}
