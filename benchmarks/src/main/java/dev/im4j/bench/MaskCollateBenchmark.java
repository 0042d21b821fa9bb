package dev.im4j.bench;

import dev.im4j.core.collate.Collator;
import dev.im4j.core.collate.CollatorConfig;
import dev.im4j.core.data.Conversation;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.mask.MaskBuilder;
import dev.im4j.core.mask.TokenizedExample;
import dev.im4j.core.template.BuiltinTemplate;
import dev.im4j.core.template.ChatTemplate;
import dev.im4j.core.template.RenderedConversation;
import dev.im4j.core.tokenizer.Encoding;
import dev.im4j.core.tokenizer.HfTokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The hot path after tokenization: {@link MaskBuilder} (classify + weigh) and {@link Collator}
 * (truncate, lay out, pad or pack), in tokens per second on one thread. Collation includes writing
 * every batch's cells as a training loop feeds them to a runtime: input ids, position ids, segment
 * ids, shifted targets and weights, into buffers reused across batches. Layouts: padded rows in
 * input order, padded rows grouped by length ({@code groupByLength}, the default), packed rows. The
 * examples are collated as one optimizer step or, as a trainer does, in steps of 64 (one {@code
 * collate} call per step: 8 micro-batches of 8 rows). Target: mask + collate at least 100 M
 * tokens/s on one core (docs/benchmarks.md).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@State(Scope.Benchmark)
public class MaskCollateBenchmark {
  private static final int EXAMPLES = 2000;
  private static final int ROWS_PER_BATCH = 8;

  /** Padded in input order, padded with rows grouped by length, or packed. */
  @Param({"padded", "grouped", "packed"})
  String layout;

  /** Examples per {@code collate} call (optimizer step): all of them, or a trainer's 64. */
  @Param({"2000", "64"})
  int examplesPerStep;

  private List<RenderedConversation> rendered = new ArrayList<>();
  private List<Encoding> encodings = new ArrayList<>();
  private List<Integer> messageCounts = new ArrayList<>();
  private List<TokenizedExample> examples;
  private MaskBuilder maskBuilder;
  private Collator collator;
  private long tokensPerPass;
  private final RuntimeBuffers buffers = new RuntimeBuffers();

  /** Tokens processed, reported by JMH as a rate next to the pass rate. */
  @AuxCounters(AuxCounters.Type.OPERATIONS)
  @State(Scope.Thread)
  public static class Tokens {
    public long tokens;

    @Setup(Level.Iteration)
    public void reset() {
      tokens = 0;
    }
  }

  @Setup
  public void setUp() {
    ChatTemplate tulu = BuiltinTemplate.TULU.create("</s>");
    examples = new ArrayList<>();
    try (HfTokenizer tokenizer = Corpus.tokenizer()) {
      maskBuilder = MaskBuilder.of(LossPolicy.instructionModelling(), tokenizer::isSpecial);
      for (Conversation c : Corpus.conversations(EXAMPLES, 42)) {
        RenderedConversation r = tulu.render(c, false);
        Encoding e = tokenizer.encode(r.text(), true);
        rendered.add(r);
        encodings.add(e);
        messageCounts.add(c.size());
        examples.add(maskBuilder.build(r, c.size(), e).example());
        tokensPerPass += e.length();
      }
    }
    setUpCollator();
  }

  /** Set-up reusing {@code other}'s examples (the same objects), with this one's parameters. */
  void setUp(MaskCollateBenchmark other) {
    rendered = other.rendered;
    encodings = other.encodings;
    messageCounts = other.messageCounts;
    examples = other.examples;
    maskBuilder = other.maskBuilder;
    tokensPerPass = other.tokensPerPass;
    setUpCollator();
  }

  private void setUpCollator() {
    collator =
        Collator.of(
            CollatorConfig.builder(2048)
                .packing(layout.equals("packed"))
                .groupByLength(!layout.equals("padded"))
                .build());
  }

  @Benchmark
  public void mask(Tokens counter, Blackhole bh) {
    for (int i = 0; i < EXAMPLES; i++) {
      bh.consume(maskBuilder.build(rendered.get(i), messageCounts.get(i), encodings.get(i)));
    }
    counter.tokens += tokensPerPass;
  }

  @Benchmark
  public void collate(Tokens counter, Blackhole bh) {
    counter.tokens += tokensPerPass;
    collateInSteps(examples, bh);
  }

  @Benchmark
  public void maskAndCollate(Tokens counter, Blackhole bh) {
    List<TokenizedExample> masked = new ArrayList<>(EXAMPLES);
    for (int i = 0; i < EXAMPLES; i++) {
      masked.add(
          maskBuilder.build(rendered.get(i), messageCounts.get(i), encodings.get(i)).example());
    }
    collateInSteps(masked, bh);
    counter.tokens += tokensPerPass;
  }

  /** Collates {@code masked} step by step and writes every batch's cells. */
  private void collateInSteps(List<TokenizedExample> masked, Blackhole bh) {
    for (int from = 0; from < masked.size(); from += examplesPerStep) {
      int to = Math.min(masked.size(), from + examplesPerStep);
      buffers.write(collator.collate(masked.subList(from, to), from, ROWS_PER_BATCH), bh);
    }
  }
}
