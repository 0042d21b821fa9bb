package dev.im4j.onnx.graph;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads and writes {@link Graph}s as ONNX {@code ModelProto}s (IR version 8, default-domain opset
 * {@value Op#OPSET}), through the protobuf binding of the ONNX schema.
 *
 * <p>Weights larger than a threshold go to an external data file beside the model, so no model is
 * ever inlined past protobuf's 2 GB limit. Stateless and thread-safe.
 */
public final class OnnxIo {
  /** ONNX IR version written (the one that goes with opset 18). */
  public static final long IR_VERSION = 8;

  /** Protobuf cannot serialise a message of 2 GB or more; stay clear of it. */
  static final long MAX_INLINE_BYTES = (1L << 31) - (64L << 20);

  private OnnxIo() {}

  /**
   * The model with every initializer inlined.
   *
   * @throws IllegalArgumentException if the initializers exceed protobuf's limit; write with
   *     external data instead
   */
  public static byte[] toBytes(Graph graph) {
    return toBytes(graph, MAX_INLINE_BYTES);
  }

  static byte[] toBytes(Graph graph, long maxInlineBytes) {
    long total = 0;
    for (Tensor t : graph.initializers().values()) {
      total += t.data().remaining();
    }
    if (total > maxInlineBytes) {
      throw new IllegalArgumentException(
          "graph '"
              + graph.name()
              + "' holds "
              + total
              + " bytes of initializers, past protobuf's 2 GB limit; use"
              + " OnnxIo.write(graph, path, threshold) to store weights as external data");
    }
    return toProto(graph, null).toByteArray();
  }

  /**
   * Writes {@code graph} to {@code model}; initializers of at least {@code externalThreshold} bytes
   * go to {@code <model file name>.data} in the same directory.
   *
   * @throws ModelFormatException on I/O failure
   */
  public static void write(Graph graph, Path model, long externalThreshold) {
    Path dir = model.toAbsolutePath().getParent();
    String dataName = model.getFileName() + ".data";
    Path dataFile = dir.resolve(dataName);
    try (FileChannel ch =
        FileChannel.open(
            dataFile,
            StandardOpenOption.CREATE,
            StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING)) {
      ExternalWriter ext = new ExternalWriter(ch, dataName, externalThreshold);
      OnnxMl.ModelProto proto = toProto(graph, ext);
      if (ext.offset == 0) {
        Files.deleteIfExists(dataFile);
      }
      try (OutputStream out = Files.newOutputStream(model)) {
        proto.writeTo(out);
      }
    } catch (IOException e) {
      throw new ModelFormatException("cannot write ONNX model " + model + ": " + e, e);
    }
  }

  /** Reads a model written by {@link #toBytes}; external data is not allowed. */
  public static Graph fromBytes(byte[] bytes) {
    try {
      return fromProto(OnnxMl.ModelProto.parseFrom(bytes), null);
    } catch (InvalidProtocolBufferException e) {
      throw new ModelFormatException("bytes are not an ONNX ModelProto: " + e.getMessage(), e);
    }
  }

  /**
   * Reads a model file, resolving external data relative to its directory.
   *
   * @throws ModelFormatException on I/O failure or malformed protobuf
   * @throws IllegalArgumentException naming the op and node if the graph uses something unsupported
   */
  public static Graph read(Path model) {
    try (InputStream in = Files.newInputStream(model)) {
      return fromProto(OnnxMl.ModelProto.parseFrom(in), model.toAbsolutePath().getParent());
    } catch (IOException e) {
      throw new ModelFormatException("cannot read ONNX model " + model + ": " + e, e);
    }
  }

  // ------------------------------------------------------------------ writing

  private static final class ExternalWriter {
    final FileChannel channel;
    final String location;
    final long threshold;
    long offset;

    ExternalWriter(FileChannel channel, String location, long threshold) {
      this.channel = channel;
      this.location = location;
      this.threshold = threshold;
    }
  }

  static OnnxMl.ModelProto toProto(Graph graph, ExternalWriter ext) {
    OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName(graph.name());
    for (Value v : graph.inputs()) {
      g.addInput(valueInfo(v));
    }
    for (Map.Entry<Value, Tensor> e : graph.initializers().entrySet()) {
      g.addInitializer(tensor(e.getKey().name(), e.getValue(), ext));
    }
    for (Node n : graph.nodes()) {
      OnnxMl.NodeProto.Builder nb =
          OnnxMl.NodeProto.newBuilder().setOpType(n.op().onnxName()).setName(n.name());
      n.inputs().forEach(v -> nb.addInput(v.name()));
      n.outputs().forEach(v -> nb.addOutput(v.name()));
      for (Map.Entry<String, Attribute> a : n.attributes().entrySet()) {
        nb.addAttribute(attribute(a.getKey(), a.getValue()));
      }
      g.addNode(nb);
    }
    for (Value v : graph.outputs()) {
      g.addOutput(valueInfo(v));
    }
    return OnnxMl.ModelProto.newBuilder()
        .setIrVersion(IR_VERSION)
        .setProducerName("im4j")
        .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(Op.OPSET))
        .setGraph(g)
        .build();
  }

  private static OnnxMl.ValueInfoProto valueInfo(Value v) {
    OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
    for (Dim d : v.shape().dims()) {
      OnnxMl.TensorShapeProto.Dimension.Builder db = OnnxMl.TensorShapeProto.Dimension.newBuilder();
      if (d.isStatic()) {
        db.setDimValue(d.size());
      } else if (d.isSymbolic()) {
        db.setDimParam(d.symbol());
      }
      shape.addDim(db);
    }
    return OnnxMl.ValueInfoProto.newBuilder()
        .setName(v.name())
        .setType(
            OnnxMl.TypeProto.newBuilder()
                .setTensorType(
                    OnnxMl.TypeProto.Tensor.newBuilder()
                        .setElemType(v.dtype().onnxCode())
                        .setShape(shape)))
        .build();
  }

  private static OnnxMl.TensorProto tensor(String name, Tensor t, ExternalWriter ext) {
    OnnxMl.TensorProto.Builder b =
        OnnxMl.TensorProto.newBuilder().setDataType(t.dtype().onnxCode());
    if (name != null) {
      b.setName(name);
    }
    for (long d : t.dims()) {
      b.addDims(d);
    }
    ByteBuffer data = t.data();
    if (ext != null && data.remaining() >= ext.threshold && data.remaining() > 0) {
      long length = data.remaining();
      try {
        long pos = ext.offset;
        while (data.hasRemaining()) {
          pos += ext.channel.write(data, pos);
        }
      } catch (IOException e) {
        throw new ModelFormatException(
            "cannot write external data for initializer '" + name + "': " + e, e);
      }
      b.setDataLocation(OnnxMl.TensorProto.DataLocation.EXTERNAL)
          .addExternalData(entry("location", ext.location))
          .addExternalData(entry("offset", Long.toString(ext.offset)))
          .addExternalData(entry("length", Long.toString(length)));
      // keep offsets page aligned so runtimes can memory-map each tensor
      ext.offset = (ext.offset + length + 4095) & ~4095L;
    } else {
      b.setRawData(ByteString.copyFrom(data));
    }
    return b.build();
  }

  private static OnnxMl.StringStringEntryProto entry(String k, String v) {
    return OnnxMl.StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
  }

  private static OnnxMl.AttributeProto attribute(String name, Attribute a) {
    OnnxMl.AttributeProto.Builder b = OnnxMl.AttributeProto.newBuilder().setName(name);
    if (a instanceof Attribute.Int i) {
      b.setType(OnnxMl.AttributeProto.AttributeType.INT).setI(i.value());
    } else if (a instanceof Attribute.Float f) {
      b.setType(OnnxMl.AttributeProto.AttributeType.FLOAT).setF(f.value());
    } else if (a instanceof Attribute.Str s) {
      b.setType(OnnxMl.AttributeProto.AttributeType.STRING)
          .setS(ByteString.copyFromUtf8(s.value()));
    } else if (a instanceof Attribute.Ints is) {
      b.setType(OnnxMl.AttributeProto.AttributeType.INTS);
      for (long x : is.value()) {
        b.addInts(x);
      }
    } else if (a instanceof Attribute.Floats fs) {
      b.setType(OnnxMl.AttributeProto.AttributeType.FLOATS);
      for (float x : fs.value()) {
        b.addFloats(x);
      }
    } else if (a instanceof Attribute.TensorValue tv) {
      b.setType(OnnxMl.AttributeProto.AttributeType.TENSOR).setT(tensor(null, tv.value(), null));
    } else {
      throw new IllegalStateException("unhandled attribute kind " + a);
    }
    return b.build();
  }

  // ------------------------------------------------------------------ reading

  static Graph fromProto(OnnxMl.ModelProto model, Path dir) {
    for (OnnxMl.OperatorSetIdProto os : model.getOpsetImportList()) {
      if (os.getDomain().isEmpty() || os.getDomain().equals("ai.onnx")) {
        if (os.getVersion() < 13 || os.getVersion() > Op.OPSET) {
          throw new IllegalArgumentException(
              "model imports default-domain opset "
                  + os.getVersion()
                  + "; supported: 13 to "
                  + Op.OPSET
                  + " (nodes are interpreted with opset "
                  + Op.OPSET
                  + " semantics)");
        }
      } else {
        throw new IllegalArgumentException(
            "model imports domain '" + os.getDomain() + "'; only the default domain is supported");
      }
    }
    OnnxMl.GraphProto gp = model.getGraph();
    Graph g = Graph.create(gp.getName().isEmpty() ? "graph" : gp.getName());
    Set<String> initNames = new HashSet<>();
    for (OnnxMl.TensorProto t : gp.getInitializerList()) {
      initNames.add(t.getName());
    }
    for (OnnxMl.ValueInfoProto vi : gp.getInputList()) {
      if (!initNames.contains(vi.getName())) {
        OnnxMl.TypeProto.Tensor tt = vi.getType().getTensorType();
        g.input(vi.getName(), DType.fromOnnxCode(tt.getElemType()), shape(tt.getShape()));
      }
    }
    for (OnnxMl.TensorProto t : gp.getInitializerList()) {
      g.initializer(t.getName(), tensor(t, dir));
    }
    Map<String, Value> byName = new HashMap<>();
    g.inputs().forEach(v -> byName.put(v.name(), v));
    g.initializers().keySet().forEach(v -> byName.put(v.name(), v));
    for (OnnxMl.NodeProto np : gp.getNodeList()) {
      if (!np.getDomain().isEmpty() && !np.getDomain().equals("ai.onnx")) {
        throw new IllegalArgumentException(
            "node '" + np.getName() + "' uses domain '" + np.getDomain() + "'; unsupported");
      }
      Op op;
      try {
        op = Op.fromOnnxName(np.getOpType());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("node '" + np.getName() + "': " + e.getMessage(), e);
      }
      List<Value> in = new ArrayList<>();
      for (String name : np.getInputList()) {
        Value v = byName.get(name);
        if (v == null) {
          throw new IllegalArgumentException(
              op.onnxName()
                  + " node '"
                  + np.getName()
                  + "' consumes '"
                  + name
                  + "', which is not defined before it (empty optional inputs and unsorted"
                  + " graphs are not supported)");
        }
        in.add(v);
      }
      Map<String, Attribute> attrs = new HashMap<>();
      for (OnnxMl.AttributeProto ap : np.getAttributeList()) {
        attrs.put(ap.getName(), attribute(ap, np.getName()));
      }
      Node n =
          g.apply(op, in, attrs, np.getOutputList(), np.getName().isEmpty() ? null : np.getName());
      n.outputs().forEach(v -> byName.put(v.name(), v));
    }
    for (OnnxMl.ValueInfoProto vi : gp.getOutputList()) {
      Value v = byName.get(vi.getName());
      if (v == null) {
        throw new IllegalArgumentException("graph output '" + vi.getName() + "' is never defined");
      }
      g.output(v);
    }
    return g;
  }

  private static Shape shape(OnnxMl.TensorShapeProto sp) {
    List<Dim> dims = new ArrayList<>();
    for (OnnxMl.TensorShapeProto.Dimension d : sp.getDimList()) {
      if (d.hasDimValue()) {
        dims.add(Dim.of(d.getDimValue()));
      } else if (d.hasDimParam() && !d.getDimParam().isEmpty()) {
        dims.add(Dim.sym(d.getDimParam()));
      } else {
        dims.add(Dim.unknown());
      }
    }
    return new Shape(dims);
  }

  private static Tensor tensor(OnnxMl.TensorProto t, Path dir) {
    DType dt = DType.fromOnnxCode(t.getDataType());
    long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
    if (t.getDataLocation() == OnnxMl.TensorProto.DataLocation.EXTERNAL) {
      return external(t, dt, dims, dir);
    }
    if (!t.getRawData().isEmpty()) {
      return new Tensor(dt, dims, t.getRawData().asReadOnlyByteBuffer());
    }
    long n = 1;
    for (long d : dims) {
      n *= d;
    }
    ByteBuffer b =
        ByteBuffer.allocate(Math.toIntExact(n * dt.byteSize())).order(ByteOrder.LITTLE_ENDIAN);
    switch (dt) {
      case FLOAT -> t.getFloatDataList().forEach(b::putFloat);
      case DOUBLE -> t.getDoubleDataList().forEach(b::putDouble);
      case INT64 -> t.getInt64DataList().forEach(b::putLong);
      case INT32 -> t.getInt32DataList().forEach(b::putInt);
      case BOOL, UINT8, INT8 -> t.getInt32DataList().forEach(x -> b.put((byte) (int) x));
      default ->
          throw new IllegalArgumentException(
              "tensor '" + t.getName() + "' of type " + dt + " must use raw_data");
    }
    b.flip();
    return new Tensor(dt, dims, b);
  }

  private static Tensor external(OnnxMl.TensorProto t, DType dt, long[] dims, Path dir) {
    if (dir == null) {
      throw new IllegalArgumentException(
          "tensor '" + t.getName() + "' uses external data; read the model from a file");
    }
    String location = null;
    long offset = 0;
    long length = -1;
    for (OnnxMl.StringStringEntryProto e : t.getExternalDataList()) {
      switch (e.getKey()) {
        case "location" -> location = e.getValue();
        case "offset" -> offset = Long.parseLong(e.getValue());
        case "length" -> length = Long.parseLong(e.getValue());
        default -> {
          // checksum and other keys carry nothing we need
        }
      }
    }
    if (location == null) {
      throw new ModelFormatException(
          "tensor '" + t.getName() + "' is external but names no location");
    }
    Path file = dir.resolve(location).normalize();
    if (!file.startsWith(dir)) {
      throw new ModelFormatException(
          "tensor '" + t.getName() + "' points outside the model directory: " + location);
    }
    long n = dt.byteSize();
    for (long d : dims) {
      n *= d;
    }
    if (length >= 0 && length != n) {
      throw new ModelFormatException(
          "tensor '" + t.getName() + "' has length " + length + " but its shape needs " + n);
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(n));
      long pos = offset;
      while (b.hasRemaining()) {
        int r = ch.read(b, pos);
        if (r < 0) {
          throw new ModelFormatException(
              "external data file " + file + " ends before tensor '" + t.getName() + "'");
        }
        pos += r;
      }
      b.flip();
      return new Tensor(dt, dims, b);
    } catch (IOException e) {
      throw new ModelFormatException("cannot read external data " + file + ": " + e, e);
    }
  }

  private static Attribute attribute(OnnxMl.AttributeProto ap, String node) {
    return switch (ap.getType()) {
      case INT -> new Attribute.Int(ap.getI());
      case FLOAT -> new Attribute.Float(ap.getF());
      case STRING -> new Attribute.Str(ap.getS().toStringUtf8());
      case INTS ->
          new Attribute.Ints(ap.getIntsList().stream().mapToLong(Long::longValue).toArray());
      case FLOATS -> {
        float[] f = new float[ap.getFloatsCount()];
        for (int i = 0; i < f.length; i++) {
          f[i] = ap.getFloats(i);
        }
        yield new Attribute.Floats(f);
      }
      case TENSOR -> new Attribute.TensorValue(tensor(ap.getT(), null));
      default ->
          throw new IllegalArgumentException(
              "node '"
                  + node
                  + "' attribute '"
                  + ap.getName()
                  + "' has unsupported type "
                  + ap.getType());
    };
  }
}
