package dev.im4j.onnx.bench;

import dev.im4j.onnx.autodiff.Autodiff;
import dev.im4j.onnx.autodiff.WeightedCrossEntropy;
import dev.im4j.onnx.graph.Composite;
import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.graph.Dim;
import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.graph.OnnxIo;
import dev.im4j.onnx.graph.Shape;
import dev.im4j.onnx.graph.Value;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Builds the training graph (forward, weighted cross-entropy, backward) of a LLaMA-like decoder
 * stack and reports build time and node count. Parameters are graph inputs, so no weights are
 * allocated. Usage: {@code DecoderGraphBenchmark [layers] [hidden] [heads] [ffn] [vocab]}.
 */
public final class DecoderGraphBenchmark {
  private DecoderGraphBenchmark() {}

  /** Decoder dimensions. */
  public record Config(int layers, int hidden, int heads, int ffn, int vocab, DType dtype) {
    public Config {
      if (layers < 1 || hidden < 1 || heads < 1 || ffn < 1 || vocab < 1) {
        throw new IllegalArgumentException("all sizes must be >= 1: " + this);
      }
      if (hidden % (2 * heads) != 0) {
        throw new IllegalArgumentException(
            "hidden must be a multiple of 2 * heads but was "
                + hidden
                + " with "
                + heads
                + " heads");
      }
    }
  }

  /**
   * A built training graph.
   *
   * @param forwardNodes nodes before the backward pass was appended
   * @param parameters trainable parameters (graph inputs), with {@code <name>_grad} outputs
   */
  public record Built(Graph graph, List<Value> parameters, int forwardNodes) {}

  /**
   * Builds the training graph. Inputs: ids, targets [B, T] INT64, coefficients [B, T], rope_cos and
   * rope_sin [T, head/2], then the parameters; outputs: loss and one gradient per parameter.
   */
  public static Built build(Config c) {
    DType dt = c.dtype();
    Graph g = Graph.create("decoder_train");
    Dim b = Dim.sym("batch");
    Dim t = Dim.sym("seq");
    int head = c.hidden() / c.heads();
    Value ids = g.input("ids", DType.INT64, Shape.of(b, t));
    Value targets = g.input("targets", DType.INT64, Shape.of(b, t));
    Value coefficients = g.input("coefficients", dt, Shape.of(b, t));
    Value cos = g.input("rope_cos", dt, Shape.of(t, Dim.of(head / 2))); // [T, head/2]
    Value sin = g.input("rope_sin", dt, Shape.of(t, Dim.of(head / 2))); // [T, head/2]
    List<Value> params = new ArrayList<>();
    Value embed = param(g, params, "embed", dt, c.vocab(), c.hidden()); // [V, D], tied
    Value x = g.gather(embed, ids, 0); // [B, T, D]
    Value mask = causalMask(g, x, dt); // [T, T]
    for (int l = 0; l < c.layers(); l++) {
      String p = "layer" + l + ".";
      Value attnNorm = param(g, params, p + "attn_norm", dt, c.hidden()); // [D]
      Value wq = param(g, params, p + "wq", dt, c.hidden(), c.hidden()); // [D, D]
      Value wk = param(g, params, p + "wk", dt, c.hidden(), c.hidden()); // [D, D]
      Value wv = param(g, params, p + "wv", dt, c.hidden(), c.hidden()); // [D, D]
      Value wo = param(g, params, p + "wo", dt, c.hidden(), c.hidden()); // [D, D]
      Value mlpNorm = param(g, params, p + "mlp_norm", dt, c.hidden()); // [D]
      Value wGate = param(g, params, p + "w_gate", dt, c.hidden(), c.ffn()); // [D, F]
      Value wUp = param(g, params, p + "w_up", dt, c.hidden(), c.ffn()); // [D, F]
      Value wDown = param(g, params, p + "w_down", dt, c.ffn(), c.hidden()); // [F, D]

      Value h = Composite.rmsNorm(g, x, attnNorm, 1e-6); // [B, T, D]
      Value q = rope(g, heads(g, g.matMul(h, wq), c.heads()), cos, sin); // [B, H, T, hd]
      Value k = rope(g, heads(g, g.matMul(h, wk), c.heads()), cos, sin); // [B, H, T, hd]
      Value v = heads(g, g.matMul(h, wv), c.heads()); // [B, H, T, hd]
      Value scores =
          g.mul(
              g.matMul(q, g.transpose(k, 0, 1, 3, 2)),
              g.scalar(dt, 1.0 / Math.sqrt(head))); // [B, H, T, T]
      Value probs = g.softmax(g.add(scores, mask), -1); // [B, H, T, T]
      Value ctx = g.reshape(g.transpose(g.matMul(probs, v), 0, 2, 1, 3), 0, 0, -1); // [B, T, D]
      x = g.add(x, g.matMul(ctx, wo));

      Value m = Composite.rmsNorm(g, x, mlpNorm, 1e-6); // [B, T, D]
      Value gate = g.matMul(m, wGate); // [B, T, F]
      Value silu = g.mul(gate, g.sigmoid(gate));
      x = g.add(x, g.matMul(g.mul(silu, g.matMul(m, wUp)), wDown)); // [B, T, D]
    }
    Value finalNorm = param(g, params, "final_norm", dt, c.hidden()); // [D]
    Value logits =
        g.matMul(Composite.rmsNorm(g, x, finalNorm, 1e-6), g.transpose(embed, 1, 0)); // [B,T,V]
    WeightedCrossEntropy.Result ce = WeightedCrossEntropy.build(g, logits, targets, coefficients);
    g.output("loss", ce.loss());
    int forwardNodes = g.nodes().size();
    Map<Value, Value> grads = Autodiff.gradients(g, Map.of(logits, ce.logitsGradient()), params);
    for (Value p : params) {
      g.output(p.name() + "_grad", grads.get(p));
    }
    return new Built(g, List.copyOf(params), forwardNodes);
  }

  private static Value param(Graph g, List<Value> params, String name, DType dt, long... shape) {
    Value v = g.input(name, dt, Shape.of(shape));
    params.add(v);
    return v;
  }

  /** [B, T, D] -> [B, H, T, D/H]. */
  private static Value heads(Graph g, Value x, int heads) {
    return g.transpose(g.reshape(x, 0, 0, heads, -1), 0, 2, 1, 3);
  }

  /** Rotary embedding, rotate-half form: x * cos + rotate_half(x) * sin over [B, H, T, hd]. */
  private static Value rope(Graph g, Value x, Value cos, Value sin) {
    Value c = g.concat(-1, List.of(cos, cos)); // [T, hd]
    Value s = g.concat(-1, List.of(sin, sin)); // [T, hd]
    if (!x.shape().dim(-1).isStatic()) {
      throw new IllegalStateException("head size must be static but shape was " + x.shape());
    }
    long half = x.shape().dim(-1).size() / 2;
    List<Value> halves = g.split(x, -1, half, half); // 2 x [B, H, T, hd/2]
    Value rotated = g.concat(-1, List.of(g.neg(halves.get(1)), halves.get(0)));
    return g.add(g.mul(x, c), g.mul(rotated, s));
  }

  /** [T, T] additive mask: 0 where key <= query, a large finite negative elsewhere. */
  private static Value causalMask(Graph g, Value x, DType dt) {
    Value t = g.squeeze(g.shape(x, 1, 2), 0); // scalar T
    Value pos = g.range(g.scalar(DType.INT64, 0), t, g.scalar(DType.INT64, 1)); // [T]
    Value future = g.greater(g.unsqueeze(pos, 0), g.unsqueeze(pos, 1)); // [T, T]
    return g.where(future, g.scalar(dt, -1e9), g.scalar(dt, 0));
  }

  /** Builds a 12-layer (by default) training graph several times and prints the timings. */
  public static void main(String[] args) {
    int[] a = {12, 768, 12, 2048, 32000};
    for (int i = 0; i < Math.min(args.length, a.length); i++) {
      a[i] = Integer.parseInt(args[i]);
    }
    Config c = new Config(a[0], a[1], a[2], a[3], a[4], DType.FLOAT);
    Built built = null;
    long[] nanos = new long[7];
    for (int i = 0; i < nanos.length; i++) {
      long t0 = System.nanoTime();
      built = build(c);
      nanos[i] = System.nanoTime() - t0;
    }
    long t0 = System.nanoTime();
    int bytes = OnnxIo.toBytes(built.graph()).length;
    long serialize = System.nanoTime() - t0;
    Arrays.sort(nanos);
    int total = built.graph().nodes().size();
    System.out.printf(
        "decoder training graph %s%n  build: median %.1f ms, min %.1f ms (7 builds)%n"
            + "  nodes: %d total, %d forward + loss, %d backward%n"
            + "  parameters: %d; serialized %d bytes in %.1f ms%n",
        c,
        nanos[3] / 1e6,
        nanos[0] / 1e6,
        total,
        built.forwardNodes(),
        total - built.forwardNodes(),
        built.parameters().size(),
        bytes,
        serialize / 1e6);
  }
}
