package dev.im4j.cli;

import dev.im4j.core.data.Conversation;
import dev.im4j.core.data.Example;
import dev.im4j.core.data.PlainText;
import dev.im4j.core.mask.ExampleEncoder;
import dev.im4j.core.mask.TokenizedExample;
import dev.im4j.core.template.RenderedConversation;
import dev.im4j.core.tokenizer.Encoding;

/**
 * Shows which tokens of an example are trained: runs of weight-1 tokens between {@code «} and
 * {@code »}, runs of other positive weights between {@code ‹} and {@code ›}; untrained text plain.
 */
final class TokenPreview {
  static final String LEGEND = "«trained»  ‹trained with prompt weight›  untrained";

  private TokenPreview() {}

  static String render(ExampleEncoder encoder, Example example, TokenizedExample e) {
    String text;
    Encoding enc;
    if (example instanceof Conversation conversation) {
      RenderedConversation rendered = encoder.template().render(conversation, false);
      text = rendered.text();
      enc = encoder.tokenize(rendered);
    } else {
      text = ((PlainText) example).text();
      enc = encoder.tokenizer().encode(text, true); // the appended EOS has no characters here
    }
    StringBuilder out = new StringBuilder();
    int mode = 0; // 0 untrained, 1 full, 2 partial
    int shown = 0; // characters of text already printed
    float[] weights = e.weights();
    for (int i = 0; i < e.length(); i++) {
      float w = weights[i];
      int m = w == 0f ? 0 : w == 1f ? 1 : 2;
      if (m != mode) {
        out.append(mode == 1 ? "»" : mode == 2 ? "›" : "");
        out.append(m == 1 ? "«" : m == 2 ? "‹" : "");
        mode = m;
      }
      if (i >= enc.length() || enc.start(i) == enc.end(i)) {
        out.append(encoder.tokenizer().decode(new int[] {e.idAt(i)}, false));
      } else if (enc.end(i) > shown) {
        out.append(text, Math.max(shown, enc.start(i)), enc.end(i));
        shown = enc.end(i);
      }
    }
    out.append(mode == 1 ? "»" : mode == 2 ? "›" : "");
    return out.toString();
  }
}
