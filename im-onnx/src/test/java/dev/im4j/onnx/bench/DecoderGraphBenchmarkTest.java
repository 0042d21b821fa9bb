package dev.im4j.onnx.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.onnx.autodiff.WeightedCrossEntropy;
import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.graph.Tensor;
import dev.im4j.onnx.graph.Value;
import dev.im4j.onnx.testing.Ort;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The decoder training graph (symbolic batch and sequence, RoPE, causal mask, SwiGLU, tied
 * embedding, weighted CE) runs in ONNX Runtime and its parameter gradients match finite differences
 * of its loss.
 */
class DecoderGraphBenchmarkTest {
  private static final int B = 2;
  private static final int T = 3;

  @Test
  void smallDecoderGradientsMatchFiniteDifferences() {
    var cfg = new DecoderGraphBenchmark.Config(2, 8, 2, 6, 11, DType.DOUBLE);
    DecoderGraphBenchmark.Built built = DecoderGraphBenchmark.build(cfg);
    Random rnd = new Random(5);
    Map<String, Tensor> feed = new HashMap<>();
    Map<String, double[]> values = new HashMap<>();
    for (Value p : built.parameters()) {
      long[] dims = p.shape().sizes();
      double[] v = new double[(int) p.shape().elementCount()];
      boolean norm = p.rank() == 1;
      for (int i = 0; i < v.length; i++) {
        v[i] = norm ? 1 + 0.1 * rnd.nextGaussian() : 0.4 * rnd.nextGaussian();
      }
      values.put(p.name(), v);
      feed.put(p.name(), Tensor.ofDoubles(dims, v));
    }
    long[] ids = new long[B * T];
    long[] targets = new long[B * T];
    double[] c = new double[B * T];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = rnd.nextInt(cfg.vocab());
      boolean last = i % T == T - 1;
      targets[i] = last ? WeightedCrossEntropy.IGNORE_INDEX : rnd.nextInt(cfg.vocab());
      c[i] = last ? 0 : 1.0 / (B * (T - 1));
    }
    int half = cfg.hidden() / cfg.heads() / 2;
    double[] cos = new double[T * half];
    double[] sin = new double[T * half];
    for (int t = 0; t < T; t++) {
      for (int j = 0; j < half; j++) {
        double angle = t / Math.pow(10000, (2.0 * j) / (2 * half));
        cos[t * half + j] = Math.cos(angle);
        sin[t * half + j] = Math.sin(angle);
      }
    }
    feed.put("ids", Tensor.ofLongs(new long[] {B, T}, ids));
    feed.put("targets", Tensor.ofLongs(new long[] {B, T}, targets));
    feed.put("coefficients", Tensor.ofDoubles(new long[] {B, T}, c));
    feed.put("rope_cos", Tensor.ofDoubles(new long[] {T, half}, cos));
    feed.put("rope_sin", Tensor.ofDoubles(new long[] {T, half}, sin));

    List<String> outputs = new ArrayList<>(List.of("loss"));
    built.parameters().forEach(p -> outputs.add(p.name() + "_grad"));
    try (Ort ort = Ort.session(built.graph())) {
      Map<String, double[]> out = ort.run(feed, outputs);
      double loss = out.get("loss")[0];
      assertTrue(Double.isFinite(loss) && loss > 0, "loss " + loss);
      double h = 1e-6;
      for (Value p : built.parameters()) {
        double[] v = values.get(p.name());
        double[] analytic = out.get(p.name() + "_grad");
        assertEquals(v.length, analytic.length);
        for (int probe = 0; probe < 2; probe++) {
          int i = rnd.nextInt(v.length);
          double keep = v[i];
          v[i] = keep + h;
          double plus = lossWith(ort, feed, p, v);
          v[i] = keep - h;
          double minus = lossWith(ort, feed, p, v);
          v[i] = keep;
          double numeric = (plus - minus) / (2 * h);
          assertEquals(
              numeric,
              analytic[i],
              1e-6 + 1e-5 * Math.abs(numeric),
              "d loss / d " + p.name() + "[" + i + "]");
        }
        feed.put(p.name(), Tensor.ofDoubles(p.shape().sizes(), v));
      }
    }
  }

  private static double lossWith(Ort ort, Map<String, Tensor> feed, Value p, double[] v) {
    Map<String, Tensor> f = new HashMap<>(feed);
    f.put(p.name(), Tensor.ofDoubles(p.shape().sizes(), v));
    return ort.run(f, List.of("loss")).get("loss")[0];
  }

  @Test
  void twelveLayerGraphBuildsWithEveryGradient() {
    var built =
        DecoderGraphBenchmark.build(
            new DecoderGraphBenchmark.Config(12, 64, 4, 128, 100, DType.FLOAT));
    assertEquals(12 * 9 + 2, built.parameters().size());
    assertEquals(1 + built.parameters().size(), built.graph().outputs().size());
    for (Value p : built.parameters()) {
      Value grad = built.graph().value(p.name() + "_grad");
      assertEquals(p.shape(), grad.shape(), p.name());
    }
  }
}
