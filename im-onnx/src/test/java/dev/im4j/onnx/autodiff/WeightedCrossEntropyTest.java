package dev.im4j.onnx.autodiff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.graph.Dim;
import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.graph.Shape;
import dev.im4j.onnx.graph.Tensor;
import dev.im4j.onnx.graph.Value;
import dev.im4j.onnx.testing.Ort;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class WeightedCrossEntropyTest {
  private static final int B = 2;
  private static final int T = 5;
  private static final int V = 7;

  /** Plain-Java reference: returns {loss} and fills grad [N*V]. */
  static double reference(float[] logits, long[] targets, float[] c, double[] grad) {
    int n = targets.length;
    double loss = 0;
    for (int i = 0; i < n; i++) {
      double max = Double.NEGATIVE_INFINITY;
      for (int v = 0; v < V; v++) {
        max = Math.max(max, logits[i * V + v]);
      }
      double sum = 0;
      for (int v = 0; v < V; v++) {
        sum += Math.exp(logits[i * V + v] - max);
      }
      double lse = Math.log(sum) + max;
      int t = targets[i] < 0 ? 0 : (int) targets[i];
      loss += c[i] * (lse - logits[i * V + t]);
      for (int v = 0; v < V; v++) {
        double p = Math.exp(logits[i * V + v] - lse);
        grad[i * V + v] = c[i] * (p - (v == t ? 1 : 0));
      }
    }
    return loss;
  }

  private static Map<String, double[]> run(float[] logits, long[] targets, float[] c) {
    Graph g = Graph.create("wce");
    Value x = g.input("logits", DType.FLOAT, Shape.of(Dim.sym("B"), Dim.sym("T"), Dim.of(V)));
    Value t = g.input("targets", DType.INT64, Shape.of(Dim.sym("B"), Dim.sym("T")));
    Value co = g.input("coefficients", DType.FLOAT, Shape.of(Dim.sym("B"), Dim.sym("T")));
    WeightedCrossEntropy.Result r = WeightedCrossEntropy.build(g, x, t, co);
    g.output("loss", r.loss());
    g.output("dlogits", r.logitsGradient());
    try (Ort ort = Ort.session(g)) {
      return ort.run(
          Map.of(
              "logits", Tensor.ofFloats(new long[] {B, T, V}, logits),
              "targets", Tensor.ofLongs(new long[] {B, T}, targets),
              "coefficients", Tensor.ofFloats(new long[] {B, T}, c)),
          List.of("loss", "dlogits"));
    }
  }

  @Test
  void valueAndGradientMatchPlainJavaWithIgnoredTargets() {
    Random rnd = new Random(7);
    float[] logits = new float[B * T * V];
    for (int i = 0; i < logits.length; i++) {
      logits[i] = (float) (rnd.nextGaussian() * 3);
    }
    long[] targets = new long[B * T];
    float[] c = new float[B * T];
    for (int i = 0; i < targets.length; i++) {
      boolean ignored = i % T == 0 || rnd.nextInt(4) == 0;
      targets[i] = ignored ? WeightedCrossEntropy.IGNORE_INDEX : rnd.nextInt(V);
      c[i] = ignored ? 0f : (float) rnd.nextDouble() / 3;
    }
    double[] expectedGrad = new double[logits.length];
    double expected = reference(logits, targets, c, expectedGrad);
    Map<String, double[]> out = run(logits, targets, c);
    assertEquals(expected, out.get("loss")[0], 1e-5 * Math.max(1, Math.abs(expected)));
    double[] grad = out.get("dlogits");
    for (int i = 0; i < grad.length; i++) {
      assertEquals(expectedGrad[i], grad[i], 1e-6, "dlogits[" + i + "]");
    }
  }

  @Test
  void zeroCoefficientsGiveZeroLossAndGradientEvenForExtremeLogits() {
    float[] logits = new float[B * T * V];
    for (int i = 0; i < logits.length; i++) {
      logits[i] = (i % 3 == 0) ? 3e4f : -3e4f;
    }
    long[] targets = new long[B * T];
    java.util.Arrays.fill(targets, WeightedCrossEntropy.IGNORE_INDEX);
    targets[1] = 3;
    float[] c = new float[B * T];
    Map<String, double[]> out = run(logits, targets, c);
    assertEquals(0.0, out.get("loss")[0]);
    for (double d : out.get("dlogits")) {
      assertTrue(d == 0.0, "gradient must be exactly zero but was " + d);
    }
  }

  @Test
  void seededBackwardMatchesFiniteDifferencesThroughAProjection() {
    // logits = h @ W with W differentiated; d loss / d W via the analytic seed
    int n = 4;
    int d = 3;
    Random rnd = new Random(11);
    Graph g = Graph.create("wce-seed");
    Value h = g.input("h", DType.DOUBLE, Shape.of(n, d));
    Value w = g.input("w", DType.DOUBLE, Shape.of(d, V));
    Value t = g.input("targets", DType.INT64, Shape.of(n));
    Value co = g.input("coefficients", DType.DOUBLE, Shape.of(n));
    Value logits = g.matMul(h, w); // [n, V]
    WeightedCrossEntropy.Result r = WeightedCrossEntropy.build(g, logits, t, co);
    g.output("loss", r.loss());
    Value gw = Autodiff.gradients(g, Map.of(logits, r.logitsGradient()), List.of(w)).get(w);
    g.output("dw", gw);
    double[] hv = new double[n * d];
    double[] wv = new double[d * V];
    for (int i = 0; i < hv.length; i++) {
      hv[i] = rnd.nextGaussian();
    }
    for (int i = 0; i < wv.length; i++) {
      wv[i] = rnd.nextGaussian();
    }
    long[] targets = {2, WeightedCrossEntropy.IGNORE_INDEX, 6, 0};
    double[] c = {0.5, 0, 0.25, 1};
    try (Ort ort = Ort.session(g)) {
      java.util.function.Function<double[], Map<String, double[]>> eval =
          wValues ->
              ort.run(
                  Map.of(
                      "h", Tensor.ofDoubles(new long[] {n, d}, hv),
                      "w", Tensor.ofDoubles(new long[] {d, V}, wValues),
                      "targets", Tensor.ofLongs(new long[] {n}, targets),
                      "coefficients", Tensor.ofDoubles(new long[] {n}, c)),
                  List.of("loss", "dw"));
      double[] analytic = eval.apply(wv).get("dw");
      double eps = 1e-6;
      for (int i = 0; i < wv.length; i++) {
        double keep = wv[i];
        wv[i] = keep + eps;
        double plus = eval.apply(wv).get("loss")[0];
        wv[i] = keep - eps;
        double minus = eval.apply(wv).get("loss")[0];
        wv[i] = keep;
        assertEquals((plus - minus) / (2 * eps), analytic[i], 1e-6, "dW[" + i + "]");
      }
    }
  }

  @Test
  void analyticGradientEqualsGenericAutodiffOfTheLoss() {
    Graph g = Graph.create("wce-generic");
    Value x = g.input("logits", DType.DOUBLE, Shape.of(B * T, V));
    Value t = g.input("targets", DType.INT64, Shape.of(B * T));
    Value co = g.input("coefficients", DType.DOUBLE, Shape.of(B * T));
    WeightedCrossEntropy.Result r = WeightedCrossEntropy.build(g, x, t, co);
    g.output("analytic", r.logitsGradient());
    g.output("generic", Autodiff.gradients(g, r.loss(), List.of(x)).get(x));
    Random rnd = new Random(13);
    double[] logits = new double[B * T * V];
    for (int i = 0; i < logits.length; i++) {
      logits[i] = rnd.nextGaussian() * 2;
    }
    long[] targets = new long[B * T];
    double[] c = new double[B * T];
    for (int i = 0; i < targets.length; i++) {
      targets[i] = i % 4 == 0 ? WeightedCrossEntropy.IGNORE_INDEX : rnd.nextInt(V);
      c[i] = i % 4 == 0 ? 0 : rnd.nextDouble();
    }
    try (Ort ort = Ort.session(g)) {
      Map<String, double[]> out =
          ort.run(
              Map.of(
                  "logits", Tensor.ofDoubles(new long[] {B * T, V}, logits),
                  "targets", Tensor.ofLongs(new long[] {B * T}, targets),
                  "coefficients", Tensor.ofDoubles(new long[] {B * T}, c)),
              List.of("analytic", "generic"));
      double[] a = out.get("analytic");
      double[] gen = out.get("generic");
      for (int i = 0; i < a.length; i++) {
        assertEquals(a[i], gen[i], 1e-12, "dlogits[" + i + "]");
      }
    }
  }
}
