package dev.im4j.onnx.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.im4j.onnx.autodiff.Autodiff;
import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.graph.Dim;
import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.graph.OnnxIo;
import dev.im4j.onnx.graph.Shape;
import dev.im4j.onnx.graph.Tensor;
import dev.im4j.onnx.graph.Value;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Finite-difference gradient check: builds {@code loss = Σ y ⊙ r} (r random and fixed) over a
 * forward graph y = f(x...), differentiates it with {@link Autodiff}, and compares the gradient
 * outputs from ONNX Runtime with central differences of the loss.
 */
public final class GradCheck {

  /** One differentiated input: shape and the interval its values are drawn from. */
  public record In(long[] shape, double lo, double hi) {
    public static In of(long... shape) {
      return new In(shape, -1.5, 1.5);
    }

    public static In positive(long... shape) {
      return new In(shape, 0.5, 2.0);
    }
  }

  /** Builds the forward output from the differentiated inputs. */
  @FunctionalInterface
  public interface Forward {
    Value build(Graph g, List<Value> xs, Random rnd);
  }

  private GradCheck() {}

  /**
   * Runs the check in {@code dtype} (tolerances follow the dtype) twice: with static input shapes,
   * and with every input dimension above 1 declared symbolic, so the rules' dynamic shape paths run
   * too.
   */
  public static void check(String name, DType dtype, long seed, Forward f, In... ins) {
    long[] yDims = checkOnce(name, dtype, seed, f, ins, null);
    checkOnce(name + " (symbolic)", dtype, seed, f, ins, yDims);
  }

  private static Shape symbolic(long[] dims) {
    List<Dim> d = new ArrayList<>();
    for (long x : dims) {
      d.add(x == 1 ? Dim.of(1) : Dim.sym("n" + x));
    }
    return new Shape(d);
  }

  /** One check; {@code staticYDims} null for static inputs, else the output dims. */
  private static long[] checkOnce(
      String name, DType dtype, long seed, Forward f, In[] ins, long[] staticYDims) {
    Random rnd = new Random(seed);
    Graph g = Graph.create(name.replace(' ', '_'));
    List<Value> xs = new ArrayList<>();
    for (int i = 0; i < ins.length; i++) {
      Shape shape = staticYDims == null ? Shape.of(ins[i].shape()) : symbolic(ins[i].shape());
      xs.add(g.input("x" + i, dtype, shape));
    }
    Value y = f.build(g, xs, rnd);
    if (staticYDims == null && !y.shape().isStatic()) {
      throw new IllegalStateException("gradient checks need a static output shape: " + y);
    }
    long[] yDims = staticYDims == null ? y.shape().sizes() : staticYDims;
    double[] r = uniform(rnd, count(yDims), -1, 1);
    Value rv = g.input("r", dtype, Shape.of(yDims));
    long[] all = new long[yDims.length];
    Arrays.setAll(all, i -> i);
    Value loss = yDims.length == 0 ? g.mul(y, rv) : g.reduceSum(g.mul(y, rv), all, false); // []
    g.output("loss", loss);
    Map<Value, Value> grads = Autodiff.gradients(g, loss, xs);
    List<String> gradNames = new ArrayList<>();
    for (int i = 0; i < xs.size(); i++) {
      gradNames.add(g.output("grad_x" + i, grads.get(xs.get(i))).name());
    }

    byte[] bytes = OnnxIo.toBytes(g);
    assertArrayEquals(bytes, OnnxIo.toBytes(OnnxIo.fromBytes(bytes)), name + " round trip");

    Map<String, Tensor> feed = new LinkedHashMap<>();
    List<double[]> xv = new ArrayList<>();
    for (int i = 0; i < ins.length; i++) {
      double[] v = uniform(rnd, count(ins[i].shape()), ins[i].lo(), ins[i].hi());
      xv.add(v);
      feed.put("x" + i, Ort.tensor(dtype, ins[i].shape(), v));
    }
    feed.put("r", Ort.tensor(dtype, yDims, r));

    boolean dbl = dtype == DType.DOUBLE;
    double h = dbl ? 1e-6 : 1e-2;
    double atol = dbl ? 1e-6 : 5e-3;
    double rtol = dbl ? 1e-5 : 3e-2;
    try (Ort ort = Ort.session(g)) {
      Map<String, double[]> out = ort.run(feed, gradNames);
      for (int i = 0; i < xs.size(); i++) {
        double[] analytic = out.get(gradNames.get(i));
        double[] v = xv.get(i);
        assertEquals(v.length, analytic.length, name + " gradient element count");
        for (int j = 0; j < v.length; j++) {
          double keep = v[j];
          v[j] = keep + h;
          double plus = lossAt(ort, feed, i, ins[i].shape(), v, dtype);
          v[j] = keep - h;
          double minus = lossAt(ort, feed, i, ins[i].shape(), v, dtype);
          v[j] = keep;
          double numeric = (plus - minus) / (2 * h);
          if (Math.abs(analytic[j] - numeric) > atol + rtol * Math.abs(numeric)) {
            fail(
                name
                    + ": d loss / d x"
                    + i
                    + "["
                    + j
                    + "] analytic "
                    + analytic[j]
                    + " vs numeric "
                    + numeric
                    + " (input shapes "
                    + shapes(ins)
                    + ", output "
                    + y.shape()
                    + ")");
          }
        }
        feed.put("x" + i, Ort.tensor(dtype, ins[i].shape(), v));
      }
    }
    return yDims;
  }

  private static double lossAt(
      Ort ort, Map<String, Tensor> feed, int i, long[] shape, double[] v, DType dtype) {
    Map<String, Tensor> f = new HashMap<>(feed);
    f.put("x" + i, Ort.tensor(dtype, shape, v));
    return ort.run(f, List.of("loss")).get("loss")[0];
  }

  private static String shapes(In[] ins) {
    List<String> s = new ArrayList<>();
    for (In in : ins) {
      s.add(Arrays.toString(in.shape()));
    }
    return s.toString();
  }

  /** Element count of a static shape. */
  public static int count(long[] shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return (int) n;
  }

  /** Uniform values in [lo, hi). */
  public static double[] uniform(Random rnd, int n, double lo, double hi) {
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = lo + (hi - lo) * rnd.nextDouble();
    }
    return v;
  }

  /** A random shape of rank in [minRank, maxRank], dims in [1, maxDim]. */
  public static long[] shape(Random rnd, int minRank, int maxRank, int maxDim) {
    long[] s = new long[minRank + rnd.nextInt(maxRank - minRank + 1)];
    for (int i = 0; i < s.length; i++) {
      s[i] = 1 + rnd.nextInt(maxDim);
    }
    return s;
  }

  /** A shape that broadcasts to {@code full}: some leading axes dropped, some dims set to 1. */
  public static long[] broadcastable(Random rnd, long[] full) {
    int drop = rnd.nextInt(full.length + 1);
    long[] s = Arrays.copyOfRange(full, drop, full.length);
    for (int i = 0; i < s.length; i++) {
      if (rnd.nextInt(3) == 0) {
        s[i] = 1;
      }
    }
    return s;
  }
}
