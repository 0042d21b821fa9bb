package dev.im4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The Maven block of the README's "Use it from Maven" section, and the one in docs/runtimes.md, are
 * the block the consumer project in {@code consumer-tests/src/it/train-one-step} builds with
 * (between its {@code readme-snippet} markers), version for {@code @project.version@}, indentation
 * aside.
 */
class ReadmeMavenSnippetTest {
  private static final Path ROOT = Path.of("..");
  private static final Path CONSUMER = ROOT.resolve("consumer-tests/src/it/train-one-step/pom.xml");

  @Test
  void theReadmeAndRuntimesSnippetsAreTheConsumerProjectsBlock() throws IOException {
    String pom = Files.readString(CONSUMER);
    String begin = "<!-- readme-snippet: begin -->";
    String end = "<!-- readme-snippet: end -->";
    assertTrue(pom.contains(begin) && pom.contains(end), CONSUMER + " lacks the snippet markers");
    List<String> block =
        lines(
            pom.substring(pom.indexOf(begin) + begin.length(), pom.indexOf(end))
                .replace("@project.version@", System.getProperty("im4j.version")));

    assertEquals(block, firstXmlBlock(ROOT.resolve("README.md"), "## Use it from Maven"));
    assertEquals(block, firstXmlBlock(ROOT.resolve("docs/runtimes.md"), "## Maven coordinates"));
  }

  /** The lines of the first {@code xml} code block after {@code heading} in a Markdown file. */
  private static List<String> firstXmlBlock(Path markdown, String heading) throws IOException {
    String text = Files.readString(markdown);
    int section = text.indexOf(heading);
    assertTrue(section >= 0, markdown + " has no heading " + heading);
    int start = text.indexOf("```xml\n", section);
    assertTrue(start >= 0, markdown + " has no xml block after " + heading);
    start += "```xml\n".length();
    return lines(text.substring(start, text.indexOf("```", start)));
  }

  /** Non-blank lines without their indentation. */
  private static List<String> lines(String text) {
    return text.lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
  }
}
