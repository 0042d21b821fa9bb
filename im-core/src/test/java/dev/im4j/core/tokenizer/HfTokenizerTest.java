package dev.im4j.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.core.testing.RealTokenizers;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfTokenizerTest {

  @Test
  void offsetsAreUtf16IndexesEvenWithSurrogatePairs() {
    for (String name : new String[] {"qwen3", "llama3", "llama2"}) {
      HfTokenizer tokenizer = RealTokenizers.load(name);
      String text = "Hi 😀 there é 中文 🎉🎉 done";
      Encoding e = tokenizer.encode(text, false);
      // Every character is covered, in order, and the last token ends at the text's end.
      int covered = 0;
      for (int i = 0; i < e.length(); i++) {
        assertTrue(e.start(i) <= covered, name + ": gap before token " + i);
        covered = Math.max(covered, e.end(i));
      }
      assertEquals(text.length(), covered, name);
      // The token holding the emoji's low surrogate also holds its high surrogate.
      int emoji = text.indexOf("😀");
      for (int i = 0; i < e.length(); i++) {
        if (e.start(i) <= emoji + 1 && emoji + 1 < e.end(i)) {
          assertTrue(e.start(i) <= emoji, name + ": surrogate pair split at token " + i);
        }
      }
      assertEquals(
          " there", text.substring(startOfWord(e, text, "there"), text.indexOf("there") + 5), name);
    }
  }

  private static int startOfWord(Encoding e, String text, String word) {
    int at = text.indexOf(word);
    for (int i = 0; i < e.length(); i++) {
      if (e.start(i) <= at && at < e.end(i)) {
        return e.start(i);
      }
    }
    throw new AssertionError(word + " not covered");
  }

  @Test
  void specialTokensComeFromTheConfigAndAddedTokens() {
    HfTokenizer qwen = RealTokenizers.load("qwen3");
    assertEquals("<|im_end|>", qwen.specialTokens().eos().orElseThrow());
    assertTrue(qwen.specialTokens().bos().isEmpty());
    int imEnd = qwen.specialTokens().eosId().getAsInt();
    assertTrue(qwen.isSpecial(imEnd));
    assertEquals(1, qwen.encode("<|im_end|>", false).length());

    HfTokenizer llama3 = RealTokenizers.load("llama3");
    assertEquals("<|begin_of_text|>", llama3.specialTokens().bos().orElseThrow());
    int eot = llama3.encode("<|eot_id|>", false).id(0);
    assertTrue(llama3.isSpecial(eot));
    assertFalse(llama3.isSpecial(llama3.encode("hello", false).id(0)));
    assertEquals(128256, llama3.vocabSize());

    HfTokenizer llama2 = RealTokenizers.load("llama2");
    assertEquals(1, llama2.specialTokens().bosId().getAsInt());
    assertEquals(2, llama2.specialTokens().eosId().getAsInt());
    assertEquals(32000, llama2.vocabSize());
  }

  @Test
  void addedBosHasAnEmptyRangeAndIsAddedOnlyWhenAsked() {
    HfTokenizer llama2 = RealTokenizers.load("llama2");
    Encoding with = llama2.encode("hello world", true);
    Encoding without = llama2.encode("hello world", false);
    assertEquals(1, with.id(0));
    assertEquals(0, with.start(0));
    assertEquals(0, with.end(0));
    assertEquals(without.length() + 1, with.length());
  }

  @Test
  void longTextIsNeverTruncated() {
    HfTokenizer qwen = RealTokenizers.load("qwen3");
    assertEquals(5000, qwen.encode(" word".repeat(5000), false).length());
  }

  @Test
  void decodeInvertsEncode() {
    HfTokenizer qwen = RealTokenizers.load("qwen3");
    String text = "<|im_start|>user\nHallo 😀<|im_end|>\n";
    assertEquals(text, qwen.decode(qwen.encode(text, false).ids(), false));
  }

  @Test
  void missingOrBrokenFilesNameTheFile(@TempDir Path dir) throws Exception {
    TokenizerException missing =
        assertThrows(TokenizerException.class, () -> HfTokenizer.load(dir));
    assertTrue(missing.getMessage().contains("tokenizer.json"), missing.getMessage());

    Files.copy(
        RealTokenizers.dir("llama2").resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
    Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": 42}");
    TokenizerException badField =
        assertThrows(TokenizerException.class, () -> HfTokenizer.load(dir));
    assertTrue(badField.getMessage().contains("tokenizer_config.json"), badField.getMessage());
    assertTrue(badField.getMessage().contains("eos_token"), badField.getMessage());

    Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": \"<nope>\"}");
    TokenizerException unknown =
        assertThrows(TokenizerException.class, () -> HfTokenizer.load(dir));
    assertTrue(unknown.getMessage().contains("<nope>"), unknown.getMessage());
  }
}
