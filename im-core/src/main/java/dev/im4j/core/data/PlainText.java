package dev.im4j.core.data;

import static com.google.common.base.Preconditions.checkNotNull;

/**
 * A plain-text document: a {@code {"text": ...}} row of {@link DatasetFormat#TEXT}, for continued
 * pretraining and domain adaptation. It has no roles and no template; every token of it is trained
 * under every loss policy ({@code TokenClass.TEXT}).
 *
 * @param text the document; may be empty (it then trains only its end-of-sequence token)
 */
public record PlainText(String text) implements Example {
  public PlainText {
    checkNotNull(text, "text");
  }
}
