package dev.im4j.onnx.autodiff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.graph.Node;
import dev.im4j.onnx.graph.Op;
import dev.im4j.onnx.graph.Shape;
import dev.im4j.onnx.graph.Tensor;
import dev.im4j.onnx.graph.Value;
import dev.im4j.onnx.testing.Ort;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AutodiffTest {

  @Test
  void unsupportedOpOnThePathFailsAtBuildTimeNamingOpAndNode() {
    Graph g = Graph.create("g");
    Value x = g.input("x", DType.FLOAT, Shape.of(2, 3));
    Value m = g.reduceProd(x, new long[] {1}, false);
    Value loss = g.reduceSum(m, new long[] {0}, false);
    var e =
        assertThrows(IllegalArgumentException.class, () -> Autodiff.gradients(g, loss, List.of(x)));
    assertTrue(e.getMessage().contains("no gradient rule for op ReduceProd"), e.getMessage());
    assertTrue(e.getMessage().contains("node 'ReduceProd_"), e.getMessage());
  }

  @Test
  void onlyNodesBetweenParametersAndLossGetGradients() {
    Graph g = Graph.create("g");
    Value x = g.input("x", DType.FLOAT, Shape.of(2, 3));
    Value w = g.input("w", DType.FLOAT, Shape.of(3, 2));
    Value frozen = g.input("frozen", DType.FLOAT, Shape.of(2, 2));
    Value y = g.add(g.matMul(g.exp(x), w), frozen); // exp(x) is not differentiated
    Value loss = g.reduceSum(y, new long[] {0, 1}, false);
    int before = g.nodes().size();
    Map<Value, Value> grads = Autodiff.gradients(g, loss, List.of(w));
    List<Node> added = g.nodes().subList(before, g.nodes().size());
    // no gradient for x or frozen: no Exp rule (Mul by y) and only one MatMul backward
    assertEquals(1, added.stream().filter(n -> n.op() == Op.MATMUL).count(), added.toString());
    assertEquals(0, added.stream().filter(n -> n.op() == Op.MUL).count(), added.toString());
    assertEquals(w.shape(), grads.get(w).shape());
  }

  @Test
  void unreachedParameterGetsZeros() {
    Graph g = Graph.create("g");
    Value x = g.input("x", DType.FLOAT, Shape.of(2));
    Value unused = g.input("unused", DType.FLOAT, Shape.of(3));
    Value loss = g.reduceSum(g.mul(x, x), new long[] {0}, false);
    Map<Value, Value> grads = Autodiff.gradients(g, loss, List.of(x, unused));
    g.output("gx", grads.get(x));
    g.output("gu", grads.get(unused));
    try (Ort ort = Ort.session(g)) {
      Map<String, double[]> out =
          ort.run(
              Map.of(
                  "x", Tensor.ofFloats(new long[] {2}, 1, -2),
                  "unused", Tensor.ofFloats(new long[] {3}, 5, 5, 5)),
              List.of("gx", "gu"));
      assertEquals(List.of(2.0, -4.0), List.of(out.get("gx")[0], out.get("gx")[1]));
      assertEquals(3, out.get("gu").length);
      for (double d : out.get("gu")) {
        assertEquals(0.0, d);
      }
    }
  }

  @Test
  void tiedEmbeddingSumsGatherAndMatMulContributions() {
    // loss = sum(gather(E, ids) @ E^T): E gets a scatter-add and a MatMul contribution
    Graph g = Graph.create("tied");
    Value e = g.input("E", DType.DOUBLE, Shape.of(3, 2));
    Value ids = g.constant(Tensor.ofLongs(new long[] {3}, 0, 2, -1));
    Value logits = g.matMul(g.gather(e, ids, 0), g.transpose(e, 1, 0)); // [3, 3]
    Value loss = g.reduceSum(logits, new long[] {0, 1}, false);
    g.output("ge", Autodiff.gradients(g, loss, List.of(e)).get(e));
    double[] ev = {1, 2, 3, 4, 5, 6};
    try (Ort ort = Ort.session(g)) {
      double[] ge =
          ort.run(Map.of("E", Tensor.ofDoubles(new long[] {3, 2}, ev)), List.of("ge")).get("ge");
      // d/dE[v] = count(v in ids) * colsum(E) + sum over picked rows
      double[] colsum = {1 + 3 + 5, 2 + 4 + 6};
      double[] picked = {1 + 5 + 5, 2 + 6 + 6}; // rows 0, 2, 2
      int[] counts = {1, 0, 2};
      for (int v = 0; v < 3; v++) {
        for (int d = 0; d < 2; d++) {
          assertEquals(counts[v] * colsum[d] + picked[d], ge[v * 2 + d], 1e-12);
        }
      }
    }
  }

  @Test
  void intermediateValuesCanBeDifferentiatedToo() {
    Graph g = Graph.create("g");
    Value x = g.input("x", DType.DOUBLE, Shape.of(2));
    Value h = g.mul(x, x); // intermediate, also asked for
    Value loss = g.reduceSum(g.mul(h, g.scalar(DType.DOUBLE, 3)), new long[] {0}, false);
    Map<Value, Value> grads = Autodiff.gradients(g, loss, List.of(x, h));
    g.output("gx", grads.get(x));
    g.output("gh", grads.get(h));
    try (Ort ort = Ort.session(g)) {
      Map<String, double[]> out =
          ort.run(Map.of("x", Tensor.ofDoubles(new long[] {2}, 1, -2)), List.of("gx", "gh"));
      assertEquals(List.of(6.0, -12.0), List.of(out.get("gx")[0], out.get("gx")[1]));
      assertEquals(List.of(3.0, 3.0), List.of(out.get("gh")[0], out.get("gh")[1]));
    }
  }
}
