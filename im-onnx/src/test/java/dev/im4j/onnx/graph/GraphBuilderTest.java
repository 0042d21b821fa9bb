package dev.im4j.onnx.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GraphBuilderTest {
  /** Small constants are one node per value; large ones and other dtypes are their own nodes. */
  @Test
  void smallConstantsAreSharedByValue() {
    Graph g = Graph.create("constants");
    Value a = g.longs(0, 0, -1);
    assertTrue(a == g.longs(0, 0, -1), "the same small value, the same node");
    assertTrue(a != g.longs(0, 0, 1), "another value");
    assertTrue(g.scalar(DType.FLOAT, 1) != g.scalar(DType.DOUBLE, 1), "another dtype");
    long[] big = new long[Graph.SHARED_CONSTANT_ELEMENTS + 1];
    assertTrue(g.longs(big) != g.longs(big), "a large constant is not looked up");
    assertEquals(6, g.nodes().size());
  }

  @Test
  void arityIsCheckedWithAPreciseMessage() {
    Graph g = Graph.create("g");
    Value a = g.input("a", DType.FLOAT, Shape.of(2));
    var e =
        assertThrows(
            IllegalArgumentException.class, () -> g.apply(Op.ADD, List.of(a, a, a), Map.of(), 1));
    assertTrue(e.getMessage().contains("expected 2 inputs but received 3"), e.getMessage());
    assertTrue(e.getMessage().startsWith("Add node 'Add_"), e.getMessage());
  }

  @Test
  void attributesAreChecked() {
    Graph g = Graph.create("g");
    Value a = g.input("a", DType.FLOAT, Shape.of(2, 3));
    var unknown =
        assertThrows(
            IllegalArgumentException.class,
            () -> g.apply(Op.SOFTMAX, List.of(a), Map.of("axes", new Attribute.Int(1)), 1));
    assertTrue(unknown.getMessage().contains("unknown attribute 'axes'"), unknown.getMessage());
    var wrongType =
        assertThrows(
            IllegalArgumentException.class,
            () -> g.apply(Op.SOFTMAX, List.of(a), Map.of("axis", new Attribute.Float(1)), 1));
    assertTrue(wrongType.getMessage().contains("must be INT but was FLOAT"));
    var missing =
        assertThrows(
            IllegalArgumentException.class, () -> g.apply(Op.CAST, List.of(a), Map.of(), 1));
    assertTrue(missing.getMessage().contains("missing required attribute 'to'"));
  }

  @Test
  void foreignValuesAreRejected() {
    Graph g1 = Graph.create("one");
    Graph g2 = Graph.create("two");
    Value a = g1.input("a", DType.FLOAT, Shape.of(2));
    Value b = g2.input("b", DType.FLOAT, Shape.of(2));
    var e = assertThrows(IllegalArgumentException.class, () -> g2.add(a, b));
    assertTrue(e.getMessage().contains("belongs to graph 'one', not 'two'"), e.getMessage());
  }

  @Test
  void shapesAreInferredAndCheckedWhenNodesAreAdded() {
    Graph g = Graph.create("g");
    Value x = g.input("x", DType.FLOAT, Shape.of(Dim.sym("B"), Dim.sym("T"), Dim.of(8)));
    Value w = g.input("w", DType.FLOAT, Shape.of(8, 16));
    Value y = g.matMul(x, w);
    assertEquals(Shape.of(Dim.sym("B"), Dim.sym("T"), Dim.of(16)), y.shape());
    Value r = g.reshape(y, g.shape(x));
    assertEquals(x.shape(), r.shape());
    assertEquals(
        Shape.of(Dim.sym("B"), Dim.of(1), Dim.of(16)),
        g.reduceSum(y, new long[] {1}, true).shape());
    assertEquals(Shape.of(Dim.sym("T"), Dim.of(16), Dim.sym("B")), g.transpose(y, 1, 2, 0).shape());
    Value bad = g.input("bad", DType.FLOAT, Shape.of(7, 2));
    var e = assertThrows(IllegalArgumentException.class, () -> g.matMul(x, bad));
    assertTrue(e.getMessage().contains("inner dimensions differ"), e.getMessage());
    var broadcast =
        assertThrows(
            IllegalArgumentException.class, () -> g.add(w, g.input("c", DType.FLOAT, Shape.of(3))));
    assertTrue(broadcast.getMessage().contains("cannot broadcast shapes [8, 16] and [3]"));
    var types =
        assertThrows(
            IllegalArgumentException.class,
            () -> g.add(w, g.input("d", DType.DOUBLE, Shape.of(16))));
    assertTrue(types.getMessage().contains("has type DOUBLE but input 0 has type FLOAT"));
    assertEquals(
        Shape.of(Dim.sym("B"), Dim.sym("T"), Dim.of(2)),
        g.slice(y, new long[] {-2}, new long[] {Long.MAX_VALUE}, new long[] {2}, null).shape());
    List<Value> parts = g.split(w, 1, 4, 12);
    assertEquals(Shape.of(8, 12), parts.get(1).shape());
    assertEquals(Shape.of(8, 16), g.concat(1, parts).shape());
  }

  @Test
  void namesAreUnique() {
    Graph g = Graph.create("g");
    g.input("x", DType.FLOAT, Shape.of(1));
    var e =
        assertThrows(IllegalArgumentException.class, () -> g.input("x", DType.FLOAT, Shape.of(1)));
    assertTrue(e.getMessage().contains("'x' is already used"));
  }

  @Test
  void unsupportedOpIsNamed() {
    var e = assertThrows(IllegalArgumentException.class, () -> Op.fromOnnxName("Conv"));
    assertTrue(e.getMessage().contains("unsupported ONNX op 'Conv'"));
  }
}
