package dev.im4j.core.template;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import java.util.ArrayList;
import java.util.List;

/**
 * A conversation rendered to text by a chat template, with the provenance of every character.
 *
 * <p>The text is covered, in order and without gaps, by {@link Span}s. A span is either template
 * text ({@link SpanKind#TEMPLATE}, message index -1) or the content of one message (its kind is the
 * message's role and it carries the message's index). Content spans may be empty: an empty span
 * marks where an empty (or fully stripped) message content was emitted, so every emitted message
 * has an anchor even without characters. Two adjacent spans never have the same kind and message
 * index.
 *
 * <p>Besides {@link #spans()}, the spans can be read by index ({@link #spanCount()}, {@link
 * #spanStart(int)}, ...) from one flat table, without touching span objects: that is what per-token
 * loops such as the mask builder's use.
 *
 * <p>Immutable and thread-safe.
 */
public final class RenderedConversation {

  /**
   * A run of characters {@code [start, end)} with one provenance.
   *
   * @param start first character (UTF-16 index into {@link #text()})
   * @param end one past the last character; {@code end == start} for an empty content anchor
   * @param kind template text or the role of the message the characters came from
   * @param messageIndex index of the message in the conversation, or -1 for template text
   */
  public record Span(int start, int end, SpanKind kind, int messageIndex) {
    public Span {
      checkNotNull(kind, "kind");
      checkArgument(0 <= start && start <= end, "span [%s, %s) is not a range", start, end);
      checkArgument(
          (kind == SpanKind.TEMPLATE) == (messageIndex == -1),
          "template spans have message index -1 and content spans an index >= 0, but got %s with"
              + " index %s",
          kind,
          messageIndex);
      checkArgument(messageIndex >= -1, "messageIndex must be >= -1 but was %s", messageIndex);
    }

    /** Number of characters. */
    public int length() {
      return end - start;
    }
  }

  private static final SpanKind[] KINDS = SpanKind.values();
  private static final int STRIDE = 4; // start, end, message index, kind ordinal

  private final String text;
  private final List<Span> spans;
  private final int[] table; // [spans * STRIDE]
  private final int length; // of the text, kept here so that hot loops need not reach the String

  private RenderedConversation(String text, List<Span> spans) {
    this.text = text;
    this.spans = List.copyOf(spans);
    this.length = text.length();
    this.table = new int[spans.size() * STRIDE];
    for (int k = 0; k < spans.size(); k++) {
      Span span = spans.get(k);
      table[k * STRIDE] = span.start();
      table[k * STRIDE + 1] = span.end();
      table[k * STRIDE + 2] = span.messageIndex();
      table[k * STRIDE + 3] = span.kind().ordinal();
    }
  }

  /** The rendered text. */
  public String text() {
    return text;
  }

  /** The spans covering {@link #text()} in order; read-only. */
  public List<Span> spans() {
    return spans;
  }

  /** Number of spans. */
  public int spanCount() {
    return table.length / STRIDE;
  }

  /** {@code text().length()}. */
  public int length() {
    return length;
  }

  /** {@code spans().get(k).start()}. */
  public int spanStart(int k) {
    return table[k * STRIDE];
  }

  /** {@code spans().get(k).end()}. */
  public int spanEnd(int k) {
    return table[k * STRIDE + 1];
  }

  /** {@code spans().get(k).messageIndex()}. */
  public int spanMessage(int k) {
    return table[k * STRIDE + 2];
  }

  /** {@code spans().get(k).kind()}. */
  public SpanKind spanKind(int k) {
    return KINDS[table[k * STRIDE + 3]];
  }

  /**
   * This conversation with leading and trailing whitespace removed (Python's {@code str.strip()}),
   * as templates that strip the whole rendered string do. Spans are clipped; an empty content
   * anchor in the removed part moves to the nearest kept edge.
   */
  public RenderedConversation stripped() {
    int from = PythonText.skipSpace(text, 0);
    int to = Math.max(from, PythonText.skipSpaceBackwards(text, text.length()));
    Builder builder = builder();
    for (Span span : spans) {
      int start = Math.min(Math.max(span.start(), from), to);
      int end = Math.min(Math.max(span.end(), from), to);
      CharSequence piece = text.subSequence(start, end);
      if (span.kind() == SpanKind.TEMPLATE) {
        builder.template(piece);
      } else {
        builder.content(piece, span.kind(), span.messageIndex());
      }
    }
    return builder.build();
  }

  /** A new builder that appends text piece by piece. */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RenderedConversation other
        && text.equals(other.text)
        && spans.equals(other.spans);
  }

  @Override
  public int hashCode() {
    return text.hashCode() * 31 + spans.hashCode();
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("RenderedConversation[");
    for (Span span : spans) {
      sb.append(span.kind());
      if (span.messageIndex() >= 0) {
        sb.append('#').append(span.messageIndex());
      }
      sb.append('"').append(text, span.start(), span.end()).append("\" ");
    }
    return sb.append(']').toString();
  }

  /** Accumulates text with provenance; merges adjacent pieces of the same provenance. */
  public static final class Builder {
    private final StringBuilder text = new StringBuilder();
    private final List<Span> spans = new ArrayList<>();

    private Builder() {}

    /** Appends template text. Empty text is ignored. */
    public Builder template(CharSequence piece) {
      return append(piece, SpanKind.TEMPLATE, -1);
    }

    /**
     * Appends the content of message {@code messageIndex}. Empty content still records an empty
     * anchor span unless the previous span already belongs to that message.
     */
    public Builder content(CharSequence piece, SpanKind kind, int messageIndex) {
      checkArgument(kind.isContent(), "content needs a content kind but got %s", kind);
      return append(piece, kind, messageIndex);
    }

    private Builder append(CharSequence piece, SpanKind kind, int messageIndex) {
      int start = text.length();
      text.append(piece);
      int end = text.length();
      Span last = spans.isEmpty() ? null : spans.get(spans.size() - 1);
      if (last != null && last.kind() == kind && last.messageIndex() == messageIndex) {
        spans.set(spans.size() - 1, new Span(last.start(), end, kind, messageIndex));
      } else if (end > start || kind.isContent()) {
        spans.add(new Span(start, end, kind, messageIndex));
      }
      return this;
    }

    /** The rendered conversation built so far. */
    public RenderedConversation build() {
      return new RenderedConversation(text.toString(), spans);
    }
  }
}
