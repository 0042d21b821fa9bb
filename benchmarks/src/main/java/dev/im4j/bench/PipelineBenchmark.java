package dev.im4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.im4j.core.collate.Collator;
import dev.im4j.core.collate.CollatorConfig;
import dev.im4j.core.data.Conversation;
import dev.im4j.core.data.DatasetFormat;
import dev.im4j.core.data.DatasetReader;
import dev.im4j.core.data.Message;
import dev.im4j.core.data.OnError;
import dev.im4j.core.mask.ExampleEncoder;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.core.mask.TokenizedExample;
import dev.im4j.core.template.BuiltinTemplate;
import dev.im4j.core.template.ChatTemplate;
import dev.im4j.core.tokenizer.HfTokenizer;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
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
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The whole data pipeline (read JSONL + render + tokenize + mask + collate, writing the batches
 * into a runtime's reused input buffers) against raw tokenization of the same rendered strings, in
 * examples per second on one thread. Target: the pipeline within 15% of raw tokenization
 * (docs/benchmarks.md).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@State(Scope.Benchmark)
public class PipelineBenchmark {
  /** The policy the pipeline weighs with, as the trainer would. */
  private static final LossPolicy IM = LossPolicy.instructionModelling();

  private static final int EXAMPLES = 500;

  private byte[] jsonl;
  private List<String> renderedTexts;
  private HfTokenizer tokenizer;
  private ExampleEncoder encoder;
  private Collator collator;
  private final RuntimeBuffers buffers = new RuntimeBuffers();

  /** Examples processed, reported by JMH as a rate. */
  @AuxCounters(AuxCounters.Type.OPERATIONS)
  @State(Scope.Thread)
  public static class Examples {
    public long examples;

    @Setup(Level.Iteration)
    public void reset() {
      examples = 0;
    }
  }

  @Setup
  public void setUp() {
    ObjectMapper json = new ObjectMapper();
    StringBuilder lines = new StringBuilder();
    ChatTemplate tulu = BuiltinTemplate.TULU.create("</s>");
    renderedTexts = new ArrayList<>();
    for (Conversation c : Corpus.conversations(EXAMPLES, 7)) {
      ObjectNode row = json.createObjectNode();
      ArrayNode messages = row.putArray("messages");
      for (Message m : c.messages()) {
        messages.addObject().put("role", m.role().wireName()).put("content", m.content());
      }
      lines.append(row).append('\n');
      renderedTexts.add(tulu.render(c, false).text());
    }
    jsonl = lines.toString().getBytes(StandardCharsets.UTF_8);
    tokenizer = Corpus.tokenizer();
    encoder = ExampleEncoder.of(tulu, tokenizer);
    collator = Collator.of(CollatorConfig.of(2048));
  }

  @TearDown
  public void tearDown() {
    tokenizer.close();
  }

  @Benchmark
  public void pipeline(Examples counter, Blackhole bh) {
    List<TokenizedExample> examples = new ArrayList<>(EXAMPLES);
    try (DatasetReader reader =
        DatasetReader.open(
            new ByteArrayInputStream(jsonl),
            "bench.jsonl",
            DatasetFormat.MESSAGES,
            OnError.FAIL_FAST)) {
      reader.forEachRemaining(r -> examples.add(IM.weigh(encoder.encode(r).example())));
    }
    buffers.write(collator.collate(examples, 8), bh);
    counter.examples += EXAMPLES;
  }

  @Benchmark
  public void rawTokenization(Examples counter, Blackhole bh) {
    for (String text : renderedTexts) {
      bh.consume(tokenizer.encode(text, true));
    }
    counter.examples += EXAMPLES;
  }
}
