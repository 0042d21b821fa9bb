package dev.im4j.onnx.graph;

import ai.onnx.proto.OnnxMl;
import com.google.common.io.MoreFiles;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
   * The model with every initializer inlined, streamed ones ({@link Graph#streamedInitializer})
   * included.
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
    for (Value v : graph.streamedInitializers().keySet()) {
      total += v.shape().elementCount() * v.dtype().byteSize();
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
   * Writes {@code graph} to {@code model}; initializers of at least {@code externalThreshold}
   * bytes, and every streamed one ({@link Graph#streamedInitializer}, written chunk by chunk as its
   * source produces it), go to {@code <model file name>.data} in the same directory. A failure or a
   * kill at any moment leaves either no model file or a model file with its matching data file (an
   * earlier model is removed before its data file is replaced).
   *
   * @throws ModelFormatException on I/O failure
   */
  public static void write(Graph graph, Path model, long externalThreshold) {
    Path absolute = model.toAbsolutePath().normalize();
    Path dir = absolute.getParent();
    String name = absolute.getFileName().toString();
    String dataName = name + ".data";
    Path temp = null;
    try {
      Files.createDirectories(dir);
      deleteStaleTemporaries(absolute);
      // Both files are written under their final names into a temporary folder beside the model
      // (the model refers to its data file by name), synced, then moved into place: the old model
      // goes first and the new one last, so a model file, if present, always matches its data.
      temp = Files.createTempDirectory(dir, tempPrefix(name));
      Path tempData = temp.resolve(dataName);
      Path tempModel = temp.resolve(name);
      boolean hasData;
      try (FileChannel ch =
          FileChannel.open(tempData, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        ExternalWriter ext = new ExternalWriter(ch, dataName, externalThreshold);
        OnnxMl.ModelProto proto = toProto(graph, ext);
        hasData = ext.offset > 0;
        ch.force(true);
        try (FileChannel out =
            FileChannel.open(tempModel, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
          proto.writeTo(java.nio.channels.Channels.newOutputStream(out));
          out.force(true);
        }
      }
      Files.deleteIfExists(absolute);
      Path data = dir.resolve(dataName);
      if (hasData) {
        Files.move(tempData, data, StandardCopyOption.ATOMIC_MOVE);
      } else {
        Files.deleteIfExists(data);
      }
      Files.move(tempModel, absolute, StandardCopyOption.ATOMIC_MOVE);
      try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
        d.force(true);
      }
    } catch (IOException e) {
      throw new ModelFormatException("cannot write ONNX model " + model + ": " + e, e);
    } finally {
      if (temp != null) {
        deleteQuietly(temp);
      }
    }
  }

  /**
   * Deletes the temporary folders ({@code .<name>.tmp-*}) that a {@link #write} of {@code model}
   * killed midway left beside it; {@link #write} does this itself first.
   *
   * @throws ModelFormatException if one cannot be deleted
   */
  public static void deleteStaleTemporaries(Path model) {
    Path absolute = model.toAbsolutePath().normalize();
    Path dir = absolute.getParent();
    if (dir == null || !Files.isDirectory(dir)) {
      return;
    }
    String prefix = tempPrefix(absolute.getFileName().toString());
    try (java.util.stream.Stream<Path> s = Files.list(dir)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        if (p.getFileName().toString().startsWith(prefix)) {
          deleteTree(p);
        }
      }
    } catch (IOException e) {
      throw new ModelFormatException(
          model + ": cannot delete temporaries left beside it by an earlier write: " + e, e);
    }
  }

  private static String tempPrefix(String name) {
    return "." + name + ".tmp-";
  }

  /** Deletes p and everything below it (links are deleted, not followed); absent is fine. */
  private static void deleteTree(Path p) throws IOException {
    if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
      MoreFiles.deleteRecursively(p);
    }
  }

  private static void deleteQuietly(Path p) {
    try {
      if (Files.exists(p)) {
        deleteTree(p);
      }
    } catch (IOException ignored) {
      // Best effort: a leftover temporary folder is deleted by the next write of the same model.
    }
  }

  /**
   * Reads a model held in memory; external data is not allowed. Accepts what {@link #read} accepts.
   *
   * @throws ModelFormatException on malformed protobuf, or naming the op and node if the graph uses
   *     something unsupported
   */
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
   * <p>Besides the models this class writes, it reads models from other exporters (PyTorch's {@code
   * torch.onnx.export} included) that import default-domain opset 13 to 18 and use only supported
   * {@link Op}s: nodes are rewritten into their opset-18 forms ({@code LegacyForms}: reduce axes
   * given as attributes, {@code Split} without sizes, {@code Constant} with {@code value_float(s)}
   * or {@code value_int(s)}, omitted optional inputs). Graph inputs that are also initializers
   * become initializers; {@code value_info} is not needed (shapes are inferred) and is ignored;
   * {@link #toBytes} writes the graph back at opset 18.
   *
   * @throws ModelFormatException on I/O failure, malformed protobuf, or naming the op and node if
   *     the graph uses something unsupported (another domain or opset, an op outside {@link Op}, an
   *     attribute or input form opset 18 does not have)
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
    for (Map.Entry<Value, StreamedBytes> e : graph.streamedInitializers().entrySet()) {
      g.addInitializer(tensor(e.getKey(), e.getValue(), ext));
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
    // The shapes of the intermediate values as this IR infers them. ONNX Runtime's own inference
    // loses the batch and sequence symbols at the first Reshape to a computed shape, and its
    // memory planner compares every unknown-shaped buffer it frees with every later output, which
    // made opening a training session take seconds of string work at 100 M parameters.
    Set<Value> outputs = new HashSet<>(graph.outputs());
    for (Node n : graph.nodes()) {
      for (Value v : n.outputs()) {
        if (!outputs.contains(v)) {
          g.addValueInfo(valueInfo(v));
        }
      }
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
    ByteBuffer data = t.data();
    boolean external = ext != null && data.remaining() >= ext.threshold && data.remaining() > 0;
    return tensor(name, t.dtype(), t.dims(), sink -> sink.accept(data), external ? ext : null);
  }

  /** A streamed initializer: external data when writing a file, inline bytes otherwise. */
  private static OnnxMl.TensorProto tensor(Value v, StreamedBytes bytes, ExternalWriter ext) {
    return tensor(v.name(), v.dtype(), v.shape().sizes(), bytes, ext);
  }

  /**
   * A TensorProto whose {@code bytes} go to {@code ext}'s data file, or inline if {@code ext} is
   * null; fails, naming the tensor, unless they add up to exactly its size.
   */
  private static OnnxMl.TensorProto tensor(
      String name, DType dtype, long[] dims, StreamedBytes bytes, ExternalWriter ext) {
    OnnxMl.TensorProto.Builder b = OnnxMl.TensorProto.newBuilder().setDataType(dtype.onnxCode());
    if (name != null) {
      b.setName(name);
    }
    long expected = dtype.byteSize();
    for (long d : dims) {
      b.addDims(d);
      expected = Math.multiplyExact(expected, d);
    }
    long[] written = {0};
    if (ext != null) {
      long start = ext.offset;
      try {
        bytes.writeTo(
            chunk -> {
              ByteBuffer c = chunk.duplicate();
              written[0] += c.remaining();
              try {
                while (c.hasRemaining()) {
                  ext.channel.write(c, start + written[0] - c.remaining());
                }
              } catch (IOException e) {
                throw new UncheckedIOException(e);
              }
            });
      } catch (UncheckedIOException e) {
        throw new ModelFormatException(
            "cannot write external data for initializer '" + name + "': " + e.getCause(),
            e.getCause());
      }
      checkSize(name, expected, written[0]);
      b.setDataLocation(OnnxMl.TensorProto.DataLocation.EXTERNAL)
          .addExternalData(entry("location", ext.location))
          .addExternalData(entry("offset", Long.toString(start)))
          .addExternalData(entry("length", Long.toString(expected)));
      // keep offsets page aligned so runtimes can memory-map each tensor
      ext.offset = (start + expected + 4095) & ~4095L;
    } else {
      ByteString.Output out = ByteString.newOutput((int) Math.min(expected, Integer.MAX_VALUE));
      bytes.writeTo(
          chunk -> {
            ByteBuffer c = chunk.duplicate();
            written[0] += c.remaining();
            byte[] a = new byte[c.remaining()];
            c.get(a);
            out.write(a, 0, a.length);
          });
      checkSize(name, expected, written[0]);
      b.setRawData(out.toByteString());
    }
    return b.build();
  }

  private static void checkSize(String name, long expected, long written) {
    if (written != expected) {
      throw new IllegalStateException(
          "initializer '" + name + "' needs " + expected + " bytes but its source gave " + written);
    }
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
    try {
      return build(model, dir);
    } catch (IllegalArgumentException e) {
      // a name declared twice, a shape that does not check: the model is not valid ONNX
      throw new ModelFormatException(e.getMessage(), e);
    }
  }

  private static Graph build(OnnxMl.ModelProto model, Path dir) {
    int opset = defaultOpset(model);
    OnnxMl.GraphProto gp = model.getGraph();
    if (gp.getSparseInitializerCount() > 0) {
      throw new ModelFormatException(
          "graph '" + gp.getName() + "' has sparse initializers, which are not supported");
    }
    Graph g = Graph.create(gp.getName().isEmpty() ? "graph" : gp.getName());
    Set<String> initNames = new HashSet<>();
    for (OnnxMl.TensorProto t : gp.getInitializerList()) {
      initNames.add(t.getName());
    }
    for (OnnxMl.ValueInfoProto vi : gp.getInputList()) {
      // an input that is also an initializer is a weight with an overridable default: a weight
      if (!initNames.contains(vi.getName())) {
        OnnxMl.TypeProto type = vi.getType();
        if (!type.hasTensorType() || !type.getTensorType().hasShape()) {
          throw new ModelFormatException(
              "graph input '"
                  + vi.getName()
                  + "' must be a tensor of known rank but its type is "
                  + type.toString().replace('\n', ' ').trim());
        }
        OnnxMl.TypeProto.Tensor tt = type.getTensorType();
        g.input(
            vi.getName(),
            dtype(tt.getElemType(), "graph input '" + vi.getName() + "'"),
            shape(tt.getShape()));
      }
    }
    for (OnnxMl.TensorProto t : gp.getInitializerList()) {
      g.initializer(t.getName(), tensor(t, dir));
    }
    Map<String, Value> byName = new HashMap<>();
    g.inputs().forEach(v -> byName.put(v.name(), v));
    g.initializers().keySet().forEach(v -> byName.put(v.name(), v));
    Set<String> reserved = new HashSet<>(byName.keySet());
    for (OnnxMl.NodeProto np : gp.getNodeList()) {
      reserved.add(np.getName());
      reserved.addAll(np.getOutputList());
    }
    LegacyForms legacy = new LegacyForms(g, opset, reserved);
    for (OnnxMl.NodeProto np : gp.getNodeList()) {
      String where =
          np.getName().isEmpty() ? "(unnamed, output " + np.getOutputList() + ")" : np.getName();
      if (!np.getDomain().isEmpty() && !np.getDomain().equals("ai.onnx")) {
        throw new ModelFormatException(
            np.getOpType()
                + " node '"
                + where
                + "' is in domain '"
                + np.getDomain()
                + "'; only the default ONNX domain is supported");
      }
      Op op;
      try {
        op = Op.fromOnnxName(np.getOpType());
      } catch (IllegalArgumentException e) {
        throw new ModelFormatException(
            np.getOpType() + " node '" + where + "': " + e.getMessage(), e);
      }
      List<Value> in = new ArrayList<>();
      for (String name : np.getInputList()) {
        Value v = name.isEmpty() ? null : byName.get(name);
        if (v == null && !name.isEmpty()) {
          throw new ModelFormatException(
              op.onnxName()
                  + " node '"
                  + where
                  + "' consumes '"
                  + name
                  + "', which is not defined before it (graphs must be topologically sorted)");
        }
        in.add(v);
      }
      Map<String, Attribute> attrs = new HashMap<>();
      for (OnnxMl.AttributeProto ap : np.getAttributeList()) {
        attrs.put(ap.getName(), attribute(ap, op.onnxName() + " node '" + where + "'"));
      }
      LegacyForms.Rewritten r = legacy.rewrite(op, where, in, attrs, np.getOutputCount());
      Node n;
      try {
        n =
            g.apply(
                op,
                r.inputs(),
                r.attributes(),
                np.getOutputList(),
                np.getName().isEmpty() ? null : np.getName());
      } catch (IllegalArgumentException e) {
        throw new ModelFormatException(e.getMessage(), e);
      }
      n.outputs().forEach(v -> byName.put(v.name(), v));
    }
    for (OnnxMl.ValueInfoProto vi : gp.getOutputList()) {
      Value v = byName.get(vi.getName());
      if (v == null) {
        throw new ModelFormatException("graph output '" + vi.getName() + "' is never defined");
      }
      g.output(v);
    }
    return g;
  }

  /**
   * The model's default-domain opset, {@value LegacyForms#MIN_OPSET} to {@value Op#OPSET}; any
   * other domain is rejected.
   */
  private static int defaultOpset(OnnxMl.ModelProto model) {
    int opset = -1;
    for (OnnxMl.OperatorSetIdProto os : model.getOpsetImportList()) {
      if (os.getDomain().isEmpty() || os.getDomain().equals("ai.onnx")) {
        if (os.getVersion() < LegacyForms.MIN_OPSET || os.getVersion() > Op.OPSET) {
          throw new ModelFormatException(
              "model imports default-domain opset "
                  + os.getVersion()
                  + "; supported: "
                  + LegacyForms.MIN_OPSET
                  + " to "
                  + Op.OPSET
                  + " (convert it with onnx.version_converter, or re-export at opset "
                  + Op.OPSET
                  + ")");
        }
        opset = (int) os.getVersion();
      } else {
        throw new ModelFormatException(
            "model imports domain '"
                + os.getDomain()
                + "' (version "
                + os.getVersion()
                + "); only the default ONNX domain is supported");
      }
    }
    if (opset < 0) {
      throw new ModelFormatException("model imports no default-domain opset");
    }
    return opset;
  }

  private static DType dtype(int code, String what) {
    try {
      return DType.fromOnnxCode(code);
    } catch (IllegalArgumentException e) {
      throw new ModelFormatException(what + ": " + e.getMessage(), e);
    }
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
    DType dt = dtype(t.getDataType(), "tensor '" + t.getName() + "'");
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
          throw new ModelFormatException(
              "tensor '" + t.getName() + "' of type " + dt + " must use raw_data");
    }
    b.flip();
    return new Tensor(dt, dims, b);
  }

  private static Tensor external(OnnxMl.TensorProto t, DType dt, long[] dims, Path dir) {
    if (dir == null) {
      throw new ModelFormatException(
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

  /** One attribute; {@code node} says where, as "Op node 'name'". */
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
          throw new ModelFormatException(
              node + ": attribute '" + ap.getName() + "' has unsupported type " + ap.getType());
    };
  }
}
