package dev.im4j.onnx.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.onnx.graph.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** model.safetensors.index.json: layout as transformers writes it, and every inconsistency. */
class ShardIndexTest {
  @TempDir Path dir;

  private Weights weights;

  @BeforeEach
  void writeShards() {
    weights =
        Weights.of(
            List.of(
                Tensor.of("a", DType.FLOAT, new long[] {2}, new float[] {1, 2}),
                Tensor.of("b", DType.BFLOAT16, new long[] {2}, new float[] {3, 4}),
                Tensor.of("c", DType.FLOAT16, new long[] {1}, new float[] {5})));
    List<String> files = Safetensors.writeSharded(dir, Safetensors.DEFAULT_METADATA, weights, 8);
    assertEquals(
        List.of(
            "model-00001-of-00002.safetensors",
            "model-00002-of-00002.safetensors",
            Safetensors.INDEX_FILE),
        files);
  }

  private Path index() {
    return dir.resolve(Safetensors.INDEX_FILE);
  }

  private String failure(String indexText) throws IOException {
    Files.writeString(index(), indexText);
    SafetensorsException e =
        assertThrows(SafetensorsException.class, () -> Safetensors.readDirectory(dir));
    assertTrue(e.getMessage().startsWith(index() + ": "), e.getMessage());
    return e.getMessage();
  }

  @Test
  void indexIsWrittenLikeTransformers() throws IOException {
    assertEquals(
        """
        {
          "metadata": {
            "total_size": 14
          },
          "weight_map": {
            "a": "model-00001-of-00002.safetensors",
            "b": "model-00002-of-00002.safetensors",
            "c": "model-00002-of-00002.safetensors"
          }
        }
        """,
        Files.readString(index()));
    assertEquals(weights, Safetensors.readDirectory(dir));
  }

  @Test
  void inconsistentIndexes() throws IOException {
    String m =
        failure("{\"weight_map\": {\"a\": \"model-00001-of-00002.safetensors\", \"a\": \"x\"}}");
    assertTrue(m.contains("repeats a key (Duplicate field 'a')"), m);
    m =
        failure(
            "{\"weight_map\": {\"a\": \"model-00001-of-00002.safetensors\","
                + " \"b\": \"model-00002-of-00002.safetensors\"}}");
    assertTrue(
        m.contains(
            "disagrees with shard "
                + dir.resolve("model-00002-of-00002.safetensors")
                + ": mapped there but absent [], present but mapped elsewhere or not at all [c]"),
        m);
    m =
        failure(
            "{\"weight_map\": {\"a\": \"model-00002-of-00002.safetensors\","
                + " \"b\": \"model-00002-of-00002.safetensors\", \"c\": \"model-00002-of-00002.safetensors\"}}");
    assertTrue(m.contains("mapped there but absent [a]"), m);
    m = failure("{\"weight_map\": {\"a\": \"../elsewhere.safetensors\"}}");
    assertTrue(
        m.contains(
            "shard \"../elsewhere.safetensors\" must be a plain file name in the same directory"),
        m);
    m = failure("{\"weight_map\": {\"a\": 3}}");
    assertTrue(m.contains("field \"weight_map.a\" must be a shard file name but is 3"), m);
    m = failure("{\"metadata\": {}}");
    assertTrue(
        m.contains("field \"weight_map\" must be an object of tensor name to shard file"), m);
    m = failure("{");
    assertTrue(m.contains("not valid JSON"), m);
  }
}
