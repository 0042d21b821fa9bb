package dev.im4j.bench;

import dev.im4j.core.data.Conversation;
import dev.im4j.core.data.Message;
import dev.im4j.core.tokenizer.HfTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A seeded synthetic instruction dataset of Alpaca-like shape (instructions of 5 to 25 words,
 * outputs of 15 to 75, every fourth example two turns with a system prompt), and the bundled
 * Llama-2 tokenizer.
 */
final class Corpus {
  private static final String[] WORDS =
      ("the of and to a in is it you that he was for on are with as his they be at one have this"
              + " from or had by word but what some we can out other were all there when up use"
              + " your how said an each she which do their time if will way about many then them"
              + " write would like so these her long make thing see him two has look more day"
              + " could go come did number sound no most people my over know water than call"
              + " first who may down side been now find any new work part take get place made"
              + " live where after back little only round man year came show every good me give"
              + " our under name very through just form sentence great think say help low line"
              + " differ turn cause much mean before move right boy old too same tell does set"
              + " three want air well also play small end put home read hand port large spell"
              + " add even land here must big high such follow act why ask men change went light"
              + " kind off need house picture try us again animal point mother world near build"
              + " self earth father head stand own page should country found answer school grow"
              + " study still learn plant cover food sun four between state keep eye never last"
              + " let thought city tree cross farm hard start might story saw far sea draw left"
              + " late run don't while press close night real life few north explain, define:"
              + " translate. summarize? 2024 3.14 café naïve")
          .split(" ");

  private Corpus() {}

  static List<Conversation> conversations(int count, long seed) {
    Random random = new Random(seed);
    List<Conversation> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      List<Message> messages = new ArrayList<>();
      boolean multi = i % 4 == 3;
      if (multi) {
        messages.add(Message.system(sentence(random, 8)));
      }
      for (int turn = 0; turn < (multi ? 2 : 1); turn++) {
        messages.add(Message.user(sentence(random, 5 + random.nextInt(21))));
        messages.add(Message.assistant(sentence(random, 15 + random.nextInt(61))));
      }
      out.add(new Conversation(messages));
    }
    return out;
  }

  private static String sentence(Random random, int words) {
    StringBuilder sb = new StringBuilder();
    for (int w = 0; w < words; w++) {
      if (w > 0) {
        sb.append(random.nextInt(12) == 0 ? ".\n" : " ");
      }
      sb.append(WORDS[random.nextInt(WORDS.length)]);
    }
    return sb.toString();
  }

  /**
   * The Llama-2 tokenizer embedded in the benchmarks jar, loaded from a temporary folder that is
   * deleted again once the tokenizer has read it.
   */
  static HfTokenizer tokenizer() {
    try {
      Path dir = Files.createTempDirectory("im4j-bench-tokenizer");
      try {
        for (String file : new String[] {"tokenizer.json", "tokenizer_config.json"}) {
          try (InputStream in =
              Corpus.class.getClassLoader().getResourceAsStream("im4j/bench/tokenizer/" + file)) {
            if (in == null) {
              throw new IllegalStateException("benchmarks jar lacks " + file + "; rebuild it");
            }
            Files.copy(in, dir.resolve(file), StandardCopyOption.REPLACE_EXISTING);
          }
        }
        return HfTokenizer.load(dir);
      } finally {
        for (String file : new String[] {"tokenizer.json", "tokenizer_config.json"}) {
          Files.deleteIfExists(dir.resolve(file));
        }
        Files.delete(dir);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
