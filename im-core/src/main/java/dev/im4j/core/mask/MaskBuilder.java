package dev.im4j.core.mask;

import static com.google.common.base.Preconditions.checkNotNull;

import dev.im4j.core.internal.Shared;
import dev.im4j.core.template.RenderedConversation;
import dev.im4j.core.template.SpanKind;
import dev.im4j.core.tokenizer.Encoding;
import java.util.Arrays;
import java.util.function.IntPredicate;

/**
 * Classifies every token of one tokenized rendering and weighs it by a {@link LossPolicy}.
 *
 * <p>One linear pass maps the rendering's character spans onto tokens through the tokenizer's
 * offsets; nothing is re-tokenized and no text is searched. Rules:
 *
 * <ul>
 *   <li><b>Straddling tokens.</b> A token belongs to message content if any of its characters is
 *       content. If its characters come from several messages, the highest class wins (assistant
 *       over user over system) and the token takes that character's message index, so that every
 *       assistant character is trained whenever assistant content is.
 *   <li><b>Added tokens.</b> A token with no characters (a BOS added by the tokenizer) is template.
 *   <li><b>Terminators.</b> For each assistant message, the first token that starts at or after the
 *       end of its last content span (an empty span marks empty content) is its terminator if it is
 *       template text and a special token ({@code isSpecial}); e.g. {@code </s>}, {@code
 *       <|im_end|>}, {@code <|eot_id|>}. Otherwise the turn has no terminator and this is counted
 *       in {@link Result#missingTerminators()}.
 * </ul>
 *
 * <p>Immutable and thread-safe.
 */
public final class MaskBuilder {
  private static final Shared.Lender<Encoding> ENCODING_IDS = Shared.lender(Encoding.class);

  /**
   * A masked example plus what the mask builder could not do.
   *
   * @param example ids, classes, turns and weights
   * @param missingTerminators assistant turns whose following token is not a special token
   * @param unrenderedMessages messages of the conversation that left no span in the rendering
   */
  public record Result(TokenizedExample example, int missingTerminators, int unrenderedMessages) {}

  /** {@link TokenClass} ordinal of the characters of each {@link SpanKind}, by its ordinal. */
  private static final byte[] CLASS_OF_KIND = new byte[SpanKind.values().length];

  static {
    for (SpanKind kind : SpanKind.values()) {
      TokenClass c =
          switch (kind) {
            case TEMPLATE -> TokenClass.TEMPLATE;
            case SYSTEM -> TokenClass.SYSTEM;
            case USER -> TokenClass.USER;
            case ASSISTANT -> TokenClass.ASSISTANT;
          };
      CLASS_OF_KIND[kind.ordinal()] = (byte) c.ordinal();
    }
  }

  private final LossPolicy policy;
  private final IntPredicate isSpecial;
  private final float[] classWeights; // [TokenClass], or null when weights need whole sequences

  private MaskBuilder(LossPolicy policy, IntPredicate isSpecial) {
    this.policy = checkNotNull(policy, "policy");
    this.isSpecial = checkNotNull(isSpecial, "isSpecial");
    this.classWeights = policy.weighsByClassOnly() ? policy.classWeights() : null;
  }

  /**
   * A mask builder for {@code policy}; {@code isSpecial} tells which token ids are special (for a
   * tokenizer, {@code tokenizer::isSpecial}).
   */
  public static MaskBuilder of(LossPolicy policy, IntPredicate isSpecial) {
    return new MaskBuilder(policy, isSpecial);
  }

  /** The policy that weighs tokens. */
  public LossPolicy policy() {
    return policy;
  }

  /**
   * Classifies and weighs the tokens of {@code encoding}, the tokenization of {@code
   * rendered.text()}.
   *
   * @param rendered the rendering with its spans
   * @param messageCount number of messages in the conversation (to report unrendered ones)
   * @param encoding its tokenization, offsets into {@code rendered.text()}
   * @throws IllegalArgumentException if an offset lies outside the text
   */
  public Result build(RenderedConversation rendered, int messageCount, Encoding encoding) {
    int chars = rendered.length();
    int spanCount = rendered.spanCount();
    for (int k = 0; k < spanCount; k++) {
      int m = rendered.spanMessage(k);
      if (m >= messageCount) {
        throw new IllegalArgumentException(
            "span "
                + rendered.spans().get(k)
                + " names message "
                + m
                + " but the conversation has "
                + messageCount);
      }
    }
    int n = encoding.length();
    int[] ids = ENCODING_IDS.array(encoding); // shared with the encoding: read only, never written

    // Terminators first, since they cut runs: per assistant message, in message order, the first
    // token starting at or after its content, if that token is special template text not already
    // claimed by an earlier message. Kept as (token << 32 | message), sorted by token.
    long[] terminators = new long[messageCount];
    int terminatorCount = 0;
    int missingTerminators = 0;
    int unrendered = 0;
    int lastClaimed = -1; // the highest token claimed so far
    boolean inOrder = true; // whether tokens were claimed in increasing order
    for (int m = 0; m < messageCount; m++) {
      // Its last span (span ends never decrease, so it ends its content), or -1 if unrendered.
      int last = spanCount - 1;
      while (last >= 0 && rendered.spanMessage(last) != m) {
        last--;
      }
      if (last < 0) {
        unrendered++;
      } else if (rendered.spanKind(last) == SpanKind.ASSISTANT) {
        int t = firstTokenStartingAtOrAfter(encoding, rendered.spanEnd(last));
        if (t < n
            && !claimed(t, lastClaimed, terminators, terminatorCount)
            && isSpecial.test(ids[t])
            && classify(rendered, encoding, t) == 0) {
          inOrder &= t > lastClaimed;
          lastClaimed = Math.max(lastClaimed, t);
          terminators[terminatorCount++] = (long) t << 32 | m;
        } else {
          missingTerminators++;
        }
      }
    }
    if (!inOrder) {
      Arrays.sort(terminators, 0, terminatorCount);
    }

    // Tokens and spans are both ordered, and the spans cover the text without gaps, so one
    // merge-like pass suffices. Token i overlaps span k iff spanStart[k] < end(i) and
    // spanEnd[k] > start(i). The common case is a run of tokens that lie inside one span, recorded
    // as one run: in an ordered encoding the run ends at the first token ending after the span,
    // found by a galloping search from where the example's tokens per character put it; otherwise
    // each token is checked (three comparisons). Any other token (straddling a boundary, or
    // without characters) takes the general rule: its highest-class span. Offsets are checked on
    // the way (within the text, starts never falling); an ordered encoding needs only its last end
    // checked.
    boolean ordered = encoding.isOrdered();
    if (ordered && n > 0 && encoding.end(n - 1) > chars) {
      int i = firstTokenEndingAfter(encoding, 0, n, chars, n - 1);
      throw badOffsets(i, encoding.start(i), encoding.end(i), chars);
    }
    float[] byClass = classWeights;
    float tokensPerChar = chars == 0 ? 0f : (float) n / chars; // to guess where runs end
    // Usually enough: one run per span and two per terminator (it cuts a run); grows if not.
    TokenizedExample.Runs runs = new TokenizedExample.Runs(spanCount + 2 * terminatorCount + 1);
    int first = 0; // the first span that ends after the current token's start
    int next = 0; // the next terminator
    int previousStart = 0;
    for (int i = 0; i < n; ) {
      int start = encoding.start(i);
      int end = encoding.end(i);
      if (end > chars || start < previousStart) {
        throw badOffsets(i, start, end, chars);
      }
      previousStart = start;
      int stop = next < terminatorCount ? (int) (terminators[next] >>> 32) : n;
      if (i == stop) {
        byte terminator = (byte) TokenClass.TERMINATOR.ordinal();
        runs.append(i + 1, terminator, (int) terminators[next], weight(byClass, terminator));
        next++;
        i++;
        continue;
      }
      while (first < spanCount && rendered.spanEnd(first) <= start) {
        first++;
      }
      if (first < spanCount
          && rendered.spanStart(first) <= start
          && end <= rendered.spanEnd(first)
          && start < end) {
        // Token i lies inside span `first`; so do the following tokens up to `to`.
        int limit = rendered.spanEnd(first); // within the text, as every span is
        int to;
        if (ordered) {
          int guess = i + 1 + (int) ((limit - end) * tokensPerChar);
          to = firstTokenEndingAfter(encoding, i + 1, stop, limit, guess);
          previousStart = encoding.start(to - 1);
        } else {
          to = i + 1;
          while (to < stop) {
            int s = encoding.start(to);
            int e = encoding.end(to);
            if (e > limit || s >= e || s < previousStart) {
              break; // the general rule (or the offset check) takes it
            }
            previousStart = s;
            to++;
          }
        }
        byte kind = classOf(rendered, first);
        runs.append(to, kind, kind == 0 ? -1 : rendered.spanMessage(first), weight(byClass, kind));
        i = to;
        continue;
      }
      int k = start < end ? highestSpan(rendered, first, end) : -1; // no characters: template
      byte best = k < 0 ? 0 : classOf(rendered, k);
      runs.append(i + 1, best, k < 0 ? -1 : rendered.spanMessage(k), weight(byClass, best));
      i++;
    }
    TokenizedExample example = TokenizedExample.adopt(ids, runs);
    if (byClass == null) {
      example = policy.reweigh(example); // weights that need the whole sequence
    }
    return new Result(example, missingTerminators, unrendered);
  }

  /** Whether token {@code t} is among the first {@code count} terminators (token in high bits). */
  private static boolean claimed(int t, int lastClaimed, long[] terminators, int count) {
    if (t > lastClaimed) {
      return false; // the usual case: turns end in text order
    }
    for (int k = 0; k < count; k++) {
      if ((int) (terminators[k] >>> 32) == t) {
        return true;
      }
    }
    return false;
  }

  private static float weight(float[] byClass, byte kind) {
    return byClass == null ? 0f : byClass[kind];
  }

  /**
   * The class of token {@code i} by the general rule: the highest class of the spans it overlaps.
   */
  private static byte classify(RenderedConversation rendered, Encoding encoding, int i) {
    int start = encoding.start(i);
    int end = encoding.end(i);
    int lo = 0; // the first span that ends after start (span ends never decrease)
    int hi = rendered.spanCount();
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (rendered.spanEnd(mid) <= start) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    int k = start < end ? highestSpan(rendered, lo, end) : -1; // no characters: template
    return k < 0 ? 0 : classOf(rendered, k);
  }

  /**
   * Among the spans from {@code first} that start before {@code end}, the first one of the highest
   * class above TEMPLATE (TEMPLATE = 0 < SYSTEM < USER < ASSISTANT), or -1 if there is none.
   */
  private static int highestSpan(RenderedConversation rendered, int first, int end) {
    int best = -1;
    byte bestClass = 0;
    for (int k = first; k < rendered.spanCount() && rendered.spanStart(k) < end; k++) {
      byte c = classOf(rendered, k);
      if (c > bestClass) {
        best = k;
        bestClass = c;
      }
    }
    return best;
  }

  /** The class of span {@code k}'s characters as a {@link TokenClass} ordinal; empty: TEMPLATE. */
  private static byte classOf(RenderedConversation rendered, int k) {
    return rendered.spanEnd(k) > rendered.spanStart(k)
        ? CLASS_OF_KIND[rendered.spanKind(k).ordinal()]
        : 0;
  }

  private static IllegalArgumentException badOffsets(int i, int start, int end, int chars) {
    return new IllegalArgumentException(
        "token "
            + i
            + " has range ["
            + start
            + ", "
            + end
            + "), but offsets must lie within the text's "
            + chars
            + " characters with non-decreasing starts");
  }

  /**
   * The first token in {@code [from, to)} whose end lies after {@code position}, or {@code to} if
   * none; ends must not decrease (an ordered encoding). Gallops from {@code guess} (steps 1, 2, 4,
   * ..., up or down) and then bisects the last step. A good guess keeps the probes within a cache
   * line or two of the answer: loading offsets not yet in cache is what masking waits for.
   */
  static int firstTokenEndingAfter(Encoding encoding, int from, int to, int position, int guess) {
    int g = Math.max(from, Math.min(to, guess));
    int lo;
    int hi;
    if (g == from || encoding.end(g - 1) <= position) {
      lo = g; // every token before lo ends at or before position
      int step = 1;
      while (lo + step - 1 < to && encoding.end(lo + step - 1) <= position) {
        lo += step;
        step <<= 1;
      }
      hi = Math.min(to, lo + step - 1);
    } else {
      hi = g - 1; // token hi ends after position
      int step = 1;
      while (hi - step >= from && encoding.end(hi - step) > position) {
        hi -= step;
        step <<= 1;
      }
      lo = Math.max(from, hi - step + 1);
    }
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (encoding.end(mid) <= position) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  /** Binary search over token starts, which are non-decreasing. Returns n if none. */
  private static int firstTokenStartingAtOrAfter(Encoding encoding, int position) {
    int lo = 0;
    int hi = encoding.length();
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (encoding.start(mid) < position) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }
}
