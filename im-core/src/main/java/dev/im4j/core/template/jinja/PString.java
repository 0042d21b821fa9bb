package dev.im4j.core.template.jinja;

import dev.im4j.core.template.ChatTemplates;
import dev.im4j.core.template.RenderLimitException;
import dev.im4j.core.template.TemplateException;
import java.util.Arrays;

/**
 * A string value of the interpreter whose characters carry provenance.
 *
 * <p>The provenance of a character is the index of the message whose content it was copied from, or
 * {@link #TEMPLATE} for any other text (template literals, roles, special tokens, numbers). Besides
 * characters, a string holds zero-width <em>anchors</em>: positions that mark where the (possibly
 * empty) content of a message was placed. An anchor is created when an operation reduces content to
 * nothing (slicing, stripping, splitting) so that an emitted empty content still records where it
 * went.
 *
 * <p>Equality and hashing use the text only, as in Python. Immutable; the arrays are never exposed.
 */
final class PString implements Comparable<PString> {
  /** Provenance of characters that do not come from message content. */
  static final int TEMPLATE = -1;

  static final PString EMPTY = new PString("", null, null);

  private final String text;
  // Per UTF-16 unit: message index or TEMPLATE; null when every character is TEMPLATE.
  private final int[] prov;
  // Pairs (position, message index) sorted by position; null when there are none.
  private final int[] anchors;

  private PString(String text, int[] prov, int[] anchors) {
    this.text = text;
    this.prov = prov;
    this.anchors = anchors;
  }

  /** Template text. */
  static PString of(String text) {
    return text.isEmpty() ? EMPTY : new PString(text, null, null);
  }

  /** The content of message {@code messageIndex}; empty content becomes an anchor. */
  static PString content(String text, int messageIndex) {
    if (text.isEmpty()) {
      return new PString("", null, new int[] {0, messageIndex});
    }
    int[] p = new int[text.length()];
    Arrays.fill(p, messageIndex);
    return new PString(text, p, null);
  }

  String text() {
    return text;
  }

  int length() {
    return text.length();
  }

  boolean isEmpty() {
    return text.isEmpty();
  }

  char charAt(int i) {
    return text.charAt(i);
  }

  /** Provenance of character {@code i}: a message index or {@link #TEMPLATE}. */
  int provenance(int i) {
    return prov == null ? TEMPLATE : prov[i];
  }

  /** True if no character comes from content and there are no anchors. */
  boolean isPlainTemplate() {
    return prov == null && anchors == null;
  }

  int anchorCount() {
    return anchors == null ? 0 : anchors.length / 2;
  }

  int anchorPosition(int k) {
    return anchors[2 * k];
  }

  int anchorMessage(int k) {
    return anchors[2 * k + 1];
  }

  /**
   * The characters {@code [start, end)} with their provenance and the anchors inside the range. An
   * empty result cut from inside or next to content is anchored to that content's message.
   */
  PString substring(int start, int end) {
    if (start == 0 && end == text.length()) {
      return this;
    }
    if (isPlainTemplate()) {
      return of(text.substring(start, end));
    }
    Builder b = new Builder(end - start);
    b.append(this, start, end);
    if (start == end && b.anchorSize == 0) {
      int m = TEMPLATE;
      if (start < text.length()) {
        m = provenance(start);
      }
      if (m == TEMPLATE && start > 0) {
        m = provenance(start - 1);
      }
      if (m != TEMPLATE) {
        b.anchor(m);
      }
    }
    return b.build();
  }

  /**
   * The empty string that an operation removing every character of this one (such as strip) yields:
   * anchored to each message whose content or anchor this string holds, in order.
   */
  PString emptied() {
    if (isPlainTemplate()) {
      return EMPTY;
    }
    Builder b = new Builder();
    int k = 0;
    for (int i = 0; i <= text.length(); i++) {
      while (anchors != null && k < anchors.length && anchors[k] == i) {
        b.anchor(anchors[k + 1]);
        k += 2;
      }
      if (i < text.length()
          && prov != null
          && prov[i] != TEMPLATE
          && (i == 0 || prov[i - 1] != prov[i])) {
        b.anchor(prov[i]);
      }
    }
    return b.build();
  }

  PString substring(int start) {
    return substring(start, text.length());
  }

  PString concat(PString other) {
    if (other.text.isEmpty() && other.anchors == null) {
      return this;
    }
    if (text.isEmpty() && anchors == null) {
      return other;
    }
    if ((long) text.length() + other.text.length() > Limits.MAX_STRING_CHARS) {
      throw new TemplateException(
          "string longer than "
              + Limits.MAX_STRING_CHARS
              + " characters; the template produces too much text");
    }
    if (isPlainTemplate() && other.isPlainTemplate()) {
      return of(text.concat(other.text));
    }
    return new Builder(text.length() + other.text.length()).append(this).append(other).build();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PString other && text.equals(other.text);
  }

  @Override
  public int hashCode() {
    return text.hashCode();
  }

  @Override
  public int compareTo(PString o) {
    return text.compareTo(o.text);
  }

  @Override
  public String toString() {
    return text;
  }

  /**
   * Accumulates characters with provenance. Output and string operations use it; appending checks
   * the {@link Limits#MAX_STRING_CHARS} bound.
   */
  static final class Builder {
    private final StringBuilder text;
    private int[] prov; // null while everything is template
    private int[] anchors;
    private int anchorSize;

    /** The caller's bound on a rendering's output; {@code Integer.MAX_VALUE} for other text. */
    private final int outputLimit;

    Builder() {
      this(16);
    }

    Builder(int capacity) {
      this(capacity, Integer.MAX_VALUE);
    }

    private Builder(int capacity, int outputLimit) {
      text = new StringBuilder(Math.min(Math.max(capacity, 16), 1 << 16));
      this.outputLimit = outputLimit;
    }

    /**
     * A builder for a rendering's output: a write that would take it past {@code maxChars}
     * characters throws {@link RenderLimitException} (stopped, naming the template {@value
     * ChatTemplates#JINJA}) before anything is copied.
     */
    static Builder output(int capacity, int maxChars) {
      return new Builder(capacity, maxChars);
    }

    int length() {
      return text.length();
    }

    private void checkRoom(int extra) {
      long needed = (long) text.length() + extra;
      if (needed > outputLimit) {
        throw new RenderLimitException(ChatTemplates.JINJA, needed, true, outputLimit);
      }
      if (needed > Limits.MAX_STRING_CHARS) {
        throw new TemplateException(
            "string or output longer than "
                + Limits.MAX_STRING_CHARS
                + " characters; the template produces too much text");
      }
    }

    private void ensureProv(int needed) {
      if (prov == null) {
        prov = new int[Math.max(needed, 16)];
        Arrays.fill(prov, 0, text.length(), TEMPLATE);
      } else if (prov.length < needed) {
        prov = Arrays.copyOf(prov, Math.max(needed, prov.length * 2));
      }
    }

    Builder appendTemplate(CharSequence s) {
      checkRoom(s.length());
      int start = text.length();
      text.append(s);
      if (prov != null) {
        ensureProv(text.length());
        Arrays.fill(prov, start, text.length(), TEMPLATE);
      }
      return this;
    }

    Builder appendTemplate(char c) {
      checkRoom(1);
      text.append(c);
      if (prov != null) {
        ensureProv(text.length());
        prov[text.length() - 1] = TEMPLATE;
      }
      return this;
    }

    /** Appends one character with the given provenance. */
    Builder append(char c, int provenance) {
      if (provenance == TEMPLATE) {
        return appendTemplate(c);
      }
      checkRoom(1);
      text.append(c);
      ensureProv(text.length());
      prov[text.length() - 1] = provenance;
      return this;
    }

    /** Appends a string produced from one source character, all with that character's origin. */
    Builder append(String s, int provenance) {
      if (provenance == TEMPLATE) {
        return appendTemplate(s);
      }
      for (int i = 0; i < s.length(); i++) {
        append(s.charAt(i), provenance);
      }
      return this;
    }

    Builder append(PString s) {
      return append(s, 0, s.length());
    }

    /** Appends {@code s[start, end)} and the anchors of {@code s} at positions in that range. */
    Builder append(PString s, int start, int end) {
      checkRoom(end - start);
      int base = text.length();
      if (s.anchors != null) {
        for (int k = 0; k < s.anchors.length; k += 2) {
          int pos = s.anchors[k];
          if (pos >= start && pos <= end) {
            addAnchor(base + pos - start, s.anchors[k + 1]);
          }
        }
      }
      text.append(s.text, start, end);
      if (s.prov != null) {
        ensureProv(text.length());
        System.arraycopy(s.prov, start, prov, base, end - start);
      } else if (prov != null) {
        ensureProv(text.length());
        Arrays.fill(prov, base, text.length(), TEMPLATE);
      }
      return this;
    }

    /** Appends {@code s[start, end)} with its provenance but without its anchors. */
    Builder appendChars(PString s, int start, int end) {
      checkRoom(end - start);
      int base = text.length();
      text.append(s.text, start, end);
      if (s.prov != null) {
        ensureProv(text.length());
        System.arraycopy(s.prov, start, prov, base, end - start);
      } else if (prov != null) {
        ensureProv(text.length());
        Arrays.fill(prov, base, text.length(), TEMPLATE);
      }
      return this;
    }

    /** Marks the current position as where the content of {@code messageIndex} was placed. */
    Builder anchor(int messageIndex) {
      addAnchor(text.length(), messageIndex);
      return this;
    }

    private void addAnchor(int pos, int message) {
      if (anchors == null) {
        anchors = new int[4];
      } else if (anchorSize + 2 > anchors.length) {
        anchors = Arrays.copyOf(anchors, anchors.length * 2);
      }
      if (anchorSize >= 2 && anchors[anchorSize - 2] == pos && anchors[anchorSize - 1] == message) {
        return;
      }
      anchors[anchorSize++] = pos;
      anchors[anchorSize++] = message;
    }

    PString build() {
      String t = text.toString();
      int[] p = null;
      if (prov != null) {
        for (int i = 0; i < t.length(); i++) {
          if (prov[i] != TEMPLATE) {
            p = Arrays.copyOf(prov, t.length());
            break;
          }
        }
      }
      int[] a = anchorSize == 0 ? null : Arrays.copyOf(anchors, anchorSize);
      if (p == null && a == null) {
        return of(t);
      }
      return new PString(t, p, a);
    }
  }
}
