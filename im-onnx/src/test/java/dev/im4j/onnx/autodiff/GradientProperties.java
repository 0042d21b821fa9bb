package dev.im4j.onnx.autodiff;

import static dev.im4j.onnx.testing.GradCheck.broadcastable;
import static dev.im4j.onnx.testing.GradCheck.check;
import static dev.im4j.onnx.testing.GradCheck.shape;

import dev.im4j.onnx.graph.Composite;
import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.graph.Tensor;
import dev.im4j.onnx.graph.Value;
import dev.im4j.onnx.testing.GradCheck.In;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * Finite-difference checks of every gradient rule on ONNX Runtime CPU, over random shapes and
 * broadcasting patterns. Double precision unless the op has no double kernel in ORT CPU.
 */
class GradientProperties {
  private static final DType D = DType.DOUBLE;

  private static double[] constant(Random rnd, int n) {
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = rnd.nextDouble() * 2 - 1;
    }
    return v;
  }

  // ------------------------------------------------------------- elementwise binary

  @Property(tries = 6)
  void add(@ForAll long seed) {
    Random rnd = new Random(seed);
    long[] a = shape(rnd, 0, 3, 3);
    long[] b = broadcastable(rnd, a);
    boolean swap = rnd.nextBoolean();
    check(
        "add",
        D,
        seed,
        (g, x, r) -> g.add(x.get(0), x.get(1)),
        In.of(swap ? b : a),
        In.of(swap ? a : b));
  }

  @Property(tries = 6)
  void sub(@ForAll long seed) {
    Random rnd = new Random(seed);
    long[] a = shape(rnd, 0, 3, 3);
    long[] b = broadcastable(rnd, a);
    check("sub", D, seed, (g, x, r) -> g.sub(x.get(1), x.get(0)), In.of(a), In.of(b));
  }

  @Property(tries = 6)
  void mul(@ForAll long seed) {
    Random rnd = new Random(seed);
    long[] a = shape(rnd, 0, 3, 3);
    long[] b = broadcastable(rnd, a);
    check("mul", D, seed, (g, x, r) -> g.mul(x.get(1), x.get(0)), In.of(a), In.of(b));
  }

  @Property(tries = 6)
  void div(@ForAll long seed) {
    Random rnd = new Random(seed);
    long[] a = shape(rnd, 0, 3, 3);
    long[] b = broadcastable(rnd, a);
    check("div", D, seed, (g, x, r) -> g.div(x.get(0), x.get(1)), In.of(a), In.positive(b));
  }

  @Property(tries = 6)
  void powWithConstantExponent(@ForAll long seed) {
    Random rnd = new Random(seed);
    long[] a = shape(rnd, 0, 3, 3);
    long[] e = broadcastable(rnd, a);
    double[] ev = constant(rnd, (int) Arrays.stream(e).reduce(1, (p, q) -> p * q));
    for (int i = 0; i < ev.length; i++) {
      ev[i] = 3 * ev[i];
    }
    check(
        "pow",
        D,
        seed,
        (g, x, r) -> g.pow(x.get(0), g.constant(Tensor.ofDoubles(e, ev))),
        In.positive(a));
  }

  @Property(tries = 4)
  void sum(@ForAll long seed) {
    Random rnd = new Random(seed);
    long[] a = shape(rnd, 1, 3, 3);
    check(
        "sum",
        D,
        seed,
        (g, x, r) -> g.sum(x),
        In.of(a),
        In.of(broadcastable(rnd, a)),
        In.of(broadcastable(rnd, a)));
  }

  // ------------------------------------------------------------- elementwise unary

  @Property(tries = 3)
  void unaryDouble(@ForAll long seed) {
    Random rnd = new Random(seed);
    long[] s = shape(rnd, 0, 3, 3);
    check("sqrt", D, seed, (g, x, r) -> g.sqrt(x.get(0)), In.positive(s));
    check("reciprocal", D, seed, (g, x, r) -> g.reciprocal(x.get(0)), In.positive(s));
    check("exp", D, seed, (g, x, r) -> g.exp(x.get(0)), In.of(s));
    check("log", D, seed, (g, x, r) -> g.log(x.get(0)), In.positive(s));
    check("neg", D, seed, (g, x, r) -> g.neg(x.get(0)), In.of(s));
    check("tanh", D, seed, (g, x, r) -> g.tanh(x.get(0)), In.of(s));
    check("sigmoid", D, seed, (g, x, r) -> g.sigmoid(x.get(0)), In.of(s));
    check("identity", D, seed, (g, x, r) -> g.identity(x.get(0)), In.of(s));
    check("abs", D, seed, (g, x, r) -> g.abs(x.get(0)), In.positive(s));
    check("relu", D, seed, (g, x, r) -> g.relu(x.get(0)), In.of(s));
    // ORT CPU has Sin and Cos in float only
    check("sin", DType.FLOAT, seed, (g, x, r) -> g.sin(x.get(0)), In.of(s));
    check("cos", DType.FLOAT, seed, (g, x, r) -> g.cos(x.get(0)), In.of(s));
  }

  @Property(tries = 3)
  void erfAndGelu(@ForAll long seed) {
    Random rnd = new Random(seed);
    long[] s = shape(rnd, 1, 3, 3);
    check("erf", DType.FLOAT, seed, (g, x, r) -> g.erf(x.get(0)), In.of(s));
    check("geluExact", DType.FLOAT, seed, (g, x, r) -> Composite.geluExact(g, x.get(0)), In.of(s));
    check("geluTanh", D, seed, (g, x, r) -> Composite.geluTanh(g, x.get(0)), In.of(s));
  }

  // ------------------------------------------------------------- linear algebra

  @Property(tries = 6)
  void matMul(@ForAll long seed) {
    Random rnd = new Random(seed);
    long m = 1 + rnd.nextInt(3);
    long k = 1 + rnd.nextInt(3);
    long n = 1 + rnd.nextInt(3);
    long[] batch = shape(rnd, 0, 2, 2);
    long[] bBatch = broadcastable(rnd, batch);
    long[] a = concat(batch, new long[] {m, k});
    long[] b = concat(bBatch, new long[] {k, n});
    boolean swap = rnd.nextBoolean();
    check(
        "matMul",
        D,
        seed,
        (g, x, r) -> g.matMul(x.get(0), x.get(1)),
        In.of(swap ? concat(bBatch, new long[] {m, k}) : a),
        In.of(swap ? concat(batch, new long[] {k, n}) : b));
  }

  @Property(tries = 6)
  void matMulWithVectorOperands(@ForAll long seed) {
    Random rnd = new Random(seed);
    long k = 1 + rnd.nextInt(3);
    long[] other = concat(shape(rnd, 0, 1, 2), new long[] {k, 1 + rnd.nextInt(3)});
    boolean vectorFirst = rnd.nextBoolean();
    boolean bothVectors = rnd.nextInt(3) == 0;
    long[] otherShape = bothVectors ? new long[] {k} : vectorFirst ? other : swapLastTwo(other);
    check(
        "matMulVector",
        D,
        seed,
        (g, x, r) -> vectorFirst ? g.matMul(x.get(0), x.get(1)) : g.matMul(x.get(1), x.get(0)),
        In.of(k),
        In.of(otherShape));
  }

  private static long[] swapLastTwo(long[] s) {
    long[] t = s.clone();
    t[t.length - 1] = s[s.length - 2];
    t[t.length - 2] = s[s.length - 1];
    return t;
  }

  @Property(tries = 8)
  void gemm(@ForAll long seed) {
    Random rnd = new Random(seed);
    long m = 1 + rnd.nextInt(3);
    long k = 1 + rnd.nextInt(3);
    long n = 1 + rnd.nextInt(3);
    boolean ta = rnd.nextBoolean();
    boolean tb = rnd.nextBoolean();
    long[][] cShapes = {{}, {n}, {m, n}, {1, n}, {m, 1}};
    long[] c = cShapes[rnd.nextInt(cShapes.length)];
    double alpha = 0.5 + rnd.nextDouble();
    double beta = 0.5 + rnd.nextDouble();
    check(
        "gemm",
        D,
        seed,
        (g, x, r) -> g.gemm(x.get(0), x.get(1), x.get(2), alpha, beta, ta, tb),
        In.of(ta ? new long[] {k, m} : new long[] {m, k}),
        In.of(tb ? new long[] {n, k} : new long[] {k, n}),
        In.of(c));
  }

  // ------------------------------------------------------------- normalisation, softmax

  @Property(tries = 4)
  void softmaxAndLogSoftmax(@ForAll long seed) {
    Random rnd = new Random(seed);
    long[] s = shape(rnd, 1, 3, 4);
    long axis = rnd.nextInt(s.length) - (rnd.nextBoolean() ? s.length : 0);
    check("softmax", D, seed, (g, x, r) -> g.softmax(x.get(0), axis), In.of(s));
    check("logSoftmax", D, seed, (g, x, r) -> g.logSoftmax(x.get(0), axis), In.of(s));
  }

  @Property(tries = 6)
  void reduceSumAndMean(@ForAll long seed) {
    Random rnd = new Random(seed);
    long[] s = shape(rnd, 1, 3, 3);
    List<Long> axes = new ArrayList<>();
    for (int i = 0; i < s.length; i++) {
      if (rnd.nextBoolean()) {
        axes.add((long) (rnd.nextBoolean() ? i : i - s.length));
      }
    }
    if (axes.isEmpty()) {
      axes.add(0L);
    }
    long[] ax = axes.stream().mapToLong(Long::longValue).toArray();
    boolean keep = rnd.nextBoolean();
    check("reduceSum", D, seed, (g, x, r) -> g.reduceSum(x.get(0), ax, keep), In.of(s));
    check("reduceMean", D, seed, (g, x, r) -> g.reduceMean(x.get(0), ax, keep), In.of(s));
  }

  @Property(tries = 5)
  void reduceMax(@ForAll long seed) {
    Random rnd = new Random(seed);
    long[] s = shape(rnd, 1, 3, 3);
    long[] ax = {rnd.nextInt(s.length)};
    boolean keep = rnd.nextBoolean();
    check("reduceMax", D, seed, (g, x, r) -> g.reduceMax(x.get(0), ax, keep), In.of(s));
  }

  @Property(tries = 5)
  void gatherElements(@ForAll long seed) {
    Random rnd = new Random(seed);
    long[] s = shape(rnd, 1, 3, 3);
    int axis = rnd.nextInt(s.length);
    long[] idShape = s.clone();
    idShape[axis] = 1 + rnd.nextInt(3);
    long[] ids = new long[(int) Arrays.stream(idShape).reduce(1, (p, q) -> p * q)];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = rnd.nextInt((int) (2 * s[axis])) - s[axis];
    }
    check(
        "gatherElements",
        D,
        seed,
        (g, x, r) -> g.gatherElements(x.get(0), g.constant(Tensor.ofLongs(idShape, ids)), axis),
        In.of(s));
  }

  @Property(tries = 5)
  void layerNormalization(@ForAll long seed) {
    Random rnd = new Random(seed);
    long[] s = shape(rnd, 1, 3, 4);
    s[s.length - 1] = 2 + rnd.nextInt(3);
    int axis = rnd.nextInt(s.length);
    long[] normalized = Arrays.copyOfRange(s, axis, s.length);
    check(
        "layerNorm",
        D,
        seed,
        (g, x, r) -> g.layerNorm(x.get(0), x.get(1), x.get(2), axis, 1e-5),
        In.of(s),
        In.of(normalized),
        In.of(broadcastable(rnd, normalized)));
  }

  @Property(tries = 4)
  void rmsNorm(@ForAll long seed) {
    Random rnd = new Random(seed);
    long[] s = shape(rnd, 1, 3, 4);
    s[s.length - 1] = 2 + rnd.nextInt(3);
    check(
        "rmsNorm",
        D,
        seed,
        (g, x, r) -> Composite.rmsNorm(g, x.get(0), x.get(1), 1e-6),
        In.of(s),
        In.of(s[s.length - 1]));
  }

  // ------------------------------------------------------------- shape ops

  @Property(tries = 4)
  void transposeReshapeFlattenSqueeze(@ForAll long seed) {
    Random rnd = new Random(seed);
    long[] s = shape(rnd, 1, 4, 3);
    List<Long> p = new ArrayList<>();
    for (long i = 0; i < s.length; i++) {
      p.add(i);
    }
    java.util.Collections.shuffle(p, rnd);
    long[] perm = p.stream().mapToLong(Long::longValue).toArray();
    check("transpose", D, seed, (g, x, r) -> g.transpose(x.get(0), perm), In.of(s));
    check("reshape", D, seed, (g, x, r) -> g.reshape(x.get(0), -1), In.of(s));
    long fa = rnd.nextInt(s.length + 1);
    check("flatten", D, seed, (g, x, r) -> g.flatten(x.get(0), fa), In.of(s));
    long ua = rnd.nextInt(s.length + 1);
    check(
        "unsqueezeSqueeze",
        D,
        seed,
        (g, x, r) -> g.squeeze(g.mul(g.unsqueeze(x.get(0), ua), g.unsqueeze(x.get(0), ua)), ua),
        In.of(s));
  }

  @Property(tries = 5)
  void concatAndSplit(@ForAll long seed) {
    Random rnd = new Random(seed);
    long[] s = shape(rnd, 1, 3, 3);
    int axis = rnd.nextInt(s.length);
    long[] s2 = s.clone();
    s2[axis] = 1 + rnd.nextInt(3);
    check(
        "concat",
        D,
        seed,
        (g, x, r) -> g.concat(axis - (rnd.nextBoolean() ? s.length : 0), x),
        In.of(s),
        In.of(s2));
    long[] whole = s.clone();
    whole[axis] = 3 + rnd.nextInt(3);
    long first = 1 + rnd.nextInt((int) whole[axis] - 2);
    long[] sizes = {first, 1, whole[axis] - first - 1};
    check(
        "split",
        D,
        seed,
        (g, x, r) -> {
          List<Value> parts = g.split(x.get(0), axis, sizes);
          // the middle piece is unused: its adjoint is zero
          return g.concat(axis, List.of(g.mul(parts.get(2), parts.get(2)), parts.get(0)));
        },
        In.of(whole));
  }

  @Property(tries = 6)
  void slice(@ForAll long seed) {
    Random rnd = new Random(seed);
    long[] s = shape(rnd, 1, 3, 5);
    int axis = rnd.nextInt(s.length);
    long n = s[axis];
    boolean backwards = rnd.nextBoolean();
    long step = (1 + rnd.nextInt(2)) * (backwards ? -1 : 1);
    long start = backwards ? n - 1 - rnd.nextInt((int) n) : rnd.nextInt((int) n);
    long end = backwards ? -n - 1 : n;
    check(
        "slice",
        D,
        seed,
        (g, x, r) ->
            g.slice(
                x.get(0),
                new long[] {start},
                new long[] {end},
                new long[] {axis},
                new long[] {step}),
        In.of(s));
  }

  @Property(tries = 5)
  void expandAndWhere(@ForAll long seed) {
    Random rnd = new Random(seed);
    long[] full = shape(rnd, 1, 3, 3);
    long[] small = broadcastable(rnd, full);
    check("expand", D, seed, (g, x, r) -> g.expand(x.get(0), g.longs(full)), In.of(small));
    long[] other = broadcastable(rnd, full);
    boolean[] cond = new boolean[(int) Arrays.stream(full).reduce(1, (p, q) -> p * q)];
    for (int i = 0; i < cond.length; i++) {
      cond[i] = rnd.nextBoolean();
    }
    check(
        "where",
        D,
        seed,
        (g, x, r) -> g.where(g.constant(Tensor.ofBooleans(full, cond)), x.get(0), x.get(1)),
        In.of(small),
        In.of(other));
  }

  @Property(tries = 3)
  void cast(@ForAll long seed) {
    Random rnd = new Random(seed);
    long[] s = shape(rnd, 0, 3, 3);
    check(
        "cast",
        DType.FLOAT,
        seed,
        (g, x, r) ->
            g.cast(
                g.mul(g.cast(x.get(0), DType.DOUBLE), g.cast(x.get(0), DType.DOUBLE)), DType.FLOAT),
        In.of(s));
  }

  @Property(tries = 5)
  void gatherEmbeddingWithNegativeAndRepeatedIds(@ForAll long seed) {
    Random rnd = new Random(seed);
    long v = 2 + rnd.nextInt(4);
    long d = 1 + rnd.nextInt(3);
    long[] idShape = shape(rnd, 0, 2, 3);
    long[] ids = new long[(int) Arrays.stream(idShape).reduce(1, (p, q) -> p * q)];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = rnd.nextInt((int) (2 * v)) - v; // in [-V, V)
    }
    check(
        "gather",
        D,
        seed,
        (g, x, r) -> g.gather(x.get(0), g.constant(Tensor.ofLongs(idShape, ids)), 0),
        In.of(v, d));
  }

  @Property(tries = 5)
  void gatherOnAnyAxis(@ForAll long seed) {
    Random rnd = new Random(seed);
    long[] s = shape(rnd, 1, 3, 3);
    int axis = rnd.nextInt(s.length);
    long[] idShape = shape(rnd, 0, 2, 2);
    long[] ids = new long[(int) Arrays.stream(idShape).reduce(1, (p, q) -> p * q)];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = rnd.nextInt((int) (2 * s[axis])) - s[axis];
    }
    long attr = rnd.nextBoolean() ? axis : axis - s.length;
    check(
        "gatherAxis",
        D,
        seed,
        (g, x, r) -> g.gather(x.get(0), g.constant(Tensor.ofLongs(idShape, ids)), attr),
        In.of(s));
  }

  @Property(tries = 3)
  void trilu(@ForAll long seed) {
    Random rnd = new Random(seed);
    long[] s = shape(rnd, 2, 3, 4);
    boolean upper = rnd.nextBoolean();
    long k = rnd.nextInt(3) - 1;
    check(
        "trilu",
        D,
        seed,
        (g, x, r) -> g.trilu(x.get(0), upper, g.scalar(DType.INT64, k)),
        In.of(s));
  }

  private static long[] concat(long[] a, long[] b) {
    long[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
