package dev.im4j.core.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.core.data.Conversation;
import dev.im4j.core.data.Message;
import dev.im4j.core.data.PlainText;
import dev.im4j.core.mask.TokenClass;
import dev.im4j.core.mask.TokenizedExample;
import org.junit.jupiter.api.Test;

class DatasetStatisticsTest {

  @Test
  void wordsCountLikePythonSplit() {
    assertEquals(0, DatasetStatistics.words(""));
    assertEquals(0, DatasetStatistics.words(" \n\t\u00A0"));
    assertEquals(3, DatasetStatistics.words("  a b\u00A0c  "));
    assertEquals(2, DatasetStatistics.words("中文 😀"));
  }

  @Test
  void plainTextsCountAsExamplesWithoutInstructionOrOutputAndGetNoAdvice() {
    DatasetStatistics stats =
        DatasetStatistics.accumulator(0).add(new PlainText("a b c")).add(new PlainText("")).build();
    assertEquals(2, stats.examples());
    assertEquals(2, stats.plainTexts());
    assertEquals(0.0, stats.meanInstructionWords());
    assertEquals(0.0, stats.meanOutputWords());
    Advisor.Advice advice = Advisor.advise(stats);
    assertEquals(Advisor.Recommendation.UNDECIDED, advice.recommendation());
    assertTrue(advice.explanation().startsWith("Plain-text rows have no instruction"));
  }

  @Test
  void lengthRatioIsARatioOfMeans() {
    DatasetStatistics stats =
        DatasetStatistics.accumulator(0)
            // instruction 6 words (system 2 + user 4), output 1 word
            .add(
                Conversation.of(
                    Message.system("be brief"),
                    Message.user("what is two plus"),
                    Message.assistant("four")))
            // instruction 1 word, output 9 words (two turns summed)
            .add(
                Conversation.of(
                    Message.user("go"),
                    Message.assistant("one two three four"),
                    Message.user(""),
                    Message.assistant("five six seven eight nine")))
            .build();
    assertEquals(2, stats.examples());
    assertEquals(3.5, stats.meanInstructionWords());
    assertEquals(5.0, stats.meanOutputWords());
    assertEquals(0.7, stats.lengthRatio(), 1e-12); // 7 / 10, not mean(6/1, 1/9)
    assertEquals(3, stats.messages()[dev.im4j.core.data.Role.ASSISTANT.ordinal()]);
  }

  @Test
  void tokenStatisticsAndTruncationRate() {
    DatasetStatistics.Accumulator acc = DatasetStatistics.accumulator(3);
    for (int length : new int[] {2, 4, 3, 10}) {
      acc.add(example(length));
    }
    DatasetStatistics.TokenStatistics t = acc.build().tokens();
    assertEquals(4, t.examples());
    assertEquals(4.75, t.meanLength());
    assertEquals(3, t.medianLength());
    assertEquals(10, t.p95Length());
    assertEquals(10, t.maxLength());
    assertEquals(0.5, t.truncationRate());
    assertEquals((1 + 3 + 2 + 9) / 4.0, t.meanTrainedTokens()); // position 0 is never a target
  }

  private static TokenizedExample example(int length) {
    float[] w = new float[length];
    java.util.Arrays.fill(w, 1f);
    byte[] classes = new byte[length];
    java.util.Arrays.fill(classes, (byte) TokenClass.USER.ordinal());
    return new TokenizedExample(new int[length], w, classes, new int[length]);
  }

  @Test
  void advisorQuotesTheFits() {
    // LESS MMLU Chat's ratio (26.33) favours IM; LIMA's (0.094) favours IT.
    Advisor.Advice mmlu = Advisor.advise(withRatio(26.33, 1000));
    assertEquals(Advisor.Recommendation.INSTRUCTION_MODELLING, mmlu.recommendation());
    assertEquals(18.85 * Math.log(26.33) + 25.83, mmlu.ratioFitGainPercent(), 1e-9);
    assertEquals(-39.37 * Math.log(1000) + 431.74, mmlu.sizeFitGainPercent(), 1e-9);
    assertTrue(mmlu.explanation().contains("not guarantees"), mmlu.explanation());

    Advisor.Advice lima = Advisor.advise(withRatio(0.094, 1000));
    assertEquals(Advisor.Recommendation.OUTPUT_ONLY, lima.recommendation());
    assertTrue(Double.isNaN(lima.sizeFitGainPercent()));

    assertEquals(
        Advisor.Recommendation.UNDECIDED,
        Advisor.advise(withRatio(Double.NaN, 3)).recommendation());
  }

  private static DatasetStatistics withRatio(double ratio, long examples) {
    return new DatasetStatistics(examples, 0, new long[3], ratio, 1.0, ratio, null);
  }
}
