package dev.im4j.onnx.graph;

import static dev.im4j.onnx.testing.GradCheck.broadcastable;
import static dev.im4j.onnx.testing.GradCheck.shape;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.im4j.onnx.testing.GradCheck;
import dev.im4j.onnx.testing.Ort;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/** Inferred static shapes equal the shapes ONNX Runtime produces, for every supported op. */
class ShapeInferenceProperties {

  @Property(tries = 8)
  void inferredShapesMatchOnnxRuntime(@ForAll long seed) {
    Random rnd = new Random(seed);
    long[] s = shape(rnd, 1, 3, 4);
    int rank = s.length;
    Graph g = Graph.create("shapes");
    Value x = g.input("x", DType.DOUBLE, Shape.of(s));
    Value y = g.input("y", DType.DOUBLE, Shape.of(broadcastable(rnd, s)));
    List<Value> out = new ArrayList<>();
    out.add(g.add(x, y));
    out.add(g.sub(y, x));
    out.add(g.mul(x, y));
    out.add(g.div(x, y));
    out.add(g.pow(x, y));
    out.add(g.sum(List.of(x, y, x)));
    for (Op op :
        List.of(
            Op.SQRT,
            Op.RECIPROCAL,
            Op.EXP,
            Op.LOG,
            Op.NEG,
            Op.ABS,
            Op.TANH,
            Op.SIGMOID,
            Op.RELU,
            Op.IDENTITY)) {
      out.add(g.apply(op, List.of(x), Map.of(), 1).output(0));
    }
    out.add(g.erf(g.cast(x, DType.FLOAT)));
    out.add(g.sin(g.cast(x, DType.FLOAT)));
    out.add(g.cos(g.cast(x, DType.FLOAT)));
    long[] axes = {rnd.nextInt(rank)};
    boolean keep = rnd.nextBoolean();
    out.add(g.reduceSum(x, axes, keep));
    out.add(g.reduceMean(x, axes, keep));
    out.add(g.reduceMax(x, axes, keep));
    out.add(g.reduceProd(x, axes, keep));
    out.add(g.softmax(x, axes[0]));
    out.add(g.logSoftmax(x, axes[0]));
    List<Long> perm = new ArrayList<>();
    for (long i = 0; i < rank; i++) {
      perm.add(i);
    }
    Collections.shuffle(perm, rnd);
    out.add(g.transpose(x, perm.stream().mapToLong(Long::longValue).toArray()));
    out.add(g.flatten(x, rnd.nextInt(rank + 1)));
    out.add(g.reshape(x, -1));
    out.add(g.reshape(x, 0, -1));
    Value u = g.unsqueeze(x, rnd.nextInt(rank + 1));
    out.add(u);
    out.add(g.squeeze(u));
    out.add(g.concat(axes[0], List.of(x, x, x)));
    long n = s[(int) axes[0]];
    out.addAll(g.split(x, axes[0], n, 0));
    long step = rnd.nextBoolean() ? 1 : -2;
    out.add(
        g.slice(
            x,
            new long[] {step > 0 ? rnd.nextInt((int) n) : -1},
            new long[] {step > 0 ? Long.MAX_VALUE : Long.MIN_VALUE},
            axes,
            new long[] {step}));
    out.add(g.expand(y, g.longs(s)));
    Value shp = g.shape(x);
    out.add(shp);
    out.add(g.shape(x, -2, rank));
    Value size = g.size(x);
    out.add(size);
    out.add(g.range(g.scalar(DType.INT64, 0), size, g.scalar(DType.INT64, 1)));
    out.add(g.constantOfShape(shp, Tensor.filled(DType.FLOAT, new long[] {1}, 2)));
    Value lt = g.less(x, y);
    Value gt = g.greater(x, y);
    out.add(lt);
    out.add(g.equal(x, y));
    out.add(g.and(lt, gt));
    out.add(g.or(lt, gt));
    out.add(g.not(lt));
    out.add(g.where(lt, x, y));
    long[] idShape = shape(rnd, 0, 2, 3);
    long[] ids = new long[GradCheck.count(idShape)];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = rnd.nextInt((int) s[0]);
    }
    Value idv = g.constant(Tensor.ofLongs(idShape, ids));
    Value gathered = g.gather(x, idv, 0);
    out.add(gathered);
    Value firstRow = g.slice(x, new long[] {0}, new long[] {1}, new long[] {0}, null);
    Value zeroIds =
        g.constantOfShape(g.shape(firstRow), Tensor.filled(DType.INT64, new long[] {1}, 0));
    out.add(g.gatherElements(x, zeroIds, 0));
    out.add(g.scatterElements(x, zeroIds, firstRow, 0, "add"));
    out.add(g.scatterNd(x, g.unsqueeze(idv, idShape.length), gathered, "add"));
    if (rank >= 2) {
      out.add(g.trilu(x, rnd.nextBoolean(), null));
    }
    Value w = g.constant(Tensor.filled(DType.DOUBLE, new long[] {s[rank - 1], 2}, 0.5));
    out.add(g.matMul(x, w));
    if (rank == 2) {
      out.add(g.gemm(x, w, null, 1, 0, false, false));
      out.add(g.gemm(w, x, null, 1, 0, true, true));
    }
    Value scale = g.constant(Tensor.filled(DType.DOUBLE, new long[] {s[rank - 1]}, 1));
    Node ln = g.apply(Op.LAYER_NORMALIZATION, List.of(x, scale), Map.of(), 3);
    out.addAll(ln.outputs());

    List<String> names = new ArrayList<>();
    for (int i = 0; i < out.size(); i++) {
      names.add(g.output("out" + i, out.get(i)).name());
    }
    Map<String, Tensor> feed =
        Map.of(
            "x",
            Tensor.ofDoubles(s, GradCheck.uniform(rnd, GradCheck.count(s), 0.5, 2)),
            "y",
            Tensor.ofDoubles(
                y.shape().sizes(), GradCheck.uniform(rnd, (int) y.shape().elementCount(), 0.5, 2)));
    try (Ort ort = Ort.session(g)) {
      Map<String, long[]> actual = ort.shapes(feed, names);
      for (int i = 0; i < out.size(); i++) {
        assertArrayEquals(
            actual.get(names.get(i)),
            out.get(i).shape().sizes(),
            g.producer(out.get(i)) + " on x" + Arrays.toString(s) + ": inferred " + out.get(i));
      }
    }
  }
}
