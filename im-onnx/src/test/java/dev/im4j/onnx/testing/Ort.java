package dev.im4j.onnx.testing;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.graph.Graph;
import dev.im4j.onnx.graph.OnnxIo;
import dev.im4j.onnx.graph.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Runs graphs on ONNX Runtime CPU (basic graph optimisation) for tests. */
public final class Ort implements AutoCloseable {
  private static final OrtEnvironment ENV = dev.im4j.onnx.runtime.TestNatives.environment();
  private final OrtSession session;

  private Ort(OrtSession session) {
    this.session = session;
  }

  /** A session for {@code graph}; fails the test with ORT's message if it does not load. */
  public static Ort session(Graph graph) {
    try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
      opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.BASIC_OPT);
      opts.setIntraOpNumThreads(1);
      return new Ort(ENV.createSession(OnnxIo.toBytes(graph), opts));
    } catch (OrtException e) {
      throw new AssertionError("ONNX Runtime rejected graph " + graph.name() + ": " + e, e);
    }
  }

  /**
   * Op type -> node count of {@code graph} as ONNX Runtime runs it after all its graph
   * optimisations (the level the trainer uses), read from the optimised model ORT writes.
   */
  public static Map<String, Integer> optimizedOpCounts(Graph graph, java.nio.file.Path dir) {
    java.nio.file.Path file = dir.resolve(graph.name() + ".optimized.onnx");
    try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
      opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      opts.setIntraOpNumThreads(1);
      opts.setOptimizedModelFilePath(file.toString());
      ENV.createSession(OnnxIo.toBytes(graph), opts).close();
      Map<String, Integer> counts = new java.util.TreeMap<>();
      for (ai.onnx.proto.OnnxMl.NodeProto n :
          ai.onnx.proto.OnnxMl.ModelProto.parseFrom(java.nio.file.Files.readAllBytes(file))
              .getGraph()
              .getNodeList()) {
        counts.merge(n.getOpType(), 1, Integer::sum);
      }
      return counts;
    } catch (OrtException | java.io.IOException e) {
      throw new AssertionError("ONNX Runtime could not optimise " + graph.name() + ": " + e, e);
    }
  }

  /** A session for a model file (external data resolved beside it). */
  public static Ort session(java.nio.file.Path model) {
    try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
      opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.BASIC_OPT);
      return new Ort(ENV.createSession(model.toString(), opts));
    } catch (OrtException e) {
      throw new AssertionError("ONNX Runtime rejected model " + model + ": " + e, e);
    }
  }

  /** Input names of the session. */
  public java.util.Set<String> inputNames() {
    return session.getInputNames();
  }

  /** Output names of the session. */
  public java.util.Set<String> outputNames() {
    return session.getOutputNames();
  }

  /** Runs with the given inputs (by name); returns every requested output as doubles. */
  public Map<String, double[]> run(Map<String, Tensor> inputs, List<String> outputs) {
    Map<String, OnnxTensor> feed = new LinkedHashMap<>();
    try {
      for (Map.Entry<String, Tensor> e : inputs.entrySet()) {
        feed.put(e.getKey(), tensor(e.getValue()));
      }
      try (OrtSession.Result r = session.run(feed, new java.util.HashSet<>(outputs))) {
        Map<String, double[]> out = new HashMap<>();
        for (String name : outputs) {
          OnnxValue v = r.get(name).orElseThrow(() -> new AssertionError("no output " + name));
          out.put(name, doubles((OnnxTensor) v));
        }
        return out;
      }
    } catch (OrtException e) {
      throw new AssertionError("ONNX Runtime run failed: " + e, e);
    } finally {
      feed.values().forEach(OnnxTensor::close);
    }
  }

  /** Runs with the given inputs; returns the dimensions of every requested output. */
  public Map<String, long[]> shapes(Map<String, Tensor> inputs, List<String> outputs) {
    Map<String, OnnxTensor> feed = new LinkedHashMap<>();
    try {
      for (Map.Entry<String, Tensor> e : inputs.entrySet()) {
        feed.put(e.getKey(), tensor(e.getValue()));
      }
      try (OrtSession.Result r = session.run(feed, new java.util.HashSet<>(outputs))) {
        Map<String, long[]> out = new HashMap<>();
        for (String name : outputs) {
          OnnxValue v = r.get(name).orElseThrow(() -> new AssertionError("no output " + name));
          out.put(name, ((OnnxTensor) v).getInfo().getShape());
        }
        return out;
      }
    } catch (OrtException e) {
      throw new AssertionError("ONNX Runtime run failed: " + e, e);
    } finally {
      feed.values().forEach(OnnxTensor::close);
    }
  }

  private static OnnxTensor tensor(Tensor t) throws OrtException {
    ByteBuffer direct =
        ByteBuffer.allocateDirect(t.data().remaining()).order(ByteOrder.nativeOrder());
    ByteBuffer src = t.data();
    switch (t.dtype()) {
      case FLOAT -> {
        while (src.hasRemaining()) {
          direct.putFloat(src.getFloat());
        }
      }
      case DOUBLE -> {
        while (src.hasRemaining()) {
          direct.putDouble(src.getDouble());
        }
      }
      case INT64 -> {
        while (src.hasRemaining()) {
          direct.putLong(src.getLong());
        }
      }
      default -> direct.put(src);
    }
    direct.flip();
    OnnxJavaType jt =
        switch (t.dtype()) {
          case FLOAT -> OnnxJavaType.FLOAT;
          case DOUBLE -> OnnxJavaType.DOUBLE;
          case INT64 -> OnnxJavaType.INT64;
          case BOOL -> OnnxJavaType.BOOL;
          case FLOAT16 -> OnnxJavaType.FLOAT16;
          case BFLOAT16 -> OnnxJavaType.BFLOAT16;
          default -> throw new IllegalArgumentException("test runner cannot feed " + t.dtype());
        };
    return OnnxTensor.createTensor(ENV, direct, t.dims(), jt);
  }

  private static double[] doubles(OnnxTensor t) {
    long n = t.getInfo().getNumElements();
    double[] out = new double[(int) n];
    switch (t.getInfo().type) {
      case FLOAT -> {
        var b = t.getFloatBuffer();
        for (int i = 0; i < n; i++) {
          out[i] = b.get(i);
        }
      }
      case DOUBLE -> {
        var b = t.getDoubleBuffer();
        for (int i = 0; i < n; i++) {
          out[i] = b.get(i);
        }
      }
      case INT64 -> {
        var b = t.getLongBuffer();
        for (int i = 0; i < n; i++) {
          out[i] = b.get(i);
        }
      }
      default -> throw new IllegalArgumentException("test runner cannot read " + t.getInfo().type);
    }
    return out;
  }

  /** A tensor of {@code dtype} holding {@code values}. */
  public static Tensor tensor(DType dtype, long[] dims, double[] values) {
    if (dtype == DType.DOUBLE) {
      return Tensor.ofDoubles(dims, values);
    }
    float[] f = new float[values.length];
    for (int i = 0; i < f.length; i++) {
      f[i] = (float) values[i];
    }
    return Tensor.ofFloats(dims, f);
  }

  @Override
  public void close() {
    try {
      session.close();
    } catch (OrtException e) {
      throw new AssertionError(e);
    }
  }
}
