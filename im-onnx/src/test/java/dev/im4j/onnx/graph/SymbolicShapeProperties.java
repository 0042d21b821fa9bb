package dev.im4j.onnx.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.onnx.testing.GradCheck;
import dev.im4j.onnx.testing.Ort;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * Symbolic shapes are sound: for any sizes of the symbols, every dimension the IR names (a symbol
 * or a product of symbols) has the size ONNX Runtime produces. ONNX Runtime's memory planner relies
 * on it when it reuses one buffer for values whose declared shapes name the same symbols.
 */
class SymbolicShapeProperties {

  @Property(tries = 10)
  void namedDimensionsEvaluateToTheSizesOnnxRuntimeProduces(@ForAll long seed) {
    Random rnd = new Random(seed);
    long batch = 1 + rnd.nextInt(3);
    long seq = 1 + rnd.nextInt(5);
    long hidden = 2 * (1 + rnd.nextInt(3));
    Graph g = Graph.create("symbolic");
    Value x = g.input("x", DType.FLOAT, Shape.of(Dim.sym("batch"), Dim.sym("seq"), Dim.of(hidden)));
    List<Value> out = new ArrayList<>();
    Value rows = g.reshape(x, -1, hidden); // [batch*seq, hidden]
    out.add(rows);
    Value halves = g.reshape(x, -1, 2); // [(hidden/2)*batch*seq, 2]
    out.add(halves);
    Value flat = g.reshape(rows, -1); // [hidden*batch*seq]
    out.add(flat);
    out.add(g.reshape(halves, -1, hidden)); // back to [batch*seq, hidden]
    out.add(g.reshape(flat, g.shape(x))); // [batch, seq, hidden]
    out.add(g.flatten(x, 2)); // [batch*seq, hidden]
    out.add(g.flatten(x, 1)); // [batch, hidden*seq]
    out.add(g.reshape(x, 0, -1)); // [batch, hidden*seq]
    Value w = g.constant(Tensor.filled(DType.FLOAT, new long[] {hidden, 3}, 0.5));
    out.add(g.gemm(rows, w, null, 1, 0, false, false)); // [batch*seq, 3]
    out.add(g.reshape(g.gemm(rows, w, null, 1, 0, false, false), -1)); // [3*batch*seq]
    // none of these is left unknown, so every dimension below is checked
    assertEquals(Shape.of(Dim.sym("batch*seq"), Dim.of(hidden)), rows.shape());
    assertEquals(
        Shape.of(Dim.product(List.of(Dim.of(hidden / 2), Dim.sym("batch*seq"))), Dim.of(2)),
        halves.shape());
    assertEquals(Shape.of(Dim.sym(hidden + "*batch*seq")), flat.shape());
    for (Value v : out) {
      assertTrue(v.shape().dims().stream().noneMatch(Dim::isUnknown), v + ": " + v.shape());
    }
    List<String> names = new ArrayList<>();
    for (int i = 0; i < out.size(); i++) {
      names.add(g.output("out" + i, out.get(i)).name());
    }
    long[] dims = {batch, seq, hidden};
    Map<String, Tensor> feed =
        Map.of(
            "x",
            Tensor.ofFloats(dims, toFloats(GradCheck.uniform(rnd, GradCheck.count(dims), -1, 1))));
    Map<String, Long> sizes = Map.of("batch", batch, "seq", seq);
    try (Ort ort = Ort.session(g)) {
      Map<String, long[]> actual = ort.shapes(feed, names);
      for (int i = 0; i < out.size(); i++) {
        long[] produced = actual.get(names.get(i));
        Shape inferred = out.get(i).shape();
        assertEquals(inferred.rank(), produced.length, names.get(i) + ": " + inferred);
        for (int a = 0; a < produced.length; a++) {
          assertEquals(
              size(inferred.dim(a), sizes),
              produced[a],
              g.producer(out.get(i))
                  + " with batch "
                  + batch
                  + ", seq "
                  + seq
                  + ": inferred "
                  + inferred
                  + ", produced "
                  + Arrays.toString(produced));
        }
      }
    }
  }

  /** The size a static or (product) symbolic dimension stands for, given each symbol's size. */
  private static long size(Dim d, Map<String, Long> sizes) {
    if (d.isStatic()) {
      return d.size();
    }
    long n = 1;
    for (String factor : d.symbol().split("\\*")) {
      n *= factor.chars().allMatch(Character::isDigit) ? Long.parseLong(factor) : sizes.get(factor);
    }
    return n;
  }

  private static float[] toFloats(double[] values) {
    float[] f = new float[values.length];
    for (int i = 0; i < f.length; i++) {
      f[i] = (float) values[i];
    }
    return f;
  }
}
