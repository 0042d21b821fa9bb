package dev.im4j.onnx.graph;

/**
 * Layers that opset 18 lacks as single ops, written as compositions of supported ops so that
 * autodiff differentiates them through the primitive rules.
 */
public final class Composite {
  private Composite() {}

  /** Exact GELU: {@code 0.5 x (1 + erf(x / sqrt 2))}. */
  public static Value geluExact(Graph g, Value x) {
    Value inner = g.erf(g.mul(x, g.scalar(x.dtype(), 1.0 / Math.sqrt(2.0))));
    return g.mul(g.mul(x, g.scalar(x.dtype(), 0.5)), g.add(inner, g.scalar(x.dtype(), 1.0)));
  }

  /** Tanh-approximated GELU: {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}. */
  public static Value geluTanh(Graph g, Value x) {
    Value cube = g.mul(g.mul(x, x), x);
    Value inner =
        g.mul(
            g.add(x, g.mul(cube, g.scalar(x.dtype(), 0.044715))),
            g.scalar(x.dtype(), Math.sqrt(2.0 / Math.PI)));
    return g.mul(
        g.mul(x, g.scalar(x.dtype(), 0.5)), g.add(g.tanh(inner), g.scalar(x.dtype(), 1.0)));
  }

  /**
   * RMS normalisation over the last axis (LLaMA): {@code x / sqrt(mean(x^2) + eps) * weight}.
   *
   * @param x [..., hidden]
   * @param weight [hidden]
   */
  public static Value rmsNorm(Graph g, Value x, Value weight, double epsilon) {
    Value meanSquare = g.reduceMean(g.mul(x, x), new long[] {-1}, true); // [..., 1]
    Value inv = g.reciprocal(g.sqrt(g.add(meanSquare, g.scalar(x.dtype(), epsilon))));
    return g.mul(g.mul(x, inv), weight);
  }
}
