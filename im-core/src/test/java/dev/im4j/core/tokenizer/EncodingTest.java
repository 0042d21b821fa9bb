package dev.im4j.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.core.testing.RealTokenizers;
import org.junit.jupiter.api.Test;

class EncodingTest {

  private static Encoding of(int... startEnd) {
    int n = startEnd.length / 2;
    int[] starts = new int[n];
    int[] ends = new int[n];
    for (int i = 0; i < n; i++) {
      starts[i] = startEnd[2 * i];
      ends[i] = startEnd[2 * i + 1];
    }
    return new Encoding(new int[n], starts, ends);
  }

  @Test
  void orderedMeansSortedRangesWithCharactersAfterTheFirstToken() {
    assertTrue(of().isOrdered());
    assertTrue(of(0, 0, 0, 2, 2, 3).isOrdered(), "a leading added token may be empty");
    assertTrue(of(0, 2, 2, 4, 2, 4, 2, 4, 4, 5).isOrdered(), "bytes of one character share it");
    assertTrue(of(0, 2, 3, 4).isOrdered(), "a skipped character");
    assertFalse(of(0, 2, 2, 2, 2, 3).isOrdered(), "an empty token inside the text");
    assertFalse(of(0, 2, 2, 3, 3, 3).isOrdered(), "an added EOS");
    assertFalse(of(0, 4, 1, 3).isOrdered(), "an end falls");
    assertFalse(of(2, 3, 0, 1).isOrdered(), "a start falls");
  }

  @Test
  void invalidRangesAreRejectedWithTheToken() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> of(0, 1, 3, 2));
    assertEquals("token 1 has an invalid range [3, 2)", e.getMessage());
  }

  @Test
  void realTokenizationsAreOrdered() {
    // Not required for correctness, but the mask builder's fast path relies on it being common.
    String text = "<|user|>\nHi 😀 there, é 中文 🎉🎉\n\n  done.\n<|assistant|>\nOK</s>";
    for (String name : new String[] {"qwen3", "llama3", "llama2"}) {
      Encoding e = RealTokenizers.load(name).encode(text, true);
      assertTrue(e.isOrdered(), name + ": " + e);
    }
  }
}
