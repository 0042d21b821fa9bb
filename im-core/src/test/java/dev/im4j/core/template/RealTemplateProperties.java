package dev.im4j.core.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.core.data.Conversation;
import dev.im4j.core.data.Message;
import dev.im4j.core.data.Role;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Random conversations through the real Qwen3 and Llama-3 templates: content spans hold exactly
 * what the template takes from each message, and each assistant turn's content ends right before
 * its terminator (even when the content is empty), which is what masking relies on.
 */
class RealTemplateProperties {
  private static final JinjaChatTemplate QWEN3 = load("qwen3");
  private static final JinjaChatTemplate LLAMA3 = load("llama3");

  private static JinjaChatTemplate load(String model) {
    return JinjaChatTemplate.fromTokenizerConfig(
        Path.of(
            System.getProperty("im4j.test.tokenizers"),
            model,
            "package",
            "models",
            "tokenizer_config.json"));
  }

  @Provide
  Arbitrary<Conversation> conversations() {
    Arbitrary<String> piece =
        Arbitraries.oneOf(
            Arbitraries.strings().withChars(" \n\tab😀").ofMaxLength(4),
            Arbitraries.of("<think>", "</think>", "\n\n", "<|im_end|>", "<|eot_id|>", "x y"));
    Arbitrary<String> content = piece.list().ofMaxSize(5).map(l -> String.join("", l));
    Arbitrary<Boolean> withSystem = Arbitraries.of(true, false);
    Arbitrary<Integer> turns = Arbitraries.integers().between(1, 3);
    return Combinators.combine(withSystem, turns, content.list().ofSize(7))
        .as(
            (system, n, texts) -> {
              List<Message> messages = new ArrayList<>();
              int k = 0;
              if (system) {
                messages.add(Message.system(texts.get(k++)));
              }
              for (int i = 0; i < n; i++) {
                messages.add(Message.user(texts.get(k++)));
                messages.add(Message.assistant(texts.get(k++)));
              }
              return new Conversation(messages);
            });
  }

  private static String contentOf(RenderedConversation r, int message) {
    StringBuilder sb = new StringBuilder();
    for (RenderedConversation.Span s : r.spans()) {
      if (s.messageIndex() == message) {
        sb.append(r.text(), s.start(), s.end());
      }
    }
    return sb.toString();
  }

  private static void assertAssistantTurnsEndBefore(
      RenderedConversation r, Conversation c, String terminator) {
    for (int i = 0; i < c.size(); i++) {
      if (c.get(i).role() != Role.ASSISTANT) {
        continue;
      }
      RenderedConversation.Span last = null;
      for (RenderedConversation.Span s : r.spans()) {
        if (s.messageIndex() == i) {
          last = s;
        }
      }
      assertTrue(last != null, "assistant message " + i + " has a content span");
      assertTrue(
          r.text().startsWith(terminator, last.end()),
          "content of message " + i + " is followed by " + terminator + ": " + r);
    }
  }

  @Property(tries = 300, seed = "20261123")
  void llama3ContentIsTheTrimmedMessage(@ForAll("conversations") Conversation c) {
    RenderedConversation r = LLAMA3.render(c, false);
    for (int i = 0; i < c.size(); i++) {
      assertEquals(c.get(i).content().strip(), contentOf(r, i), "message " + i);
    }
    assertAssistantTurnsEndBefore(r, c, "<|eot_id|>");
  }

  @Property(tries = 300, seed = "20261123")
  void qwen3ContentIsWhatTheTemplateKeeps(@ForAll("conversations") Conversation c) {
    RenderedConversation r = QWEN3.render(c, false);
    List<String> expected = qwen3Expected(c);
    for (int i = 0; i < c.size(); i++) {
      assertEquals(expected.get(i), contentOf(r, i), "message " + i);
    }
    assertAssistantTurnsEndBefore(r, c, "<|im_end|>");
  }

  /** Mirrors the Qwen3 template (as generate.py does): what it emits of each content. */
  private static List<String> qwen3Expected(Conversation c) {
    int lastQuery = c.size() - 1;
    for (int i = c.size() - 1; i >= 0; i--) {
      String t = c.get(i).content();
      if (c.get(i).role() == Role.USER
          && !(t.startsWith("<tool_response>") && t.endsWith("</tool_response>"))) {
        lastQuery = i;
        break;
      }
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < c.size(); i++) {
      Message m = c.get(i);
      if (m.role() != Role.ASSISTANT) {
        out.add(m.content());
        continue;
      }
      String content = m.content();
      String reasoning = "";
      int close = content.indexOf("</think>");
      if (close >= 0) {
        content = stripLeading(content.substring(content.lastIndexOf("</think>") + 8), "\n");
        String before = stripTrailing(m.content().substring(0, close), "\n");
        int open = before.lastIndexOf("<think>");
        reasoning = stripLeading(open >= 0 ? before.substring(open + 7) : before, "\n");
      }
      boolean last = i == c.size() - 1;
      if (i > lastQuery && (last || !reasoning.isEmpty())) {
        out.add(stripTrailing(stripLeading(reasoning, "\n"), "\n") + stripLeading(content, "\n"));
      } else {
        out.add(content);
      }
    }
    return out;
  }

  private static String stripLeading(String s, String chars) {
    int i = 0;
    while (i < s.length() && chars.indexOf(s.charAt(i)) >= 0) {
      i++;
    }
    return s.substring(i);
  }

  private static String stripTrailing(String s, String chars) {
    int i = s.length();
    while (i > 0 && chars.indexOf(s.charAt(i - 1)) >= 0) {
      i--;
    }
    return s.substring(0, i);
  }
}
