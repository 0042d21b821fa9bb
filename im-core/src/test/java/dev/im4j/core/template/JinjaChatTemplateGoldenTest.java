package dev.im4j.core.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.im4j.core.data.Conversation;
import dev.im4j.core.data.Message;
import dev.im4j.core.data.Role;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Renders the real Qwen3 and Llama-3 chat templates and compares with the output of Hugging Face's
 * jinja2 setup recorded in {@code golden/templates/chat_templates.json} (made by {@code
 * generate.py} beside it), text byte for byte and content spans exactly.
 */
class JinjaChatTemplateGoldenTest {
  /** The fixed time generate.py gives strftime_now. */
  private static final Clock GENERATOR_CLOCK =
      Clock.fixed(LocalDateTime.of(2024, 7, 26, 9, 30).toInstant(ZoneOffset.UTC), ZoneOffset.UTC);

  private static Path tokenizerConfig(String model) {
    String dir = System.getProperty("im4j.test.tokenizers");
    assertNotNull(dir, "system property im4j.test.tokenizers is not set (run through Maven)");
    return Path.of(dir, model, "package", "models", "tokenizer_config.json");
  }

  @TestFactory
  Stream<DynamicTest> matchesHuggingFace() throws IOException {
    JsonNode root;
    try (InputStream in = getClass().getResourceAsStream("/golden/templates/chat_templates.json")) {
      assertNotNull(in, "golden file missing");
      root = new ObjectMapper().readTree(in);
    }
    Map<String, JinjaChatTemplate> templates = new HashMap<>();
    templates.put("qwen3", JinjaChatTemplate.fromTokenizerConfig(tokenizerConfig("qwen3")));
    templates.put("llama3", JinjaChatTemplate.fromTokenizerConfig(tokenizerConfig("llama3")));
    JsonNode extra = root.get("templates");
    for (Map.Entry<String, JsonNode> e : extra.properties()) {
      String name = e.getKey();
      JsonNode t = e.getValue();
      Map<String, String> tokens = new LinkedHashMap<>();
      for (Map.Entry<String, JsonNode> token : t.get("special_tokens").properties()) {
        tokens.put(token.getKey(), token.getValue().asText());
      }
      templates.put(
          name, JinjaChatTemplate.of(t.get("source").asText(), tokens).withClock(GENERATOR_CLOCK));
    }
    List<DynamicTest> tests = new ArrayList<>();
    for (JsonNode c : root.get("cases")) {
      String model = c.get("model").asText();
      JinjaChatTemplate template = templates.get(model);
      assertNotNull(template, model);
      boolean agp = c.get("add_generation_prompt").asBoolean();
      String name = model + ": " + c.get("name").asText() + (agp ? " +gen" : "");
      tests.add(DynamicTest.dynamicTest(name, () -> check(template, c, agp)));
    }
    assertTrue(tests.size() >= 80, "expected at least 80 golden cases");
    return tests.stream();
  }

  private static void check(JinjaChatTemplate template, JsonNode c, boolean agp) {
    List<Message> messages = new ArrayList<>();
    for (JsonNode m : c.get("messages")) {
      messages.add(
          new Message(Role.fromWireName(m.get("role").asText()), m.get("content").asText()));
    }
    JsonNode error = c.get("error");
    if (error != null && !error.isNull()) {
      TemplateException e =
          assertThrows(
              TemplateException.class, () -> template.render(new Conversation(messages), agp));
      assertEquals(error.asText(), e.getMessage());
      return;
    }
    RenderedConversation r = template.render(new Conversation(messages), agp);
    assertEquals(c.get("text").asText(), r.text(), "rendered text");
    if (c.get("expected_content").isNull()) {
      // Hand-written templates: each content span is a piece of its message's content.
      for (RenderedConversation.Span s : r.spans()) {
        if (s.messageIndex() >= 0) {
          String piece = r.text().substring(s.start(), s.end());
          assertTrue(
              messages.get(s.messageIndex()).content().contains(piece),
              "span " + s + " is not from message " + s.messageIndex());
        }
      }
      return;
    }

    int contentChars = 0;
    int expectedContentChars = 0;
    for (int i = 0; i < messages.size(); i++) {
      JsonNode expected = c.get("expected_content").get(i);
      StringBuilder got = new StringBuilder();
      boolean anchored = false;
      for (RenderedConversation.Span s : r.spans()) {
        if (s.messageIndex() == i) {
          anchored = true;
          assertEquals(SpanKind.of(messages.get(i).role()), s.kind(), "span kind of message " + i);
          got.append(r.text(), s.start(), s.end());
          contentChars += s.length();
        }
      }
      if (expected.isNull()) {
        assertTrue(!anchored, "message " + i + " is not emitted but has content spans");
      } else {
        assertTrue(anchored, "message " + i + " has no content span (not even an empty anchor)");
        assertEquals(expected.asText(), got.toString(), "content text of message " + i);
        expectedContentChars += expected.asText().length();
      }
    }
    // Every content character is accounted for, so no template span holds content characters.
    assertEquals(expectedContentChars, contentChars, "content characters");
    int covered = 0;
    for (RenderedConversation.Span s : r.spans()) {
      assertEquals(covered, s.start(), "spans are contiguous");
      covered = s.end();
    }
    assertEquals(r.text().length(), covered, "spans cover the text");
  }
}
