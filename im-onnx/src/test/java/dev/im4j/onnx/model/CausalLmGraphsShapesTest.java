package dev.im4j.onnx.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.onnx.graph.Dim;
import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.graph.Node;
import dev.im4j.onnx.graph.Value;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every value a decoder layer adds to the training graph has a named shape (static sizes, the batch
 * and sequence symbols and their products), forward and backward. ONNX Runtime's memory planner can
 * only reuse a buffer for a value whose shape it knows, and compares each freed unknown-shaped
 * buffer with every later output, so unknown shapes that grow with the layers made opening a
 * session quadratic in the model's depth.
 */
class CausalLmGraphsShapesTest {

  @ParameterizedTest(name = "{0}, gradient checkpointing {1}")
  @CsvSource({"llama, false", "llama, true", "qwen2, false", "mistral, true", "gpt2, false"})
  void unknownShapesDoNotGrowWithTheLayers(String type, boolean checkpointing) {
    List<Value> one = unknownShaped(config(type, 1), checkpointing);
    List<Value> three = unknownShaped(config(type, 3), checkpointing);
    assertEquals(one.size(), three.size(), "values of unknown shape, 1 layer: " + one);
    assertTrue(one.size() < 40, "values of unknown shape: " + one);
  }

  private static List<Value> unknownShaped(CausalLmConfig config, boolean checkpointing) {
    Graph g = CausalLmGraphs.training(config, Set.of(), false, checkpointing);
    return g.nodes().stream()
        .map(Node::outputs)
        .flatMap(List::stream)
        .filter(v -> v.shape().dims().stream().anyMatch(Dim::isUnknown))
        .toList();
  }

  private static CausalLmConfig config(String type, int layers) {
    String json =
        switch (type) {
          case "gpt2" ->
              """
              {"model_type": "gpt2", "vocab_size": 11, "n_positions": 6, "n_embd": 8,
               "n_layer": %d, "n_head": 2}""";
          case "qwen2" ->
              """
              {"model_type": "qwen2", "vocab_size": 11, "hidden_size": 8,
               "intermediate_size": 12, "num_hidden_layers": %d, "num_attention_heads": 4,
               "num_key_value_heads": 2, "tie_word_embeddings": true}""";
          case "mistral" ->
              """
              {"model_type": "mistral", "vocab_size": 11, "hidden_size": 8,
               "intermediate_size": 12, "num_hidden_layers": %d, "num_attention_heads": 4,
               "num_key_value_heads": 1, "sliding_window": 16}""";
          default ->
              """
              {"model_type": "llama", "vocab_size": 11, "hidden_size": 8,
               "intermediate_size": 12, "num_hidden_layers": %d, "num_attention_heads": 4,
               "num_key_value_heads": 2}""";
        };
    return CausalLmConfig.parse(json.formatted(layers), type + "-" + layers);
  }
}
