package dev.im4j.onnx.autodiff;

import dev.im4j.onnx.graph.Composite;
import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.graph.Tensor;
import dev.im4j.onnx.graph.Value;
import dev.im4j.onnx.testing.GradCheck;
import dev.im4j.onnx.testing.GradCheck.In;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * One pre-norm attention block with a causal mask (large finite negative, built from a constant
 * Shape/Range subgraph) and a residual connection: every weight's gradient against finite
 * differences.
 */
class AttentionGradientTest {
  static final int B = 2;
  static final int T = 3;
  static final int D = 4;
  static final int H = 2;

  /** x [B, T, D], gamma [D], wq wk wv wo [D, D] -> x + attention(rmsNorm(x)) @ wo, [B, T, D]. */
  static Value block(Graph g, List<Value> in) {
    Value x = in.get(0);
    Value gamma = in.get(1);
    Value h = Composite.rmsNorm(g, x, gamma, 1e-6); // [B, T, D]
    Value q = heads(g, g.matMul(h, in.get(2))); // [B, H, T, D/H]
    Value k = heads(g, g.matMul(h, in.get(3)));
    Value v = heads(g, g.matMul(h, in.get(4)));
    Value scores =
        g.mul(
            g.matMul(q, g.transpose(k, 0, 1, 3, 2)),
            g.scalar(x.dtype(), 1.0 / Math.sqrt((double) D / H))); // [B, H, T, T]
    Value probs = g.softmax(g.add(scores, causalMask(g, x)), -1);
    Value ctx = g.matMul(probs, v); // [B, H, T, D/H]
    Value merged = g.reshape(g.transpose(ctx, 0, 2, 1, 3), 0, 0, -1); // [B, T, D]
    return g.add(x, g.matMul(merged, in.get(5)));
  }

  /** [B, T, D] -> [B, H, T, D/H]. */
  static Value heads(Graph g, Value x) {
    return g.transpose(g.reshape(x, 0, 0, H, -1), 0, 2, 1, 3);
  }

  /** [T, T]: 0 where key <= query, -1e9 elsewhere; no gradient flows through it. */
  static Value causalMask(Graph g, Value x) {
    Value t = g.squeeze(g.shape(x, 1, 2), 0); // scalar T
    Value pos = g.range(g.scalar(DType.INT64, 0), t, g.scalar(DType.INT64, 1)); // [T]
    Value future = g.greater(g.unsqueeze(pos, 0), g.unsqueeze(pos, 1)); // [T, T]
    return g.where(future, g.scalar(x.dtype(), -1e9), g.scalar(x.dtype(), 0));
  }

  @Test
  void attentionBlockGradientsMatchFiniteDifferences() {
    GradCheck.check(
        "attention",
        DType.DOUBLE,
        42,
        (g, xs, r) -> block(g, xs),
        In.of(B, T, D),
        new In(new long[] {D}, 0.5, 1.5),
        In.of(D, D),
        In.of(D, D),
        In.of(D, D),
        In.of(D, D));
  }

  @Test
  void maskBuiltWithTriluNeedsNoGradientAndTiedWeightsSumContributions() {
    // y = softmax(x @ w + triu mask) @ w^T: w is used twice (tied), the mask is constant
    GradCheck.check(
        "tied",
        DType.DOUBLE,
        7,
        (g, xs, r) -> {
          Value s = g.matMul(xs.get(0), xs.get(1)); // [T, T]
          Value ones =
              g.constantOfShape(g.shape(s), Tensor.filled(DType.DOUBLE, new long[] {1}, 1));
          Value upper = g.trilu(ones, true, g.scalar(DType.INT64, 1)); // strictly upper
          Value masked = g.add(s, g.mul(upper, g.scalar(DType.DOUBLE, -1e9)));
          return g.matMul(g.softmax(masked, -1), g.transpose(xs.get(1), 1, 0));
        },
        In.of(T, D),
        In.of(D, T));
  }
}
