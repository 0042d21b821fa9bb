package dev.im4j.bench.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.graph.OnnxIo;
import dev.im4j.onnx.graph.Shape;
import dev.im4j.onnx.graph.Value;
import dev.im4j.onnx.runtime.Ort;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Locale;
import java.util.Map;

/**
 * Whether ONNX Runtime's CPU kernels would make half precision pay: an n x n product as MatMul and
 * as Gemm in FLOAT, FLOAT16 and BFLOAT16, 2 intra-op threads, one warm-up run and the mean of five
 * timed runs, printed as GFLOP/s (or the error where there is no kernel). Why a LoRA base held in
 * half precision is widened to float32 before its products (docs/runtimes.md).
 *
 * <p>Run: {@code java -cp benchmarks/onnx/target/benchmarks-onnx.jar
 * dev.im4j.bench.onnx.HalfMatMulBenchmark [n]} (default 2048).
 */
public final class HalfMatMulBenchmark {
  private HalfMatMulBenchmark() {}

  public static void main(String[] args) throws OrtException {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 2048;
    OrtEnvironment env = Ort.environment();
    for (String op : new String[] {"MatMul", "Gemm"}) {
      for (DType t : new DType[] {DType.FLOAT, DType.FLOAT16, DType.BFLOAT16}) {
        Graph g = Graph.create("product");
        Value x = g.input("x", t, Shape.of(n, n));
        g.output(
            "z", op.equals("MatMul") ? g.matMul(x, x) : g.gemm(x, x, null, 1, 0, false, false));
        ByteBuffer b =
            ByteBuffer.allocateDirect(n * n * t.byteSize()).order(ByteOrder.nativeOrder());
        for (int i = 0; i < n * n; i++) {
          switch (t) {
            case FLOAT -> b.putFloat(0.01f);
            case FLOAT16 -> b.putShort((short) 0x2000); // about 0.0078
            default -> b.putShort((short) 0x3c24); // about 0.01
          }
        }
        b.flip();
        OnnxJavaType type =
            t == DType.FLOAT
                ? OnnxJavaType.FLOAT
                : t == DType.FLOAT16 ? OnnxJavaType.FLOAT16 : OnnxJavaType.BFLOAT16;
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions();
            OnnxTensor in = OnnxTensor.createTensor(env, b, new long[] {n, n}, type)) {
          so.setIntraOpNumThreads(2);
          try (OrtSession s = env.createSession(OnnxIo.toBytes(g), so)) {
            Map<String, OnnxTensor> feed = Map.of("x", in);
            s.run(feed).close();
            int reps = 5;
            long start = System.nanoTime();
            for (int r = 0; r < reps; r++) {
              s.run(feed).close();
            }
            double seconds = (System.nanoTime() - start) / 1e9 / reps;
            System.out.printf(
                Locale.ROOT, "%s %s: %.1f GFLOP/s%n", op, t, 2.0 * n * n * n / seconds / 1e9);
          }
        } catch (OrtException e) {
          System.out.printf("%s %s: %s%n", op, t, e.getMessage().lines().findFirst().orElse(""));
        }
      }
    }
  }
}
