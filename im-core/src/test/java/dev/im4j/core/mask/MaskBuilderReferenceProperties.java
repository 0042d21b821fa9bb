package dev.im4j.core.mask;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.core.template.RenderedConversation;
import dev.im4j.core.template.RenderedConversation.Span;
import dev.im4j.core.template.SpanKind;
import dev.im4j.core.tokenizer.Encoding;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.IntPredicate;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.statistics.Statistics;

/**
 * {@link MaskBuilder} against a per-token reference written straight from its documented rules,
 * over random renderings (empty content anchors, adjacent messages, unrendered messages) and random
 * encodings: ordered ones (the binary-search path), and ones with empty tokens inside the text or
 * falling ends (the per-token path), with byte-level tokens that share one character.
 */
class MaskBuilderReferenceProperties {
  private static final IntPredicate SPECIAL = id -> id >= 7; // ids are 0..9

  /** A random rendering with the number of messages of its conversation. */
  record Rendering(RenderedConversation rendered, int messageCount) {}

  static Rendering rendering(Random random) {
    RenderedConversation.Builder builder = RenderedConversation.builder();
    SpanKind[] kinds = SpanKind.values();
    int message = -1;
    SpanKind current = null;
    int pieces = 1 + random.nextInt(8);
    for (int p = 0; p < pieces; p++) {
      SpanKind kind = kinds[random.nextInt(kinds.length)];
      String text = "abcdefgh".substring(0, random.nextInt(kind == SpanKind.TEMPLATE ? 5 : 7));
      if (kind == SpanKind.TEMPLATE) {
        builder.template(text);
        continue;
      }
      if (kind != current || random.nextInt(3) == 0) {
        message++; // a new message; otherwise more content of the current one
        current = kind;
      }
      builder.content(text, kind, message);
    }
    return new Rendering(builder.build(), message + 1 + random.nextInt(2));
  }

  /**
   * A random tokenization of a text of {@code chars} characters; ordered unless {@code disorder},
   * which adds empty tokens inside the text and tokens whose end falls below the previous one's.
   */
  static Encoding encoding(Random random, int chars, boolean disorder) {
    List<int[]> tokens = new ArrayList<>(); // {id, start, end}
    if (random.nextBoolean()) {
      tokens.add(new int[] {9, 0, 0}); // an added BOS
    }
    int pos = 0;
    while (pos < chars) {
      int end = Math.min(chars, pos + 1 + random.nextInt(3));
      int copies = random.nextInt(6) == 0 ? 2 + random.nextInt(2) : 1; // one character, bytes
      for (int c = 0; c < copies; c++) {
        tokens.add(new int[] {random.nextInt(10), pos, end});
      }
      if (disorder && random.nextInt(4) == 0 && end - pos > 1) {
        tokens.add(new int[] {random.nextInt(10), pos + 1, end - 1}); // its end falls
        end = Math.max(end - 1, pos + 1); // the next token starts inside
      }
      if (disorder && random.nextInt(4) == 0) {
        tokens.add(new int[] {random.nextInt(10), end, end}); // empty, inside the text
      }
      pos = random.nextInt(8) == 0 ? Math.min(chars, end + 1) : end; // sometimes a skipped char
    }
    if (random.nextInt(4) == 0) {
      tokens.add(new int[] {8, chars, chars}); // an added EOS
    }
    int n = tokens.size();
    int[] ids = new int[n];
    int[] starts = new int[n];
    int[] ends = new int[n];
    for (int i = 0; i < n; i++) {
      ids[i] = tokens.get(i)[0];
      starts[i] = tokens.get(i)[1];
      ends[i] = tokens.get(i)[2];
    }
    return new Encoding(ids, starts, ends);
  }

  /** Classes and turns per token, by the documented rules, visiting every token and span. */
  static int[][] reference(Rendering r, Encoding e) {
    List<Span> spans = r.rendered().spans();
    int n = e.length();
    int[] classes = new int[n];
    int[] turns = new int[n];
    for (int i = 0; i < n; i++) {
      Span best = null;
      for (Span span : spans) {
        // A token holds character c if start <= c < end; one without characters is template.
        boolean overlaps =
            span.start() < e.end(i) && span.end() > e.start(i) && e.start(i) < e.end(i);
        if (span.length() > 0 && overlaps && (best == null || rank(span) > rank(best))) {
          best = span;
        }
      }
      classes[i] = best == null ? 0 : rank(best);
      turns[i] = best == null ? -1 : best.messageIndex();
    }
    boolean[] claimed = new boolean[n];
    for (int m = 0; m < r.messageCount(); m++) {
      int contentEnd = -1;
      SpanKind kind = null;
      for (Span span : spans) {
        if (span.messageIndex() == m) {
          contentEnd = Math.max(contentEnd, span.end());
          kind = span.kind();
        }
      }
      if (kind != SpanKind.ASSISTANT) {
        continue;
      }
      int t = 0;
      while (t < n && e.start(t) < contentEnd) {
        t++;
      }
      if (t < n && !claimed[t] && SPECIAL.test(e.id(t)) && classes[t] == 0) {
        claimed[t] = true;
        classes[t] = TokenClass.TERMINATOR.ordinal();
        turns[t] = m;
      }
    }
    return new int[][] {classes, turns};
  }

  private static int rank(Span span) {
    return switch (span.kind()) {
      case TEMPLATE -> TokenClass.TEMPLATE.ordinal();
      case SYSTEM -> TokenClass.SYSTEM.ordinal();
      case USER -> TokenClass.USER.ordinal();
      case ASSISTANT -> TokenClass.ASSISTANT.ordinal();
    };
  }

  @Property(tries = 1000)
  void classesTurnsAndWeightsFollowTheRules(@ForAll long seed, @ForAll boolean disorder) {
    Random random = new Random(seed);
    Rendering r = rendering(random);
    Encoding e = encoding(random, r.rendered().length(), disorder);
    Statistics.label("ordered").collect(e.isOrdered());
    int[][] expected = reference(r, e);
    LossPolicy policy = LossPolicy.promptWeight(0.25f);
    TokenizedExample example =
        MaskBuilder.of(policy, SPECIAL).build(r.rendered(), r.messageCount(), e).example();
    byte[] classes = example.classes();
    int[] turns = example.turns();
    float[] weights = example.weights();
    float[] byClass = policy.classWeights();
    for (int i = 0; i < e.length(); i++) {
      String where = "token " + i + " of " + e + " over " + r.rendered();
      assertEquals(expected[0][i], classes[i], "class of " + where);
      assertEquals(expected[1][i], turns[i], "turn of " + where);
      assertEquals(byClass[expected[0][i]], weights[i], "weight of " + where);
    }
    assertArrayEquals(e.ids(), example.ids());
    Statistics.label("ordered")
        .coverage(
            coverage -> {
              coverage.check(true).count(c -> c > 100);
              coverage.check(false).count(c -> c > 100);
            });
  }

  @Property(tries = 300)
  void theFlatSpanTableEqualsTheSpans(@ForAll long seed) {
    RenderedConversation rendered = rendering(new Random(seed)).rendered();
    assertEquals(rendered.text().length(), rendered.length());
    assertEquals(rendered.spans().size(), rendered.spanCount());
    for (int k = 0; k < rendered.spanCount(); k++) {
      Span span = rendered.spans().get(k);
      assertEquals(span.start(), rendered.spanStart(k));
      assertEquals(span.end(), rendered.spanEnd(k));
      assertEquals(span.messageIndex(), rendered.spanMessage(k));
      assertEquals(span.kind(), rendered.spanKind(k));
    }
  }

  @Property(tries = 300)
  void anOffsetPastTheTextNamesTheFirstSuchToken(@ForAll long seed, @ForAll boolean disorder) {
    Random random = new Random(seed);
    Rendering r = rendering(random);
    int chars = r.rendered().length();
    Encoding fits = encoding(random, chars, disorder);
    // The same tokens over a text two characters longer, cut off after `chars`.
    Encoding longer = encoding(new Random(seed + 1), chars + 2, disorder);
    int bad = 0;
    while (longer.end(bad) <= chars) {
      bad++;
    }
    IllegalArgumentException error =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                MaskBuilder.of(LossPolicy.instructionModelling(), SPECIAL)
                    .build(r.rendered(), r.messageCount(), longer));
    assertTrue(error.getMessage().startsWith("token " + bad + " has range"), error.getMessage());
    MaskBuilder.of(LossPolicy.instructionModelling(), SPECIAL)
        .build(r.rendered(), r.messageCount(), fits); // the tokens that fit are accepted
  }
}
