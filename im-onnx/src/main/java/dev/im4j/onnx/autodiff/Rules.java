package dev.im4j.onnx.autodiff;

import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.graph.Node;
import dev.im4j.onnx.graph.Op;
import dev.im4j.onnx.graph.Tensor;
import dev.im4j.onnx.graph.Value;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One gradient rule per differentiable op. In the comments, {@code g} is the adjoint of the output
 * {@code y}, and {@code unb} sums a broadcast gradient back to the operand shape.
 */
final class Rules {
  private static final Map<Op, GradRule> RULES = new EnumMap<>(Op.class);

  static {
    RULES.put(Op.IDENTITY, (b, n, g, need) -> List.of(g.get(0)));
    RULES.put(Op.ADD, (b, n, g, need) -> binary(b, n, need, g.get(0), g.get(0)));
    RULES.put(
        Op.SUB,
        (b, n, g, need) -> binary(b, n, need, g.get(0), need[1] ? b.g.neg(g.get(0)) : null));
    RULES.put(Op.MUL, Rules::mul);
    RULES.put(Op.DIV, Rules::div);
    RULES.put(Op.POW, Rules::pow);
    RULES.put(Op.SUM, Rules::sum);
    // d sqrt(x) = g * 0.5 / y
    RULES.put(
        Op.SQRT,
        (b, n, g, need) ->
            List.of(b.g.div(b.g.mul(g.get(0), b.scalarLike(g.get(0), 0.5)), n.output(0))));
    // d (1/x) = -g * y * y
    RULES.put(
        Op.RECIPROCAL,
        (b, n, g, need) -> List.of(b.g.neg(b.g.mul(g.get(0), b.g.mul(n.output(0), n.output(0))))));
    RULES.put(Op.EXP, (b, n, g, need) -> List.of(b.g.mul(g.get(0), n.output(0))));
    RULES.put(Op.LOG, (b, n, g, need) -> List.of(b.g.div(g.get(0), n.input(0))));
    RULES.put(Op.NEG, (b, n, g, need) -> List.of(b.g.neg(g.get(0))));
    // d |x| = g * sign(x), with 0 at x = 0 taken as +1
    RULES.put(
        Op.ABS,
        (b, n, g, need) ->
            List.of(
                b.g.where(
                    b.g.less(n.input(0), b.scalarLike(n.input(0), 0)),
                    b.g.neg(g.get(0)),
                    g.get(0))));
    RULES.put(
        Op.RELU,
        (b, n, g, need) ->
            List.of(
                b.g.where(
                    b.g.greater(n.input(0), b.scalarLike(n.input(0), 0)),
                    g.get(0),
                    b.scalarLike(g.get(0), 0))));
    // d erf(x) = g * 2/sqrt(pi) * exp(-x^2)
    RULES.put(
        Op.ERF,
        (b, n, g, need) -> {
          Value x = n.input(0);
          Value e = b.g.exp(b.g.neg(b.g.mul(x, x)));
          return List.of(b.g.mul(g.get(0), b.g.mul(e, b.scalarLike(x, 2.0 / Math.sqrt(Math.PI)))));
        });
    // d tanh = g * (1 - y^2)
    RULES.put(
        Op.TANH,
        (b, n, g, need) -> {
          Value y = n.output(0);
          return List.of(b.g.mul(g.get(0), b.g.sub(b.scalarLike(y, 1), b.g.mul(y, y))));
        });
    // d sigmoid = g * y * (1 - y)
    RULES.put(
        Op.SIGMOID,
        (b, n, g, need) -> {
          Value y = n.output(0);
          return List.of(b.g.mul(g.get(0), b.g.mul(y, b.g.sub(b.scalarLike(y, 1), y))));
        });
    RULES.put(Op.SIN, (b, n, g, need) -> List.of(b.g.mul(g.get(0), b.g.cos(n.input(0)))));
    RULES.put(Op.COS, (b, n, g, need) -> List.of(b.g.neg(b.g.mul(g.get(0), b.g.sin(n.input(0))))));
    RULES.put(Op.MATMUL, Rules::matMul);
    RULES.put(Op.GEMM, Rules::gemm);
    RULES.put(Op.SOFTMAX, Rules::softmax);
    RULES.put(Op.LOG_SOFTMAX, Rules::logSoftmax);
    RULES.put(Op.REDUCE_SUM, (b, n, g, need) -> reduce(b, n, g.get(0), false));
    RULES.put(Op.REDUCE_MEAN, (b, n, g, need) -> reduce(b, n, g.get(0), true));
    RULES.put(Op.REDUCE_MAX, Rules::reduceMax);
    RULES.put(Op.GATHER_ELEMENTS, Rules::gatherElements);
    RULES.put(Op.LAYER_NORMALIZATION, Rules::layerNorm);
    RULES.put(
        Op.TRANSPOSE,
        (b, n, g, need) -> {
          long[] perm = n.intsAttr("perm");
          if (perm == null) {
            perm = new long[n.input(0).rank()];
            for (int i = 0; i < perm.length; i++) {
              perm[i] = perm.length - 1 - i;
            }
          }
          return List.of(b.g.transpose(g.get(0), Backward.inverse(perm)));
        });
    GradRule reshapeBack = (b, n, g, need) -> firstOnly(n, b.reshapeLike(g.get(0), n.input(0)));
    RULES.put(Op.RESHAPE, reshapeBack);
    RULES.put(Op.FLATTEN, reshapeBack);
    RULES.put(Op.SQUEEZE, reshapeBack);
    RULES.put(Op.UNSQUEEZE, reshapeBack);
    RULES.put(Op.CONCAT, Rules::concat);
    RULES.put(Op.SPLIT, Rules::split);
    RULES.put(Op.SLICE, Rules::slice);
    RULES.put(Op.EXPAND, (b, n, g, need) -> firstOnly(n, b.unbroadcast(g.get(0), n.input(0))));
    RULES.put(Op.WHERE, Rules::where);
    RULES.put(Op.CAST, (b, n, g, need) -> List.of(b.g.cast(g.get(0), n.input(0).dtype())));
    RULES.put(Op.GATHER, Rules::gather);
    // Trilu is a fixed mask: its adjoint is the same mask applied to g
    RULES.put(
        Op.TRILU,
        (b, n, g, need) -> {
          List<Value> out = new ArrayList<>(Collections.nCopies(n.inputs().size(), null));
          out.set(
              0,
              b.g.trilu(
                  g.get(0), n.intAttr("upper", 1) != 0, n.inputs().size() > 1 ? n.input(1) : null));
          return out;
        });
  }

  private Rules() {}

  /** The rule for {@code op}, or null if it has none. */
  static GradRule forOp(Op op) {
    return RULES.get(op);
  }

  /** Ops that have a gradient rule. */
  static Set<Op> supported() {
    return Collections.unmodifiableSet(RULES.keySet());
  }

  private static List<Value> firstOnly(Node n, Value grad) {
    List<Value> out = new ArrayList<>(Collections.nCopies(n.inputs().size(), null));
    out.set(0, grad);
    return out;
  }

  private static List<Value> binary(Backward b, Node n, boolean[] need, Value ga, Value gb) {
    return Arrays.asList(
        need[0] ? b.unbroadcast(ga, n.input(0)) : null,
        need[1] ? b.unbroadcast(gb, n.input(1)) : null);
  }

  // y = a * b: ga = unb(g * b), gb = unb(g * a)
  private static List<Value> mul(Backward b, Node n, List<Value> g, boolean[] need) {
    Value gy = g.get(0);
    return binary(
        b,
        n,
        need,
        need[0] ? b.g.mul(gy, n.input(1)) : null,
        need[1] ? b.g.mul(gy, n.input(0)) : null);
  }

  // y = a / b: ga = unb(g / b), gb = unb(-g * y / b)
  private static List<Value> div(Backward b, Node n, List<Value> g, boolean[] need) {
    Value gy = g.get(0);
    Value bb = n.input(1);
    return binary(
        b,
        n,
        need,
        need[0] ? b.g.div(gy, bb) : null,
        need[1] ? b.g.neg(b.g.div(b.g.mul(gy, n.output(0)), bb)) : null);
  }

  // y = a ^ e (e constant): ga = unb(g * e * a^(e-1))
  private static List<Value> pow(Backward b, Node n, List<Value> g, boolean[] need) {
    if (need[1]) {
      throw new IllegalArgumentException(
          "Pow node '"
              + n.name()
              + "': the exponent depends on a differentiated value; only constant exponents"
              + " are supported");
    }
    Value a = n.input(0);
    Value e = n.input(1);
    if (e.dtype() != a.dtype()) {
      e = b.g.cast(e, a.dtype());
    }
    Value d = b.g.mul(e, b.g.pow(a, b.g.sub(e, b.scalarLike(e, 1))));
    return binary(b, n, need, b.g.mul(g.get(0), d), null);
  }

  private static List<Value> sum(Backward b, Node n, List<Value> g, boolean[] need) {
    List<Value> out = new ArrayList<>();
    for (int i = 0; i < need.length; i++) {
      out.add(need[i] ? b.unbroadcast(g.get(0), n.input(i)) : null);
    }
    return out;
  }

  private static long[] swapLast(int rank) {
    long[] p = new long[rank];
    for (int i = 0; i < rank; i++) {
      p[i] = i;
    }
    p[rank - 1] = rank - 2;
    p[rank - 2] = rank - 1;
    return p;
  }

  // y = a @ b: ga = unb(g @ b^T), gb = unb(a^T @ g); 1-D operands are promoted as in numpy
  private static List<Value> matMul(Backward b, Node n, List<Value> g, boolean[] need) {
    Graph gr = b.g;
    Value a = n.input(0);
    Value w = n.input(1);
    Value gy = g.get(0);
    Value a2 = a;
    Value w2 = w;
    if (a.rank() == 1) {
      a2 = gr.unsqueeze(a, 0); // [1, K]
      gy = gr.unsqueeze(gy, gy.rank() - (w.rank() == 1 ? 0 : 1)); // restore the M axis
    }
    if (w.rank() == 1) {
      w2 = gr.unsqueeze(w, 1); // [K, 1]
      gy = gr.unsqueeze(gy, gy.rank()); // restore the N axis
    }
    Value ga = null;
    Value gb = null;
    if (need[0]) {
      ga = gr.matMul(gy, gr.transpose(b.reread(w2), swapLast(w2.rank())));
      ga = a.rank() == 1 ? b.reshapeLike(b.unbroadcast(ga, a2), a) : b.unbroadcast(ga, a);
    }
    if (need[1]) {
      gb = gr.matMul(gr.transpose(b.reread(a2), swapLast(a2.rank())), gy);
      gb = w.rank() == 1 ? b.reshapeLike(b.unbroadcast(gb, w2), w) : b.unbroadcast(gb, w);
    }
    return Arrays.asList(ga, gb);
  }

  // y = alpha * A' B' + beta * C, A' = transA ? A^T : A, B' likewise
  private static List<Value> gemm(Backward b, Node n, List<Value> g, boolean[] need) {
    Graph gr = b.g;
    Value gy = g.get(0);
    Value a = n.input(0);
    Value w = n.input(1);
    double alpha = n.floatAttr("alpha", 1f);
    double beta = n.floatAttr("beta", 1f);
    boolean ta = n.intAttr("transA", 0) != 0;
    boolean tb = n.intAttr("transB", 0) != 0;
    List<Value> out = new ArrayList<>(Collections.nCopies(n.inputs().size(), null));
    if (need[0]) {
      // dA' = alpha g B'^T; dA = dA' or its transpose
      w = b.reread(w);
      out.set(
          0,
          ta
              ? gr.gemm(w, gy, null, alpha, 0, tb, true)
              : gr.gemm(gy, w, null, alpha, 0, false, !tb));
    }
    if (need[1]) {
      // dB' = alpha A'^T g; dB = dB' or its transpose
      a = b.reread(a);
      out.set(
          1,
          tb
              ? gr.gemm(gy, a, null, alpha, 0, true, ta)
              : gr.gemm(a, gy, null, alpha, 0, !ta, false));
    }
    if (n.inputs().size() > 2 && need[2]) {
      Value gc = beta == 1.0 ? gy : gr.mul(gy, b.scalarLike(gy, beta));
      out.set(2, b.unbroadcast(gc, n.input(2)));
    }
    return out;
  }

  // y = softmax(x): gx = y * (g - sum(g * y, axis))
  private static List<Value> softmax(Backward b, Node n, List<Value> g, boolean[] need) {
    Graph gr = b.g;
    Value y = n.output(0);
    long axis = n.intAttr("axis", -1);
    Value s = gr.reduceSum(gr.mul(g.get(0), y), new long[] {axis}, true);
    return List.of(gr.mul(y, gr.sub(g.get(0), s)));
  }

  // y = log_softmax(x): gx = g - exp(y) * sum(g, axis)
  private static List<Value> logSoftmax(Backward b, Node n, List<Value> g, boolean[] need) {
    Graph gr = b.g;
    Value y = n.output(0);
    long axis = n.intAttr("axis", -1);
    Value s = gr.reduceSum(g.get(0), new long[] {axis}, true);
    return List.of(gr.sub(g.get(0), gr.mul(gr.exp(y), s)));
  }

  /** Axes a Reduce* node reduces over (normalised, sorted), or null for "none" (no-op). */
  private static long[] reducedAxes(Backward b, Node n) {
    int rank = n.input(0).rank();
    long[] axes = null;
    if (n.inputs().size() > 1) {
      Tensor c = constantOf(b.g, n.input(1));
      if (c == null) {
        throw new IllegalArgumentException(
            n.op().onnxName() + " node '" + n.name() + "': axes must be a constant");
      }
      axes = c.toLongs();
    }
    if (axes == null || axes.length == 0) {
      if (n.intAttr("noop_with_empty_axes", 0) != 0) {
        return null;
      }
      axes = new long[rank];
      for (int i = 0; i < rank; i++) {
        axes[i] = i;
      }
    }
    long[] norm = new long[axes.length];
    for (int i = 0; i < axes.length; i++) {
      norm[i] = Backward.axis(axes[i], rank);
    }
    Arrays.sort(norm);
    return norm;
  }

  /** The tensor of a Constant node output or an initializer, or null. */
  static Tensor constantOf(Graph g, Value v) {
    Node p = g.producer(v);
    if (p != null && p.op() == Op.CONSTANT) {
      return ((dev.im4j.onnx.graph.Attribute.TensorValue) p.attributes().get("value")).value();
    }
    return p == null ? g.initializers().get(v) : null;
  }

  // y = reduce_sum(x): gx = expand(g with reduced axes kept); mean also divides by the count
  private static List<Value> reduce(Backward b, Node n, Value gy, boolean mean) {
    Graph gr = b.g;
    Value x = n.input(0);
    long[] axes = reducedAxes(b, n);
    if (axes == null) {
      return firstOnly(n, gy);
    }
    Value gk = n.intAttr("keepdims", 1) != 0 ? gy : gr.unsqueeze(gy, axes);
    Value gx = gr.expand(gk, b.shapeOf(x));
    if (mean) {
      Value count;
      if (x.shape().isStatic()) {
        long c = 1;
        for (long a : axes) {
          c *= x.shape().dim((int) a).size();
        }
        count = b.scalarLike(x, c);
      } else {
        count = gr.cast(gr.div(gr.size(x), gr.size(n.output(0))), x.dtype());
      }
      gx = gr.div(gx, count);
    }
    return firstOnly(n, gx);
  }

  /**
   * y = reduce_max(x): g goes to the maximal elements, split equally among ties (as PyTorch's amax
   * does).
   */
  private static List<Value> reduceMax(Backward b, Node n, List<Value> g, boolean[] need) {
    Graph gr = b.g;
    Value x = n.input(0);
    long[] axes = reducedAxes(b, n);
    if (axes == null) {
      return firstOnly(n, g.get(0));
    }
    boolean keep = n.intAttr("keepdims", 1) != 0;
    Value yk = keep ? n.output(0) : gr.unsqueeze(n.output(0), axes); // reduced axes kept
    Value gk = keep ? g.get(0) : gr.unsqueeze(g.get(0), axes);
    Value hit = gr.cast(gr.equal(x, yk), x.dtype()); // like x, 1 at maxima
    Value ties = gr.reduceSum(hit, axes, true); // >= 1
    return firstOnly(n, gr.mul(hit, gr.div(gk, ties)));
  }

  /** y = gather_elements(data, ids, axis): gdata = scatter-add of g at the normalised ids. */
  private static List<Value> gatherElements(Backward b, Node n, List<Value> g, boolean[] need) {
    Graph gr = b.g;
    Value data = n.input(0);
    Value ids = n.input(1);
    int axis = Backward.axis(n.intAttr("axis", 0), data.rank());
    var rowsDim = data.shape().dim(axis);
    Value rows =
        rowsDim.isStatic()
            ? gr.scalar(DType.INT64, rowsDim.size())
            : gr.squeeze(gr.shape(data, axis, axis + 1), 0); // scalar
    Value normalised = gr.where(gr.less(ids, gr.scalar(DType.INT64, 0)), gr.add(ids, rows), ids);
    Value grad = gr.scatterElements(b.zerosLike(data), normalised, g.get(0), axis, "add");
    return Arrays.asList(grad, null);
  }

  // y = (x - mean) * inv * scale + bias over axes [axis, rank)
  private static List<Value> layerNorm(Backward b, Node n, List<Value> g, boolean[] need) {
    for (int i = 1; i < g.size(); i++) {
      if (g.get(i) != null) {
        throw new IllegalArgumentException(
            "LayerNormalization node '"
                + n.name()
                + "': gradients through the Mean / InvStdDev outputs are not supported");
      }
    }
    Graph gr = b.g;
    Value x = n.input(0);
    Value scale = n.input(1);
    int rank = x.rank();
    int axis = Backward.axis(n.intAttr("axis", -1), rank);
    long[] axes = new long[rank - axis];
    for (int i = 0; i < axes.length; i++) {
      axes[i] = axis + i;
    }
    Value mean;
    Value inv;
    if (n.outputs().size() == 3 && n.output(1).dtype() == x.dtype()) {
      // reuse the forward statistics when they were stashed at full precision
      mean = n.output(1);
      inv = n.output(2);
    } else {
      mean = gr.reduceMean(x, axes, true);
      Value xc = gr.sub(x, mean);
      Value var = gr.reduceMean(gr.mul(xc, xc), axes, true);
      double eps = n.floatAttr("epsilon", 1e-5f);
      inv = gr.reciprocal(gr.sqrt(gr.add(var, b.scalarLike(x, eps))));
    }
    Value gy = g.get(0);
    Value xhat = gr.mul(gr.sub(x, mean), inv);
    List<Value> out = new ArrayList<>(Collections.nCopies(n.inputs().size(), null));
    if (need[0]) {
      Value gxhat = gr.mul(gy, scale);
      Value m1 = gr.reduceMean(gxhat, axes, true);
      Value m2 = gr.reduceMean(gr.mul(gxhat, xhat), axes, true);
      out.set(0, gr.mul(inv, gr.sub(gr.sub(gxhat, m1), gr.mul(xhat, m2))));
    }
    if (need[1]) {
      out.set(1, b.unbroadcast(gr.mul(gy, xhat), scale));
    }
    if (n.inputs().size() > 2 && need[2]) {
      out.set(2, b.unbroadcast(gy, n.input(2)));
    }
    return out;
  }

  // y = concat(x_i, axis): gx_i = the matching piece of g
  private static List<Value> concat(Backward b, Node n, List<Value> g, boolean[] need) {
    Graph gr = b.g;
    int rank = n.input(0).rank();
    long axis = Backward.axis(n.intAttr("axis", 0), rank);
    if (n.inputs().size() == 1) {
      return List.of(g.get(0));
    }
    boolean allStatic = true;
    long[] sizes = new long[n.inputs().size()];
    List<Value> dynamic = new ArrayList<>();
    for (int i = 0; i < sizes.length; i++) {
      var d = n.input(i).shape().dim((int) axis);
      allStatic &= d.isStatic();
      sizes[i] = d.size();
      dynamic.add(d.isStatic() ? gr.longs(d.size()) : gr.shape(n.input(i), axis, axis + 1));
    }
    Value sizeValue = allStatic ? gr.longs(sizes) : gr.concat(0, dynamic);
    List<Value> pieces = gr.split(g.get(0), axis, sizeValue, sizes.length);
    List<Value> out = new ArrayList<>();
    for (int i = 0; i < sizes.length; i++) {
      out.add(need[i] ? b.reshapeLike(pieces.get(i), n.input(i)) : null);
    }
    return out;
  }

  // y_k = split(x): gx = concat(g_k), zeros for outputs without adjoint
  private static List<Value> split(Backward b, Node n, List<Value> g, boolean[] need) {
    Graph gr = b.g;
    List<Value> parts = new ArrayList<>();
    for (int k = 0; k < g.size(); k++) {
      parts.add(g.get(k) != null ? g.get(k) : b.zerosLike(n.output(k)));
    }
    int rank = n.input(0).rank();
    Value gx = gr.concat(Backward.axis(n.intAttr("axis", 0), rank), parts);
    return firstOnly(n, b.reshapeLike(gx, n.input(0)));
  }

  /**
   * y = slice(x): scatters g into zeros at the flat positions the same slice selects from an index
   * tensor shaped like x, which covers any starts, ends, axes and negative steps.
   */
  private static List<Value> slice(Backward b, Node n, List<Value> g, boolean[] need) {
    Graph gr = b.g;
    Value x = n.input(0);
    Value count = gr.size(x); // scalar
    Value flat = gr.range(gr.scalar(DType.INT64, 0), count, gr.scalar(DType.INT64, 1)); // [numel]
    Value positions = gr.reshape(flat, b.shapeOf(x)); // shaped like x
    List<Value> in = new ArrayList<>(n.inputs());
    in.set(0, positions);
    Value picked = gr.apply(Op.SLICE, in, Map.of(), 1).output(0); // shaped like y
    Value indices = gr.reshape(picked, -1, 1); // [numel(y), 1]
    Value updates = gr.reshape(g.get(0), -1); // [numel(y)]
    Value zeros =
        gr.constantOfShape(
            gr.unsqueeze(count, 0), Tensor.filled(x.dtype(), new long[] {1}, 0.0)); // [numel]
    Value scattered = gr.scatterNd(zeros, indices, updates, "add");
    return firstOnly(n, b.reshapeLike(scattered, x));
  }

  // y = where(c, a, b): ga = unb(where(c, g, 0)), gb = unb(where(c, 0, g))
  private static List<Value> where(Backward b, Node n, List<Value> g, boolean[] need) {
    Graph gr = b.g;
    Value gy = g.get(0);
    Value c = n.input(0);
    Value zero = b.scalarLike(gy, 0);
    return Arrays.asList(
        null,
        need[1] ? b.unbroadcast(gr.where(c, gy, zero), n.input(1)) : null,
        need[2] ? b.unbroadcast(gr.where(c, zero, gy), n.input(2)) : null);
  }

  /**
   * y = gather(data, ids, axis): gdata = scatter-add of the slices of g into zeros at ids, after
   * normalising negative ids to ids + V. For axis a > 0 the indexed axis is moved to the front
   * (data) and the ids axes of g likewise, then moved back.
   */
  private static List<Value> gather(Backward b, Node n, List<Value> g, boolean[] need) {
    Graph gr = b.g;
    Value data = n.input(0);
    Value ids = n.input(1);
    int r = data.rank();
    int q = ids.rank();
    int axis = Backward.axis(n.intAttr("axis", 0), r);
    Value gy = g.get(0); // data[:axis] + ids + data[axis+1:]
    Value target = data;
    long[] dataPerm = null;
    if (axis != 0) {
      dataPerm = new long[r];
      dataPerm[0] = axis;
      for (int i = 1; i < r; i++) {
        dataPerm[i] = i <= axis ? i - 1 : i;
      }
      target = gr.transpose(data, dataPerm); // [V, data[:axis], data[axis+1:]]
      long[] gradPerm = new long[gy.rank()];
      int k = 0;
      for (int i = 0; i < q; i++) {
        gradPerm[k++] = axis + i;
      }
      for (int i = 0; i < axis; i++) {
        gradPerm[k++] = i;
      }
      for (int i = axis + q; i < gy.rank(); i++) {
        gradPerm[k++] = i;
      }
      gy = gr.transpose(gy, gradPerm); // ids + data[:axis] + data[axis+1:]
    }
    var rowsDim = data.shape().dim(axis);
    Value rows =
        rowsDim.isStatic()
            ? gr.scalar(DType.INT64, rowsDim.size())
            : gr.squeeze(gr.shape(data, axis, axis + 1), 0); // scalar V
    Value normalised = gr.where(gr.less(ids, gr.scalar(DType.INT64, 0)), gr.add(ids, rows), ids);
    Value indices = gr.unsqueeze(normalised, q); // ids.shape + [1]
    Value grad = gr.scatterNd(b.zerosLike(target), indices, gy, "add");
    if (dataPerm != null) {
      grad = gr.transpose(grad, Backward.inverse(dataPerm));
    }
    return Arrays.asList(grad, null);
  }
}
