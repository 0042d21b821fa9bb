package dev.im4j.core.testing;

import dev.im4j.core.tokenizer.Encoding;
import dev.im4j.core.tokenizer.SpecialTokens;
import dev.im4j.core.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A hand-checkable tokenizer for tests. Special tokens are matched first (longest first); the rest
 * splits into runs of letters/digits, runs of whitespace, and single other characters. Ids are
 * assigned in order of first appearance starting at {@link #FIRST_ORDINARY_ID}, so they are stable
 * within one instance; special ids are their index in the list given to the constructor.
 */
public final class WordTokenizer implements Tokenizer {
  public static final int FIRST_ORDINARY_ID = 100;

  /** Special tokens of the built-in formats; index = id. */
  public static final List<String> DEFAULT_SPECIALS =
      List.of(
          "<unk>",
          "<s>",
          "</s>",
          "<|im_start|>",
          "<|im_end|>",
          "<|begin_of_text|>",
          "<|start_header_id|>",
          "<|end_header_id|>",
          "<|eot_id|>");

  private final List<String> specials;
  private final boolean addBos;
  private final Map<String, Integer> vocabulary = new HashMap<>();
  private final List<String> byId = new ArrayList<>();

  /** Tulu/Alpaca-style: {@code <s>} BOS added by the tokenizer, {@code </s>} EOS. */
  public static WordTokenizer llamaLike() {
    return new WordTokenizer(DEFAULT_SPECIALS, true);
  }

  /** ChatML/Llama-3-style: nothing added; the template writes what it needs. */
  public static WordTokenizer noBos() {
    return new WordTokenizer(DEFAULT_SPECIALS, false);
  }

  public WordTokenizer(List<String> specials, boolean addBos) {
    this.specials = List.copyOf(specials);
    this.addBos = addBos;
    for (int i = 0; i < FIRST_ORDINARY_ID; i++) {
      byId.add(i < specials.size() ? specials.get(i) : "<reserved" + i + ">");
    }
  }

  @Override
  public synchronized Encoding encode(String text, boolean addSpecialTokens) {
    List<int[]> tokens = new ArrayList<>(); // {id, start, end}
    if (addSpecialTokens && addBos) {
      tokens.add(new int[] {1, 0, 0});
    }
    int i = 0;
    while (i < text.length()) {
      int special = matchSpecial(text, i);
      if (special >= 0) {
        int end = i + specials.get(special).length();
        tokens.add(new int[] {special, i, end});
        i = end;
        continue;
      }
      int end = i + 1;
      char c = text.charAt(i);
      if (Character.isLetterOrDigit(c)) {
        while (end < text.length()
            && Character.isLetterOrDigit(text.charAt(end))
            && matchSpecial(text, end) < 0) {
          end++;
        }
      } else if (Character.isWhitespace(c)) {
        while (end < text.length()
            && Character.isWhitespace(text.charAt(end))
            && matchSpecial(text, end) < 0) {
          end++;
        }
      } else if (Character.isHighSurrogate(c) && end < text.length()) {
        end++;
      }
      tokens.add(new int[] {idOf(text.substring(i, end)), i, end});
      i = end;
    }
    int[] ids = new int[tokens.size()];
    int[] starts = new int[tokens.size()];
    int[] ends = new int[tokens.size()];
    for (int t = 0; t < tokens.size(); t++) {
      ids[t] = tokens.get(t)[0];
      starts[t] = tokens.get(t)[1];
      ends[t] = tokens.get(t)[2];
    }
    return new Encoding(ids, starts, ends);
  }

  private int matchSpecial(String text, int at) {
    int best = -1;
    for (int s = 0; s < specials.size(); s++) {
      String token = specials.get(s);
      if (text.startsWith(token, at)
          && (best < 0 || token.length() > specials.get(best).length())) {
        best = s;
      }
    }
    return best;
  }

  private int idOf(String piece) {
    return vocabulary.computeIfAbsent(
        piece,
        p -> {
          byId.add(p);
          return byId.size() - 1;
        });
  }

  @Override
  public synchronized String decode(int[] ids, boolean skipSpecialTokens) {
    StringBuilder sb = new StringBuilder();
    for (int id : ids) {
      if (!(skipSpecialTokens && isSpecial(id))) {
        sb.append(byId.get(id));
      }
    }
    return sb.toString();
  }

  @Override
  public SpecialTokens specialTokens() {
    return new SpecialTokens(
        addBos ? Optional.of("<s>") : Optional.empty(),
        addBos ? OptionalInt.of(1) : OptionalInt.empty(),
        Optional.of("</s>"),
        OptionalInt.of(2),
        Optional.empty(),
        OptionalInt.empty());
  }

  @Override
  public boolean isSpecial(int id) {
    return id < specials.size();
  }

  @Override
  public synchronized int vocabSize() {
    return byId.size();
  }

  @Override
  public void close() {}
}
