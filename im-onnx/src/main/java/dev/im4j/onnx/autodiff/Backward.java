package dev.im4j.onnx.autodiff;

import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.graph.Dim;
import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.graph.Node;
import dev.im4j.onnx.graph.Op;
import dev.im4j.onnx.graph.Shape;
import dev.im4j.onnx.graph.Tensor;
import dev.im4j.onnx.graph.Value;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Helpers the gradient rules share: constants, zeros, sums, unbroadcasting. */
final class Backward {
  final Graph g;
  private final Map<String, Value> scalars = new HashMap<>();
  private final Map<Value, Value> shapes = new HashMap<>();

  Backward(Graph g) {
    this.g = g;
  }

  /** A rank-0 constant of the dtype of {@code like}; one node per dtype and value. */
  Value scalarLike(Value like, double v) {
    return scalars.computeIfAbsent(
        like.dtype() + ":" + Double.doubleToLongBits(v), k -> g.scalar(like.dtype(), v));
  }

  /** Zeros with the dtype and shape of {@code v}. */
  Value zerosLike(Value v) {
    return g.constantOfShape(shapeOf(v), Tensor.filled(v.dtype(), new long[] {1}, 0.0));
  }

  /** The shape of {@code v} as a 1-D INT64 value: a constant when static. */
  Value shapeOf(Value v) {
    return shapes.computeIfAbsent(
        v, k -> k.shape().isStatic() ? g.longs(k.shape().sizes()) : g.shape(k));
  }

  /**
   * {@code v} as the backward pass should read it: a float32 widening of a half-precision graph
   * input ({@code Cast(w)}, {@code w} FLOAT16 or BFLOAT16: a frozen base weight held in half
   * precision) is widened again here instead of being kept alive from the forward pass, which would
   * hold a float32 copy of every such weight at the start of the backward pass. The new Cast reads
   * {@code w} through a Reshape to its own shape, so that ONNX Runtime's common-subexpression
   * elimination does not merge it back into the forward Cast. Any other value is returned as is.
   */
  Value reread(Value v) {
    Node cast = g.producer(v);
    if (cast == null || cast.op() != Op.CAST || v.dtype() != DType.FLOAT) {
      return v;
    }
    Value w = cast.input(0);
    if (g.producer(w) != null || (w.dtype() != DType.FLOAT16 && w.dtype() != DType.BFLOAT16)) {
      return v;
    }
    return g.cast(g.reshape(w, shapeOf(w)), DType.FLOAT);
  }

  /** Sum of gradient contributions (one value is returned as is). */
  Value sum(List<Value> terms) {
    if (terms.size() == 1) {
      return terms.get(0);
    }
    return g.sum(terms);
  }

  /** {@code grad} reshaped to the shape of {@code x} (same element count). */
  Value reshapeLike(Value grad, Value x) {
    return g.reshapeLiteral(grad, shapeOf(x));
  }

  /**
   * Sums {@code grad} (shaped like a broadcast result) down to the shape of {@code target}, the
   * operand that was broadcast: leading axes are summed away, and axes where the operand is 1 but
   * the result is not are summed with keepdims.
   *
   * <p>Symbolic operand dimensions are assumed not to be broadcast (a named symbol such as {@code
   * batch} is never 1 where the result is larger). Where an operand dimension is unknown the
   * decision is taken at run time: the axis-summed gradient is selected when the operand's size is
   * 1, then sliced to the operand's size.
   */
  Value unbroadcast(Value grad, Value target) {
    Shape gs = grad.shape();
    Shape ts = target.shape();
    int lead = gs.rank() - ts.rank();
    if (lead < 0) {
      throw new IllegalStateException(
          "gradient " + grad + " has lower rank than operand " + target);
    }
    List<Long> axes = new ArrayList<>();
    List<Integer> dynamic = new ArrayList<>();
    for (int i = 0; i < lead; i++) {
      axes.add((long) i);
    }
    for (int i = 0; i < ts.rank(); i++) {
      Dim td = ts.dim(i);
      Dim gd = gs.dim(i + lead);
      if (td.equals(gd)) {
        continue;
      }
      if (td.isStatic() && td.size() == 1) {
        axes.add((long) (i + lead));
      } else if (td.isUnknown() && gd.size() != 1) {
        dynamic.add(i);
      }
    }
    Value r = grad;
    if (!axes.isEmpty()) {
      long[] ax = axes.stream().mapToLong(Long::longValue).toArray();
      r = g.reduceSum(r, ax, true);
    }
    for (int i : dynamic) {
      long axis = i + lead;
      Value summed = g.reduceSum(r, new long[] {axis}, true); // size 1 on axis
      Value size = g.shape(target, i, i + 1); // [1]
      Value isOne = g.equal(size, g.longs(1)); // [1]
      Value chosen = g.where(isOne, summed, r); // broadcast back to r's size on axis
      r = g.slice(chosen, g.longs(0), size, g.longs(axis), g.longs(1)); // operand size
    }
    if (lead > 0 && !axes.isEmpty()) {
      long[] leading = new long[lead];
      for (int i = 0; i < lead; i++) {
        leading[i] = i;
      }
      r = g.squeeze(r, leading);
    }
    return r;
  }

  /** The inverse of a permutation. */
  static long[] inverse(long[] perm) {
    long[] inv = new long[perm.length];
    for (int i = 0; i < perm.length; i++) {
      inv[(int) perm[i]] = i;
    }
    return inv;
  }

  /** Normalises a possibly negative axis. */
  static int axis(long axis, int rank) {
    return (int) (axis < 0 ? axis + rank : axis);
  }
}
