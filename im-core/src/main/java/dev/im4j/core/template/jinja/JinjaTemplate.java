package dev.im4j.core.template.jinja;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import dev.im4j.core.data.Conversation;
import dev.im4j.core.data.Message;
import dev.im4j.core.template.ChatTemplates;
import dev.im4j.core.template.RenderLimitException;
import dev.im4j.core.template.RenderedConversation;
import dev.im4j.core.template.SpanKind;
import dev.im4j.core.template.TemplateException;
import dev.im4j.core.template.jinja.Node.Stmt;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A parsed Jinja template in the subset used by Hugging Face chat templates, rendered in a sandbox
 * with per-character provenance.
 *
 * <p>Templates see only values built by the interpreter (strings, numbers, lists, dicts,
 * namespaces); no Java object, reflection or I/O is reachable. Rendering is bounded (constants in
 * the package-private {@code Limits}): at most 10,000,000 characters per string or output,
 * 1,000,000 loop iterations per rendering, macro calls nested 100 deep, 100,000-element {@code
 * range}; exceeding a bound throws {@link TemplateException} naming it.
 *
 * <p>Semantics are those of jinja2 as {@code transformers} configures it (trim_blocks,
 * lstrip_blocks, loop controls, its {@code tojson}, {@code raise_exception}, {@code strftime_now}),
 * including the default {@code Undefined}: it prints as empty, is falsy and iterates as empty, but
 * attribute access, subscripts, calls and arithmetic on it throw, as in jinja2.
 *
 * <p>Not supported (each fails with a {@link TemplateException} naming it, never renders
 * differently): {@code call} blocks, {@code include}/{@code extends}/{@code import}, recursive
 * loops, macro varargs and {@code caller}, {@code %}-conversions other than {@code %s %d %i %%},
 * and format specs in {@code str.format}.
 *
 * <p>Provenance: a character copied from a message's content keeps that message's index through
 * every string operation; literal text, roles, special tokens, numbers and the quotes and escapes
 * written by {@code tojson} are template text.
 *
 * <p>Immutable and thread-safe: each rendering has its own interpreter state.
 */
public final class JinjaTemplate {
  private final String source;
  private final List<Stmt> body;

  private JinjaTemplate(String source, List<Stmt> body) {
    this.source = source;
    this.body = body;
  }

  /**
   * Parses a template.
   *
   * @throws TemplateException with the line and column of the first syntax error
   */
  public static JinjaTemplate parse(String source) {
    checkNotNull(source, "source");
    return new JinjaTemplate(source, Parser.parse(source));
  }

  /**
   * Renders a conversation the way {@code transformers}' {@code apply_chat_template(...,
   * tokenize=False)} does: the variables are {@code messages} (a list of {@code {"role",
   * "content"}} dicts), {@code add_generation_prompt}, {@code tools = none}, {@code documents =
   * none} and the given special tokens. Content characters keep their message index; everything
   * else is template text.
   *
   * @param specialTokens variables such as {@code bos_token}; names must be identifiers
   * @param clock the time seen by {@code strftime_now}
   * @throws TemplateException if the template fails or rejects the conversation
   */
  public RenderedConversation render(
      Conversation conversation,
      boolean addGenerationPrompt,
      Map<String, String> specialTokens,
      Clock clock) {
    return render(conversation, addGenerationPrompt, specialTokens, clock, Integer.MAX_VALUE);
  }

  /**
   * Renders like {@link #render(Conversation, boolean, Map, Clock)}, stopping as soon as the output
   * would pass {@code maxOutputChars} characters (the bound on every string and output, {@code
   * Limits.MAX_STRING_CHARS}, still applies when it is lower).
   *
   * @param maxOutputChars the most characters the output may have, {@code >= 1}
   * @throws RenderLimitException if the output would pass {@code maxOutputChars}, naming the
   *     template {@value ChatTemplates#JINJA}
   * @throws TemplateException if the template fails or rejects the conversation
   */
  public RenderedConversation render(
      Conversation conversation,
      boolean addGenerationPrompt,
      Map<String, String> specialTokens,
      Clock clock,
      int maxOutputChars) {
    checkArgument(maxOutputChars >= 1, "maxOutputChars must be >= 1 but was %s", maxOutputChars);
    List<Object> messages = new ArrayList<>(conversation.size());
    SpanKind[] kinds = new SpanKind[conversation.size()];
    PString roleKey = PString.of("role");
    PString contentKey = PString.of("content");
    for (int i = 0; i < conversation.size(); i++) {
      Message m = conversation.get(i);
      kinds[i] = SpanKind.of(m.role());
      Map<Object, Object> dict = new LinkedHashMap<>();
      dict.put(roleKey, PString.of(m.role().wireName()));
      dict.put(contentKey, PString.content(m.content(), i));
      messages.add(Values.dict(dict));
    }
    Map<String, Object> vars = new HashMap<>();
    specialTokens.forEach((k, v) -> vars.put(k, PString.of(v)));
    vars.put("messages", Values.list(messages));
    vars.put("add_generation_prompt", addGenerationPrompt);
    vars.put("tools", Values.NONE);
    vars.put("documents", Values.NONE);
    PString out = render(vars, clock, maxOutputChars);
    return toRendered(out, kinds);
  }

  /** Renders with arbitrary interpreter values as variables (tests and internal use). */
  PString render(Map<String, Object> variables, Clock clock) {
    return render(variables, clock, Integer.MAX_VALUE);
  }

  /** As {@link #render(Map, Clock)}, with the output stopped past {@code maxOutputChars}. */
  PString render(Map<String, Object> variables, Clock clock, int maxOutputChars) {
    return new Interpreter(source, variables, clock).render(body, maxOutputChars);
  }

  /** Converts provenance runs and anchors to spans. */
  static RenderedConversation toRendered(PString out, SpanKind[] kinds) {
    RenderedConversation.Builder b = RenderedConversation.builder();
    String text = out.text();
    int anchor = 0;
    int anchors = out.anchorCount();
    int runStart = 0;
    int n = text.length();
    for (int i = 0; i <= n; i++) {
      boolean anchorHere = anchor < anchors && out.anchorPosition(anchor) == i;
      boolean runEnds =
          i == n || anchorHere || (i > runStart && out.provenance(i) != out.provenance(runStart));
      if (runEnds && i > runStart) {
        emit(b, text.substring(runStart, i), out.provenance(runStart), kinds);
        runStart = i;
      }
      while (anchor < anchors && out.anchorPosition(anchor) == i) {
        emit(b, "", out.anchorMessage(anchor), kinds);
        anchor++;
      }
    }
    return b.build();
  }

  private static void emit(
      RenderedConversation.Builder b, String piece, int provenance, SpanKind[] kinds) {
    if (provenance == PString.TEMPLATE) {
      b.template(piece);
    } else {
      b.content(piece, kinds[provenance], provenance);
    }
  }
}
