package dev.im4j.core.mask;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.im4j.core.data.Conversation;
import dev.im4j.core.data.Message;
import dev.im4j.core.data.Role;
import dev.im4j.core.template.JinjaChatTemplate;
import dev.im4j.core.testing.RealTokenizers;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Training and prompt token ids of the real Qwen3 and Llama-3 templates equal the ids Hugging
 * Face's independent JavaScript tokenizer gives for the reference renderings ({@code
 * golden/tokens/token_ids.json}, made by {@code generate.mjs} beside it).
 */
class GoldenTokenIdsTest {

  private static JsonNode read(String resource) throws IOException {
    try (InputStream in = GoldenTokenIdsTest.class.getResourceAsStream(resource)) {
      assertNotNull(in, resource + " missing");
      return new ObjectMapper().readTree(in);
    }
  }

  private static String key(JsonNode c) {
    return c.get("model").asText()
        + "/"
        + c.get("name").asText()
        + "/"
        + c.get("add_generation_prompt").asBoolean();
  }

  @TestFactory
  Stream<DynamicTest> idsMatchTheJavaScriptTokenizer() throws IOException {
    Map<String, JsonNode> conversations = new HashMap<>();
    for (JsonNode c : read("/golden/templates/chat_templates.json").get("cases")) {
      conversations.put(key(c), c);
    }
    Map<String, ExampleEncoder> encoders = new HashMap<>();
    for (String model : List.of("qwen3", "llama3")) {
      encoders.put(
          model,
          ExampleEncoder.of(
              JinjaChatTemplate.fromTokenizerConfig(
                  RealTokenizers.dir(model).resolve("tokenizer_config.json")),
              RealTokenizers.load(model)));
    }
    List<DynamicTest> tests = new ArrayList<>();
    JsonNode golden = read("/golden/tokens/token_ids.json").get("cases");
    assertEquals(60, golden.size(), "golden cases");
    for (JsonNode g : golden) {
      tests.add(
          DynamicTest.dynamicTest(
              key(g),
              () -> {
                JsonNode source = conversations.get(key(g));
                assertNotNull(source, "no rendering for " + key(g));
                List<Message> messages = new ArrayList<>();
                for (JsonNode m : source.get("messages")) {
                  messages.add(
                      new Message(
                          Role.fromWireName(m.get("role").asText()), m.get("content").asText()));
                }
                Conversation conversation = new Conversation(messages);
                ExampleEncoder encoder = encoders.get(g.get("model").asText());
                int[] actual =
                    g.get("add_generation_prompt").asBoolean()
                        ? encoder.encodePrompt(conversation)
                        : encoder.encode(conversation).example().ids();
                int[] expected = new int[g.get("ids").size()];
                for (int i = 0; i < expected.length; i++) {
                  expected[i] = g.get("ids").get(i).asInt();
                }
                assertArrayEquals(expected, actual);
              }));
    }
    return tests.stream();
  }
}
