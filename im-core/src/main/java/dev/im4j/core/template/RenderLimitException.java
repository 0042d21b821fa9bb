package dev.im4j.core.template;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

/**
 * A rendering passed the caller's bound on its length ({@link ChatTemplate#render(
 * dev.im4j.core.data.Conversation, boolean, int)}). The message names the template, the length, the
 * limit and the remedy; the parts are also available separately.
 */
public final class RenderLimitException extends TemplateException {
  private static final long serialVersionUID = 1L;

  private final String templateName;
  private final long length;
  private final boolean stopped;
  private final int limit;

  /**
   * @param templateName the template's {@link ChatTemplate#name()}
   * @param length characters rendered: the whole text's length, or, when {@code stopped}, the
   *     length the text would have had after the write that passed the limit (so a lower bound)
   * @param stopped whether rendering was stopped at the limit rather than measured after it ended
   * @param limit the bound, {@code >= 1}
   * @throws IllegalArgumentException if {@code limit < 1} or {@code length <= limit}
   */
  public RenderLimitException(String templateName, long length, boolean stopped, int limit) {
    super(message(checkNotNull(templateName, "templateName"), length, stopped, limit));
    checkArgument(limit >= 1, "limit must be >= 1 but was %s", limit);
    checkArgument(length > limit, "length must pass the limit %s but was %s", limit, length);
    this.templateName = templateName;
    this.length = length;
    this.stopped = stopped;
    this.limit = limit;
  }

  /** The name of the template that rendered too much. */
  public String templateName() {
    return templateName;
  }

  /** Characters rendered; a lower bound when {@link #stopped()}. */
  public long length() {
    return length;
  }

  /** Whether the template was stopped at the limit, so that {@link #length()} is a lower bound. */
  public boolean stopped() {
    return stopped;
  }

  /** The bound on rendered characters that was passed. */
  public int limit() {
    return limit;
  }

  private static String message(String templateName, long length, boolean stopped, int limit) {
    return "template '"
        + templateName
        + (stopped
            ? "' was stopped at " + length + " rendered characters"
            : "' rendered " + length + " characters")
        + ", more than the limit of "
        + limit
        + " rendered characters per example; either the template repeats text (check its loops"
        + " and repetitions) or the example is very long: raise the limit with"
        + " --max-rendered-chars (ExampleEncoder.withMaxRenderedChars) if the rendering is meant"
        + " to be this long";
  }
}
