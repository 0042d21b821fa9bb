package dev.im4j.core.stats;

import static com.google.common.base.Preconditions.checkArgument;

import dev.im4j.core.data.Conversation;
import dev.im4j.core.data.Example;
import dev.im4j.core.data.Message;
import dev.im4j.core.data.PlainText;
import dev.im4j.core.data.Role;
import dev.im4j.core.mask.TokenizedExample;
import dev.im4j.core.template.PythonText;
import java.util.Arrays;

/**
 * Statistics of an instruction dataset, including the paper's length ratio (Shi et al., NeurIPS
 * 2024; docs/user-guide.md, section 5): the dataset mean of instruction length divided by the
 * dataset mean of output length, lengths in whitespace-separated words, all turns of a role summed
 * per example (a ratio of means, not a mean of ratios). Instruction = system + user content; output
 * = assistant content. Plain-text rows count as examples with neither.
 *
 * @param examples number of examples (conversations and plain-text rows)
 * @param plainTexts how many of them are plain-text rows ({@link PlainText})
 * @param messages messages per role, indexed by {@link Role#ordinal()}
 * @param meanInstructionWords dataset mean of instruction words per example
 * @param meanOutputWords dataset mean of output words per example
 * @param lengthRatio meanInstructionWords / meanOutputWords (NaN if there are no output words)
 * @param tokens token-length summary, or null when no tokenized examples were added
 */
public record DatasetStatistics(
    long examples,
    long plainTexts,
    long[] messages,
    double meanInstructionWords,
    double meanOutputWords,
    double lengthRatio,
    TokenStatistics tokens) {

  public DatasetStatistics {
    messages = messages.clone();
  }

  @Override
  public long[] messages() {
    return messages.clone();
  }

  /**
   * Token lengths of the tokenized examples.
   *
   * @param examples number of tokenized examples
   * @param meanLength mean tokens per example
   * @param medianLength median tokens per example
   * @param p95Length 95th percentile (nearest rank)
   * @param maxLength longest example
   * @param meanTrainedTokens mean number of tokens with weight > 0 (as targets, after the shift)
   * @param maxLengthLimit the limit the truncation rate refers to, or 0 if none
   * @param truncationRate fraction of examples longer than {@code maxLengthLimit}
   */
  public record TokenStatistics(
      long examples,
      double meanLength,
      int medianLength,
      int p95Length,
      int maxLength,
      double meanTrainedTokens,
      int maxLengthLimit,
      double truncationRate) {}

  /** Number of whitespace-separated words, as Python's {@code len(s.split())} counts them. */
  public static int words(String s) {
    int count = 0;
    boolean inWord = false;
    for (int i = 0; i < s.length(); i++) {
      boolean space = PythonText.isSpace(s.charAt(i));
      if (!space && !inWord) {
        count++;
      }
      inWord = !space;
    }
    return count;
  }

  /**
   * Accumulates statistics in one streaming pass with memory proportional to the number of
   * tokenized examples (their lengths are kept for percentiles). Not thread-safe.
   */
  public static Accumulator accumulator(int maxLengthLimit) {
    return new Accumulator(maxLengthLimit);
  }

  /** See {@link #accumulator}. */
  public static final class Accumulator {
    private final int maxLengthLimit;
    private long examples;
    private long plainTexts;
    private final long[] messages = new long[Role.values().length];
    private long instructionWords;
    private long outputWords;
    private int[] lengths = new int[64];
    private int tokenized;
    private long trained;

    private Accumulator(int maxLengthLimit) {
      checkArgument(maxLengthLimit >= 0, "maxLengthLimit must be >= 0 but was %s", maxLengthLimit);
      this.maxLengthLimit = maxLengthLimit;
    }

    /** Adds one example's word counts (a plain text counts as an example with no messages). */
    public Accumulator add(Example example) {
      examples++;
      if (!(example instanceof Conversation conversation)) {
        plainTexts++;
        return this;
      }
      for (Message m : conversation.messages()) {
        messages[m.role().ordinal()]++;
        int w = words(m.content());
        if (m.role() == Role.ASSISTANT) {
          outputWords += w;
        } else {
          instructionWords += w;
        }
      }
      return this;
    }

    /** Adds one tokenized example's lengths. */
    public Accumulator add(TokenizedExample example) {
      if (tokenized == lengths.length) {
        lengths = Arrays.copyOf(lengths, lengths.length * 2);
      }
      lengths[tokenized++] = example.length();
      trained += example.targetCount();
      return this;
    }

    public DatasetStatistics build() {
      double meanInstruction = examples == 0 ? 0 : (double) instructionWords / examples;
      double meanOutput = examples == 0 ? 0 : (double) outputWords / examples;
      double ratio = outputWords == 0 ? Double.NaN : (double) instructionWords / outputWords;
      return new DatasetStatistics(
          examples, plainTexts, messages, meanInstruction, meanOutput, ratio, tokenStatistics());
    }

    private TokenStatistics tokenStatistics() {
      if (tokenized == 0) {
        return null;
      }
      int[] sorted = Arrays.copyOf(lengths, tokenized);
      Arrays.sort(sorted);
      long sum = 0;
      int over = 0;
      for (int length : sorted) {
        sum += length;
        if (maxLengthLimit > 0 && length > maxLengthLimit) {
          over++;
        }
      }
      return new TokenStatistics(
          tokenized,
          (double) sum / tokenized,
          sorted[(tokenized - 1) / 2],
          sorted[(int) Math.ceil(0.95 * tokenized) - 1],
          sorted[tokenized - 1],
          (double) trained / tokenized,
          maxLengthLimit,
          (double) over / tokenized);
    }
  }
}
