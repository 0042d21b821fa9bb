package dev.im4j.core.mask;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.core.data.Conversation;
import dev.im4j.core.data.Message;
import dev.im4j.core.data.Role;
import dev.im4j.core.template.BuiltinTemplate;
import dev.im4j.core.template.ChatTemplate;
import dev.im4j.core.template.JinjaChatTemplate;
import dev.im4j.core.template.RenderedConversation;
import dev.im4j.core.template.RenderedConversation.Span;
import dev.im4j.core.testing.RealTokenizers;
import dev.im4j.core.testing.WordTokenizer;
import dev.im4j.core.tokenizer.Encoding;
import dev.im4j.core.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Invariants 1 to 10 of docs/invariants.md (encoding and masks), over generated conversations and
 * every setup.
 */
class MaskProperties {

  /**
   * Copying a range of weights writes each token's weight and nothing outside the range, whichever
   * runs the range starts, ends and lies in (the copy fills the range with its last run's weight
   * first and then writes the other runs over it).
   */
  @Property
  void copyingWeightsWritesExactlyTheRange(
      @ForAll @Size(min = 1, max = 40) List<@IntRange(min = 0, max = 3) Integer> levels,
      @ForAll @IntRange(min = 0, max = 40) int from,
      @ForAll @IntRange(min = 0, max = 40) int length,
      @ForAll @IntRange(min = 0, max = 5) int destPos) {
    float[] palette = {0f, 1f, 0.5f, 0.25f};
    int n = levels.size();
    float[] weights = new float[n];
    byte[] classes = new byte[n];
    int[] turns = new int[n];
    for (int i = 0; i < n; i++) {
      weights[i] = palette[levels.get(i)];
      classes[i] = (byte) (i / 3 % TokenClass.values().length); // runs that cut weight runs
      turns[i] = -1;
    }
    TokenizedExample example = new TokenizedExample(new int[n], weights, classes, turns);
    int start = Math.min(from, n);
    int count = Math.min(length, n - start);
    float[] dest = new float[destPos + count + 3];
    Arrays.fill(dest, Float.NaN);
    example.copyWeights(start, dest, destPos, count);
    for (int j = 0; j < dest.length; j++) {
      int token = start + j - destPos;
      if (j >= destPos && j < destPos + count) {
        assertEquals(weights[token], dest[j], "weight of token " + token);
      } else {
        assertTrue(Float.isNaN(dest[j]), "cell " + j + " outside the range was written");
      }
    }
  }

  /**
   * The galloping search for where a run of tokens ends finds the first token ending after the
   * position, whatever the guess it starts from (before, at or after the answer, or outside the
   * range), as a linear scan does.
   */
  @Property
  void runEndSearchFindsTheFirstTokenEndingAfterFromAnyGuess(
      @ForAll @Size(max = 80) List<@IntRange(min = 0, max = 3) Integer> widths,
      @ForAll @IntRange(min = 0, max = 90) int from,
      @ForAll @IntRange(min = 0, max = 90) int to,
      @ForAll @IntRange(min = 0, max = 200) int position,
      @ForAll @IntRange(min = -10, max = 100) int guess) {
    int n = widths.size();
    int[] starts = new int[n];
    int[] ends = new int[n];
    for (int i = 0, at = 0; i < n; i++) {
      starts[i] = at;
      ends[i] = at + (i == 0 ? widths.get(i) : Math.max(1, widths.get(i))); // ordered
      at = ends[i];
    }
    Encoding encoding = new Encoding(new int[n], starts, ends);
    assertTrue(encoding.isOrdered());
    int lo = Math.min(from, n);
    int hi = Math.max(lo, Math.min(to, n));
    int expected = lo;
    while (expected < hi && ends[expected] <= position) {
      expected++;
    }
    assertEquals(expected, MaskBuilder.firstTokenEndingAfter(encoding, lo, hi, position, guess));
  }

  /** A template with the tokenizer it is meant for. */
  record Setup(String name, ChatTemplate template, Tokenizer tokenizer) {
    @Override
    public String toString() {
      return name;
    }
  }

  @Provide
  Arbitrary<Setup> setups() {
    return Arbitraries.of(
        new Setup("tulu/word", BuiltinTemplate.TULU.create("</s>"), WordTokenizer.llamaLike()),
        new Setup("alpaca/word", BuiltinTemplate.ALPACA.create("</s>"), WordTokenizer.llamaLike()),
        new Setup("chatml/word", BuiltinTemplate.CHATML.create("</s>"), WordTokenizer.noBos()),
        new Setup("llama3/word", BuiltinTemplate.LLAMA3.create("</s>"), WordTokenizer.noBos()),
        new Setup(
            "tulu/llama2", BuiltinTemplate.TULU.create("</s>"), RealTokenizers.load("llama2")),
        new Setup(
            "chatml/qwen3", BuiltinTemplate.CHATML.create("</s>"), RealTokenizers.load("qwen3")),
        new Setup(
            "llama3/llama3", BuiltinTemplate.LLAMA3.create("</s>"), RealTokenizers.load("llama3")),
        new Setup("jinja/qwen3", jinja("qwen3"), RealTokenizers.load("qwen3")),
        new Setup("jinja/llama3", jinja("llama3"), RealTokenizers.load("llama3")));
  }

  private static ChatTemplate jinja(String name) {
    return JinjaChatTemplate.fromTokenizerConfig(
        RealTokenizers.dir(name).resolve("tokenizer_config.json"));
  }

  static Arbitrary<String> contents() {
    Arbitrary<String> words =
        Arbitraries.of(
            "hello",
            "world",
            "2+2",
            "Ünïcödé",
            "中文",
            "😀",
            "<|user|>",
            "<|assistant|>",
            "</s>",
            "<|im_end|>",
            "<s>",
            "\n",
            " ",
            "  ",
            "\t",
            "a",
            "42.",
            "x\u00A0y");
    return Combinators.combine(words.list().ofMaxSize(8), Arbitraries.of(" ", "", "\n"))
        .as((list, sep) -> String.join(sep, list));
  }

  @Provide
  Arbitrary<Conversation> conversations() {
    Arbitrary<Boolean> system = Arbitraries.of(true, false);
    Arbitrary<List<String>> turns = contents().list().ofMinSize(1).ofMaxSize(3);
    return Combinators.combine(system, contents(), turns, turns)
        .as(
            (withSystem, sys, users, answers) -> {
              List<Message> messages = new ArrayList<>();
              if (withSystem) {
                messages.add(Message.system(sys));
              }
              for (int i = 0; i < Math.min(users.size(), answers.size()); i++) {
                messages.add(Message.user(users.get(i)));
                messages.add(Message.assistant(answers.get(i)));
              }
              return new Conversation(messages);
            });
  }

  private static TokenizedExample encode(Setup s, LossPolicy policy, Conversation c) {
    return policy.weigh(ExampleEncoder.of(s.template(), s.tokenizer()).encode(c).example());
  }

  private static boolean[] trained(TokenizedExample e) {
    boolean[] t = new boolean[e.length()];
    for (int i = 0; i < t.length; i++) {
      t[i] = e.weightAt(i) > 0;
    }
    return t;
  }

  @Property(tries = 150)
  void masksNest(@ForAll("setups") Setup s, @ForAll("conversations") Conversation c) {
    boolean[] it = trained(encode(s, LossPolicy.outputOnly(), c));
    boolean[] im = trained(encode(s, LossPolicy.instructionModelling(), c));
    boolean[] all = trained(encode(s, LossPolicy.allTokens(), c));
    for (int i = 0; i < it.length; i++) {
      assertTrue(!it[i] || im[i], "IT ⊆ IM fails at " + i);
      assertTrue(!im[i] || all[i], "IM ⊆ ALL fails at " + i);
      assertTrue(all[i], "ALL trains every token");
    }
  }

  @Property(tries = 150)
  void imTrainsExactlyTheContentAndTerminators(
      @ForAll("setups") Setup s, @ForAll("conversations") Conversation c) {
    RenderedConversation rendered = s.template().render(c, false);
    ExampleEncoder encoder = ExampleEncoder.of(s.template(), s.tokenizer());
    Encoding encoding = encoder.tokenize(rendered);
    TokenizedExample e = LossPolicy.instructionModelling().weigh(encoder.encode(c).example());
    assertArrayEquals(encoding.ids(), e.ids(), "one rendering, one tokenization");
    for (int i = 0; i < e.length(); i++) {
      boolean content = e.classAt(i) != TokenClass.TEMPLATE;
      assertEquals(content ? 1f : 0f, e.weightAt(i), "token " + i + " " + e.classAt(i));
    }
    // Invariant 4: every content character lies in a content token of some message, and each
    // content token holds at least one character of the message it is attributed to.
    for (Span span : rendered.spans()) {
      if (!span.kind().isContent()) {
        continue;
      }
      for (int ch = span.start(); ch < span.end(); ch++) {
        boolean covered = false;
        for (int i = 0; i < e.length(); i++) {
          if (encoding.start(i) <= ch && ch < encoding.end(i)) {
            covered |= e.classAt(i) != TokenClass.TEMPLATE && e.classAt(i) != TokenClass.TERMINATOR;
          }
        }
        assertTrue(covered, "content character " + ch + " of " + span + " is in no content token");
      }
    }
    for (int i = 0; i < e.length(); i++) {
      TokenClass cls = e.classAt(i);
      if (cls == TokenClass.TEMPLATE || cls == TokenClass.TERMINATOR) {
        continue;
      }
      boolean own = false;
      for (Span span : rendered.spans()) {
        own |=
            span.messageIndex() == e.turnAt(i)
                && span.start() < encoding.end(i)
                && encoding.start(i) < span.end();
      }
      assertTrue(own, "token " + i + " holds no character of message " + e.turnAt(i));
    }
  }

  @Property(tries = 150)
  void everyAssistantTurnHasATrainedSpecialTerminator(
      @ForAll("setups") Setup s, @ForAll("conversations") Conversation c) {
    for (LossPolicy policy : List.of(LossPolicy.outputOnly(), LossPolicy.instructionModelling())) {
      ExampleEncoder.Result result = ExampleEncoder.of(s.template(), s.tokenizer()).encode(c);
      TokenizedExample e = policy.weigh(result.example());
      assertEquals(0, result.missingTerminators());
      long assistants = c.messages().stream().filter(m -> m.role() == Role.ASSISTANT).count();
      int terminators = 0;
      for (int i = 0; i < e.length(); i++) {
        if (e.classAt(i) == TokenClass.TERMINATOR) {
          terminators++;
          assertTrue(s.tokenizer().isSpecial(e.idAt(i)));
          assertEquals(1f, e.weightAt(i));
          assertEquals(Role.ASSISTANT, c.get(e.turnAt(i)).role());
        }
      }
      assertEquals(assistants, terminators);
    }
  }

  @Property(tries = 100)
  void perRoleMasksPartitionTheContent(
      @ForAll("setups") Setup s, @ForAll("conversations") Conversation c) {
    boolean[] im = trained(encode(s, LossPolicy.instructionModelling(), c));
    int[] count = new int[im.length];
    for (Role role : Role.values()) {
      boolean[] one =
          trained(encode(s, LossPolicy.instructionModelling().withRoles(EnumSet.of(role)), c));
      for (int i = 0; i < one.length; i++) {
        count[i] += one[i] ? 1 : 0;
      }
    }
    for (int i = 0; i < im.length; i++) {
      assertEquals(im[i] ? 1 : 0, count[i], "token " + i + " must be in exactly one role mask");
    }
  }

  @Property(tries = 100)
  void promptWeightGeneralisesItAndIm(
      @ForAll("setups") Setup s,
      @ForAll("conversations") Conversation c,
      @ForAll("lambdas") float lambda) {
    float[] weights = encode(s, LossPolicy.promptWeight(lambda), c).weights();
    for (float w : weights) {
      assertTrue(w == 0f || w == lambda || w == 1f, "weight " + w);
    }
    assertArrayEquals(
        encode(s, LossPolicy.outputOnly(), c).weights(),
        encode(s, LossPolicy.promptWeight(0f), c).weights());
    assertArrayEquals(
        encode(s, LossPolicy.instructionModelling(), c).weights(),
        encode(s, LossPolicy.promptWeight(1f), c).weights());
  }

  @Provide
  Arbitrary<Float> lambdas() {
    return Arbitraries.floats().between(0f, 1f);
  }

  @Property(tries = 100)
  void trainingIdsStartWithTheInferencePromptAndOneBos(
      @ForAll("setups") Setup s, @ForAll("plainConversations") Conversation c) {
    ExampleEncoder encoder = ExampleEncoder.of(s.template(), s.tokenizer());
    int[] training = encoder.encode(c).example().ids();
    Conversation prompt = new Conversation(c.messages().subList(0, c.size() - 1));
    int[] inference = encoder.encodePrompt(prompt);
    assertTrue(
        inference.length < training.length
            && Arrays.equals(inference, Arrays.copyOf(training, inference.length)),
        "inference prompt "
            + Arrays.toString(inference)
            + " vs training "
            + Arrays.toString(training));
    var bos = s.tokenizer().specialTokens().bosId();
    if (bos.isPresent()) {
      assertEquals(bos.getAsInt(), training[0]);
      assertTrue(training[1] != bos.getAsInt());
    }
  }

  /** Conversations whose answers start with a word, so no tokenizer merges across the header. */
  @Provide
  Arbitrary<Conversation> plainConversations() {
    Arbitrary<String> text =
        Arbitraries.of("hello", "world", "Ünïcödé", "2+2", "good")
            .list()
            .ofMinSize(1)
            .ofMaxSize(5)
            .map(words -> String.join(" ", words));
    return Combinators.combine(text, text, text)
        .as(
            (u1, a1, u2) ->
                Conversation.of(
                    Message.user(u1),
                    Message.assistant(a1),
                    Message.user(u2),
                    Message.assistant(a1 + " " + u2)));
  }

  @Property(tries = 100)
  void oneRenderingAndOneTokenizationPerExample(
      @ForAll("setups") Setup s, @ForAll("conversations") Conversation c) {
    CountingTokenizer counting = new CountingTokenizer(s.tokenizer());
    ExampleEncoder.of(s.template(), counting).encode(c);
    assertEquals(1, counting.calls, "invariant 2: no per-turn tokenization");
  }

  @Property(tries = 100)
  void aTemplateWhoseEarlierTurnsDependOnLaterOnesIsDetected(
      @ForAll("setups") Setup s, @ForAll("conversations") Conversation c) {
    // The same template, but it marks the first message differently once a reply follows.
    ChatTemplate unstable =
        new ChatTemplate() {
          @Override
          public RenderedConversation render(Conversation conversation, boolean prompt) {
            RenderedConversation inner = s.template().render(conversation, prompt);
            RenderedConversation.Builder b =
                RenderedConversation.builder().template(prompt ? "[prompt]" : "[train]");
            for (Span span : inner.spans()) {
              String piece = inner.text().substring(span.start(), span.end());
              if (span.kind().isContent()) {
                b.content(piece, span.kind(), span.messageIndex());
              } else {
                b.template(piece);
              }
            }
            return b.build();
          }

          @Override
          public String name() {
            return "unstable";
          }
        };
    MaskException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            MaskException.class, () -> ExampleEncoder.of(unstable, s.tokenizer()).encode(c));
    assertTrue(e.getMessage().contains("first difference at character 1"), e.getMessage());
  }

  @Property(tries = 100)
  void anExampleWithoutTargetsIsVisibleNotSilent(
      @ForAll("setups") Setup s, @ForAll("conversations") Conversation c) {
    // Empty answers, no terminator training, output only: nothing is left to learn.
    List<Message> emptied = new ArrayList<>();
    for (Message m : c.messages()) {
      emptied.add(m.role() == Role.ASSISTANT ? Message.assistant("") : m);
    }
    TokenizedExample e =
        encode(s, LossPolicy.outputOnly().withTrainTerminator(false), new Conversation(emptied));
    assertEquals(0.0, e.predictedWeight(), "invariant 5: the example reports no target");
    var collated =
        dev.im4j.core.collate.Collator.of(dev.im4j.core.collate.CollatorConfig.of(4096))
            .collate(List.of(e), 1);
    assertEquals(1, collated.report().noTarget(), "the collator counts and lists it");
    assertTrue(collated.batches().isEmpty());
  }

  /** Counts encode calls of a delegate tokenizer. */
  static final class CountingTokenizer implements Tokenizer {
    private final Tokenizer delegate;
    int calls;

    CountingTokenizer(Tokenizer delegate) {
      this.delegate = delegate;
    }

    @Override
    public Encoding encode(String text, boolean addSpecialTokens) {
      calls++;
      return delegate.encode(text, addSpecialTokens);
    }

    @Override
    public String decode(int[] ids, boolean skipSpecialTokens) {
      return delegate.decode(ids, skipSpecialTokens);
    }

    @Override
    public dev.im4j.core.tokenizer.SpecialTokens specialTokens() {
      return delegate.specialTokens();
    }

    @Override
    public boolean isSpecial(int id) {
      return delegate.isSpecial(id);
    }

    @Override
    public int vocabSize() {
      return delegate.vocabSize();
    }

    @Override
    public void close() {}
  }
}
