package dev.im4j.core.template.jinja;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.core.data.Conversation;
import dev.im4j.core.data.Message;
import dev.im4j.core.template.JinjaChatTemplate;
import dev.im4j.core.template.RenderedConversation;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Provenance survives string operations exactly: each output character keeps its source's origin.
 */
class ProvenanceProperties {

  /** A random string assembled from template pieces and content pieces of messages 0..2. */
  @Provide
  Arbitrary<PString> strings() {
    Arbitrary<String> text = Arbitraries.strings().withChars(" \n\tab<>/x").ofMaxLength(6);
    Arbitrary<Integer> origin = Arbitraries.integers().between(-1, 2);
    Arbitrary<PString> piece =
        Combinators.combine(text, origin)
            .as((t, m) -> m < 0 ? PString.of(t) : PString.content(t, m));
    return piece
        .list()
        .ofMaxSize(5)
        .map(
            parts -> {
              PString s = PString.EMPTY;
              for (PString p : parts) {
                s = s.concat(p);
              }
              return s;
            });
  }

  private static void assertSameProvenance(PString expected, int offset, PString actual) {
    for (int i = 0; i < actual.length(); i++) {
      assertEquals(expected.charAt(offset + i), actual.charAt(i), "char " + i);
      assertEquals(expected.provenance(offset + i), actual.provenance(i), "provenance " + i);
    }
  }

  @Property(seed = "20261123")
  void concatenationKeepsBothSides(@ForAll("strings") PString a, @ForAll("strings") PString b) {
    PString c = a.concat(b);
    assertEquals(a.text() + b.text(), c.text());
    assertSameProvenance(a, 0, c.substring(0, a.length()));
    assertSameProvenance(b, 0, c.substring(a.length()));
    java.util.Set<List<Integer>> expected = new java.util.HashSet<>();
    for (int k = 0; k < a.anchorCount(); k++) {
      expected.add(List.of(a.anchorPosition(k), a.anchorMessage(k)));
    }
    for (int k = 0; k < b.anchorCount(); k++) {
      expected.add(List.of(a.length() + b.anchorPosition(k), b.anchorMessage(k)));
    }
    java.util.Set<List<Integer>> actual = new java.util.HashSet<>();
    for (int k = 0; k < c.anchorCount(); k++) {
      actual.add(List.of(c.anchorPosition(k), c.anchorMessage(k)));
    }
    assertEquals(expected, actual);
  }

  @Property(seed = "20261123")
  void stripEqualsTheStrippedSlice(@ForAll("strings") PString s) {
    String t = s.text();
    int start = 0;
    int end = t.length();
    while (start < end && Character.isWhitespace(t.charAt(start))) {
      start++;
    }
    while (end > start && Character.isWhitespace(t.charAt(end - 1))) {
      end--;
    }
    PString stripped = Strings.strip(s, null, true, true);
    assertEquals(t.substring(start, end), stripped.text());
    assertSameProvenance(s, start, stripped);
    PString stripped2 = Strings.strip(s, "<>", true, false);
    int k = 0;
    while (k < t.length() && (t.charAt(k) == '<' || t.charAt(k) == '>')) {
      k++;
    }
    assertSameProvenance(s, k, stripped2);
  }

  @Property(seed = "20261123")
  void emptyResultFromContentIsAnchored(@ForAll("strings") PString s) {
    PString stripped = Strings.strip(s, null, true, true);
    boolean hasContent = false;
    for (int i = 0; i < s.length(); i++) {
      hasContent |= s.provenance(i) != PString.TEMPLATE;
    }
    if (stripped.isEmpty() && hasContent) {
      assertTrue(stripped.anchorCount() > 0, "stripped-away content leaves an anchor");
    }
  }

  @Property(seed = "20261123")
  void splitPartsAreSlices(@ForAll("strings") PString s) {
    List<Object> parts = Strings.split(s, "<", -1);
    int offset = 0;
    for (Object o : parts) {
      PString p = (PString) o;
      assertSameProvenance(s, offset, p);
      offset += p.length() + 1;
    }
    assertEquals(s.length() + 1, offset);
    List<Object> rparts = Strings.rsplit(s, "<", 1);
    PString last = (PString) rparts.get(rparts.size() - 1);
    assertSameProvenance(s, s.length() - last.length(), last);
  }

  @Property(seed = "20261123")
  void replaceTakesTheReplacementsProvenance(@ForAll("strings") PString s) {
    PString replacement = PString.content("YZ", 7);
    PString r = Strings.replace(s, PString.of("x"), replacement, -1);
    assertEquals(s.text().replace("x", "YZ"), r.text());
    int j = 0;
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) == 'x') {
        assertEquals(7, r.provenance(j));
        assertEquals(7, r.provenance(j + 1));
        j += 2;
      } else {
        assertEquals(s.provenance(i), r.provenance(j));
        j++;
      }
    }
  }

  @Property(seed = "20261123")
  void caseMappingAndReversalKeepProvenance(@ForAll("strings") PString s) {
    PString upper = Strings.upper(s);
    for (int i = 0; i < s.length(); i++) {
      assertEquals(s.provenance(i), upper.provenance(i));
    }
    PString reversed = Strings.slice(s, null, null, -1L);
    for (int i = 0; i < s.length(); i++) {
      assertEquals(s.provenance(s.length() - 1 - i), reversed.provenance(i));
    }
  }

  @Property(seed = "20261123")
  void tojsonCopiesUnescapedCharacters(@ForAll("strings") PString s) {
    PString json = Json.dumps(s, Values.NONE, Values.NONE, false, false);
    int j = 1; // after the opening quote
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\n' || c == '\t' || c == '"' || c == '\\') {
        assertEquals(PString.TEMPLATE, json.provenance(j));
        j += 2;
      } else {
        assertEquals(s.provenance(i), json.provenance(j));
        j++;
      }
    }
    assertEquals(json.length() - 1, j);
  }

  @Property(seed = "20261123")
  void renderedContentSpansEqualTheStrippedContent(
      @ForAll("contents") String user, @ForAll("contents") String assistant) {
    JinjaChatTemplate t =
        JinjaChatTemplate.of(
            "{% for m in messages %}<{{ m.role }}>{{ m.content | trim }}</s>{% endfor %}",
            Map.of());
    RenderedConversation r =
        t.render(Conversation.of(Message.user(user), Message.assistant(assistant)), false);
    assertEquals(user.strip(), contentOf(r, 0));
    assertEquals(assistant.strip(), contentOf(r, 1));
    RenderedConversation.Span last = null;
    for (RenderedConversation.Span span : r.spans()) {
      if (span.messageIndex() == 1) {
        last = span;
      }
    }
    assertTrue(last != null, "assistant content is anchored even when empty");
    assertTrue(r.text().startsWith("</s>", last.end()), "content ends right before </s>");
  }

  @Provide
  Arbitrary<String> contents() {
    return Arbitraries.strings().withChars(" \nab{}%<>").ofMaxLength(8);
  }

  static String contentOf(RenderedConversation r, int message) {
    StringBuilder sb = new StringBuilder();
    for (RenderedConversation.Span s : r.spans()) {
      if (s.messageIndex() == message) {
        sb.append(r.text(), s.start(), s.end());
      }
    }
    return sb.toString();
  }
}
