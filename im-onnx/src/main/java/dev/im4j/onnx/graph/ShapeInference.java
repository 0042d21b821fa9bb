package dev.im4j.onnx.graph;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Output types and shapes of every supported op, computed when a node is added. Also checks the
 * input types and shapes, failing with a message that names the op and the node.
 */
final class ShapeInference {

  /** The type of one output. */
  record ValueType(DType dtype, Shape shape) {}

  private final Graph graph;
  private final Op op;
  private final String node;
  private final List<Value> in;
  private final Map<String, Attribute> attrs;
  private final int numOutputs;

  private ShapeInference(
      Graph graph,
      Op op,
      String node,
      List<Value> in,
      Map<String, Attribute> attrs,
      int numOutputs) {
    this.graph = graph;
    this.op = op;
    this.node = node;
    this.in = in;
    this.attrs = attrs;
    this.numOutputs = numOutputs;
  }

  static List<ValueType> infer(
      Graph graph,
      Op op,
      String node,
      List<Value> in,
      Map<String, Attribute> attrs,
      int numOutputs) {
    return new ShapeInference(graph, op, node, in, attrs, numOutputs).run();
  }

  private IllegalArgumentException fail(String message) {
    return new IllegalArgumentException(op.onnxName() + " node '" + node + "': " + message);
  }

  private long intAttr(String name, long def) {
    Attribute a = attrs.get(name);
    return a == null ? def : ((Attribute.Int) a).value();
  }

  private Shape s(int i) {
    return in.get(i).shape();
  }

  private DType t(int i) {
    return in.get(i).dtype();
  }

  private static List<ValueType> one(DType dtype, Shape shape) {
    return List.of(new ValueType(dtype, shape));
  }

  private void sameType(int... idx) {
    for (int i : idx) {
      if (t(i) != t(idx[0])) {
        throw fail(
            "input "
                + i
                + " has type "
                + t(i)
                + " but input "
                + idx[0]
                + " has type "
                + t(idx[0])
                + "; cast one of them");
      }
    }
  }

  private void floatInput(int i) {
    if (!t(i).isFloatingPoint()) {
      throw fail("input " + i + " must be floating point but was " + t(i));
    }
  }

  private void intInput(int i) {
    if (t(i) != DType.INT64) {
      throw fail("input " + i + " must be INT64 but was " + t(i));
    }
  }

  private int axis(long axis, int rank) {
    long a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank) {
      throw fail("axis " + axis + " is out of range for rank " + rank);
    }
    return (int) a;
  }

  private long[] constLongs(int i, String what) {
    Tensor c = graph.constantValue(in.get(i));
    if (c == null) {
      throw fail(what + " (input " + i + ") must be a constant (initializer or Constant node)");
    }
    return c.toLongs();
  }

  private List<ValueType> run() {
    return switch (op) {
      case ADD, SUB, MUL, DIV -> {
        sameType(0, 1);
        yield one(t(0), broadcast(s(0), s(1)));
      }
      case POW -> {
        floatInput(0);
        yield one(t(0), broadcast(s(0), s(1)));
      }
      case SQRT, RECIPROCAL, EXP, LOG, ERF, TANH, SIGMOID, SIN, COS, RELU -> {
        floatInput(0);
        yield one(t(0), s(0));
      }
      case NEG, ABS, IDENTITY -> one(t(0), s(0));
      case SUM -> {
        int[] all = new int[in.size()];
        Arrays.setAll(all, i -> i);
        sameType(all);
        Shape out = s(0);
        for (int i = 1; i < in.size(); i++) {
          out = broadcast(out, s(i));
        }
        yield one(t(0), out);
      }
      case EQUAL, LESS, GREATER -> {
        sameType(0, 1);
        yield one(DType.BOOL, broadcast(s(0), s(1)));
      }
      case AND, OR -> {
        boolInput(0);
        boolInput(1);
        yield one(DType.BOOL, broadcast(s(0), s(1)));
      }
      case NOT -> {
        boolInput(0);
        yield one(DType.BOOL, s(0));
      }
      case MATMUL -> matMul();
      case GEMM -> gemm();
      case SOFTMAX, LOG_SOFTMAX -> {
        floatInput(0);
        axis(intAttr("axis", -1), s(0).rank());
        yield one(t(0), s(0));
      }
      case REDUCE_SUM, REDUCE_MEAN, REDUCE_MAX, REDUCE_PROD -> one(t(0), reduce());
      case LAYER_NORMALIZATION -> layerNorm();
      case TRANSPOSE -> one(t(0), transpose());
      case RESHAPE -> one(t(0), reshape());
      case FLATTEN -> one(t(0), flatten());
      case SQUEEZE -> one(t(0), squeeze());
      case UNSQUEEZE -> one(t(0), unsqueeze());
      case CONCAT -> concat();
      case SPLIT -> split();
      case SLICE -> one(t(0), slice());
      case EXPAND -> {
        intInput(1);
        yield one(t(0), broadcast(s(0), shapeFromValue(1)));
      }
      case WHERE -> {
        boolInput(0);
        sameType(1, 2);
        yield one(t(1), broadcast(broadcast(s(0), s(1)), s(2)));
      }
      case CAST -> one(DType.fromOnnxCode((int) intAttr("to", 0)), s(0));
      case GATHER -> gather();
      case GATHER_ELEMENTS -> {
        intInput(1);
        if (s(1).rank() != s(0).rank()) {
          throw fail("indices rank " + s(1).rank() + " must equal data rank " + s(0).rank());
        }
        axis(intAttr("axis", 0), s(0).rank());
        yield one(t(0), s(1));
      }
      case SCATTER_ND -> scatterNd();
      case SCATTER_ELEMENTS -> {
        intInput(1);
        sameType(0, 2);
        reduction();
        axis(intAttr("axis", 0), s(0).rank());
        if (s(1).rank() != s(0).rank() || !s(2).equals(s(1)) && s(2).rank() != s(1).rank()) {
          throw fail(
              "indices "
                  + s(1)
                  + " and updates "
                  + s(2)
                  + " must have the rank of data "
                  + s(0)
                  + " and equal shapes");
        }
        yield one(t(0), s(0));
      }
      case SHAPE -> {
        int r = s(0).rank();
        int start = clampShapeIndex(intAttr("start", 0), r);
        int end = clampShapeIndex(intAttr("end", r), r);
        yield one(DType.INT64, Shape.of(Math.max(0, end - start)));
      }
      case SIZE -> one(DType.INT64, Shape.scalar());
      case RANGE -> range();
      case TRILU -> {
        if (s(0).rank() < 2) {
          throw fail("input must have rank >= 2 but had rank " + s(0).rank());
        }
        yield one(t(0), s(0));
      }
      case CONSTANT_OF_SHAPE -> {
        Attribute v = attrs.get("value");
        DType dt = v == null ? DType.FLOAT : ((Attribute.TensorValue) v).value().dtype();
        intInput(0);
        yield one(dt, new Shape(shapeFromValue(0).dims()));
      }
      case CONSTANT -> {
        Tensor v = ((Attribute.TensorValue) attrs.get("value")).value();
        yield one(v.dtype(), v.shape());
      }
    };
  }

  private void boolInput(int i) {
    if (t(i) != DType.BOOL) {
      throw fail("input " + i + " must be BOOL but was " + t(i));
    }
  }

  private static int clampShapeIndex(long v, int rank) {
    long x = v < 0 ? v + rank : v;
    return (int) Math.max(0, Math.min(rank, x));
  }

  /** Multidirectional (numpy) broadcasting. */
  private Shape broadcast(Shape a, Shape b) {
    int r = Math.max(a.rank(), b.rank());
    List<Dim> out = new ArrayList<>(r);
    for (int i = 0; i < r; i++) {
      int ia = i - (r - a.rank());
      int ib = i - (r - b.rank());
      Dim da = ia >= 0 ? a.dims().get(ia) : Dim.of(1);
      Dim db = ib >= 0 ? b.dims().get(ib) : Dim.of(1);
      out.add(broadcastDim(da, db, a, b));
    }
    return new Shape(out);
  }

  private Dim broadcastDim(Dim da, Dim db, Shape a, Shape b) {
    if (da.equals(db)) {
      return da;
    }
    if (da.isOne()) {
      return db;
    }
    if (db.isOne()) {
      return da;
    }
    if (da.isStatic() && db.isStatic()) {
      throw fail("cannot broadcast shapes " + a + " and " + b);
    }
    // an unknown dimension is 1 or equal to the other one, else the graph fails at run time
    if (da.isStatic() || db.isUnknown()) {
      return da;
    }
    if (db.isStatic() || da.isUnknown()) {
      return db;
    }
    return Dim.unknown();
  }

  private List<ValueType> matMul() {
    sameType(0, 1);
    floatInput(0);
    Shape a = s(0);
    Shape b = s(1);
    if (a.rank() < 1 || b.rank() < 1) {
      throw fail("inputs must have rank >= 1 but had ranks " + a.rank() + " and " + b.rank());
    }
    Shape a2 = a.rank() == 1 ? Shape.of(Dim.of(1), a.dim(0)) : a;
    Shape b2 = b.rank() == 1 ? Shape.of(b.dim(0), Dim.of(1)) : b;
    Dim k1 = a2.dim(-1);
    Dim k2 = b2.dim(-2);
    if (k1.isStatic() && k2.isStatic() && k1.size() != k2.size()) {
      throw fail("inner dimensions differ: " + a + " x " + b);
    }
    Shape batch =
        broadcast(
            new Shape(a2.dims().subList(0, a2.rank() - 2)),
            new Shape(b2.dims().subList(0, b2.rank() - 2)));
    List<Dim> out = new ArrayList<>(batch.dims());
    if (a.rank() > 1) {
      out.add(a2.dim(-2));
    }
    if (b.rank() > 1) {
      out.add(b2.dim(-1));
    }
    return one(t(0), new Shape(out));
  }

  private List<ValueType> gemm() {
    floatInput(0);
    sameType(0, 1);
    if (s(0).rank() != 2 || s(1).rank() != 2) {
      throw fail("A and B must be rank 2 but were " + s(0) + " and " + s(1));
    }
    boolean ta = intAttr("transA", 0) != 0;
    boolean tb = intAttr("transB", 0) != 0;
    Dim m = s(0).dim(ta ? 1 : 0);
    Dim k1 = s(0).dim(ta ? 0 : 1);
    Dim k2 = s(1).dim(tb ? 1 : 0);
    Dim n = s(1).dim(tb ? 0 : 1);
    if (k1.isStatic() && k2.isStatic() && k1.size() != k2.size()) {
      throw fail("inner dimensions differ: " + k1 + " vs " + k2);
    }
    Shape out = Shape.of(m, n);
    if (in.size() == 3) {
      sameType(0, 2);
      Shape c = s(2);
      if (c.rank() > 2 || !broadcast(out, c).equals(out)) {
        throw fail("C of shape " + c + " does not broadcast to " + out);
      }
    }
    return one(t(0), out);
  }

  private int[] reduceAxes(int rank) {
    if (in.size() < 2) {
      return null;
    }
    intInput(1);
    long[] raw = constLongs(1, "axes");
    int[] axes = new int[raw.length];
    for (int i = 0; i < raw.length; i++) {
      axes[i] = axis(raw[i], rank);
    }
    return axes;
  }

  private Shape reduce() {
    int rank = s(0).rank();
    int[] axes = reduceAxes(rank);
    boolean keep = intAttr("keepdims", 1) != 0;
    boolean noop = intAttr("noop_with_empty_axes", 0) != 0;
    if (axes == null || axes.length == 0) {
      if (noop) {
        return s(0);
      }
      axes = new int[rank];
      Arrays.setAll(axes, i -> i);
    }
    boolean[] reduced = new boolean[rank];
    for (int a : axes) {
      reduced[a] = true;
    }
    List<Dim> out = new ArrayList<>();
    for (int i = 0; i < rank; i++) {
      if (!reduced[i]) {
        out.add(s(0).dim(i));
      } else if (keep) {
        out.add(Dim.of(1));
      }
    }
    return new Shape(out);
  }

  private List<ValueType> layerNorm() {
    floatInput(0);
    sameType(0, 1);
    int rank = s(0).rank();
    int axis = axis(intAttr("axis", -1), rank);
    Shape normalized = new Shape(s(0).dims().subList(axis, rank));
    if (!broadcast(normalized, s(1)).equals(normalized)) {
      throw fail("scale of shape " + s(1) + " does not broadcast to " + normalized);
    }
    if (in.size() == 3) {
      sameType(0, 2);
      if (!broadcast(normalized, s(2)).equals(normalized)) {
        throw fail("bias of shape " + s(2) + " does not broadcast to " + normalized);
      }
    }
    List<ValueType> out = new ArrayList<>();
    out.add(new ValueType(t(0), s(0)));
    List<Dim> stat = new ArrayList<>(s(0).dims().subList(0, axis));
    for (int i = axis; i < rank; i++) {
      stat.add(Dim.of(1));
    }
    DType stash = DType.fromOnnxCode((int) intAttr("stash_type", 1));
    for (int i = 1; i < numOutputs; i++) {
      out.add(new ValueType(stash, new Shape(stat)));
    }
    return out;
  }

  private Shape transpose() {
    int rank = s(0).rank();
    Attribute a = attrs.get("perm");
    long[] perm;
    if (a == null) {
      perm = new long[rank];
      for (int i = 0; i < rank; i++) {
        perm[i] = rank - 1 - i;
      }
    } else {
      perm = ((Attribute.Ints) a).value();
    }
    if (perm.length != rank) {
      throw fail(
          "perm " + Arrays.toString(perm) + " has length " + perm.length + " but rank is " + rank);
    }
    boolean[] seen = new boolean[rank];
    List<Dim> out = new ArrayList<>();
    for (long p : perm) {
      if (p < 0 || p >= rank || seen[(int) p]) {
        throw fail("perm " + Arrays.toString(perm) + " is not a permutation of 0.." + (rank - 1));
      }
      seen[(int) p] = true;
      out.add(s(0).dim((int) p));
    }
    return new Shape(out);
  }

  /**
   * The shape described by a 1-D INT64 input: known when it is a constant or built from {@code
   * Shape} nodes; else a shape of the right rank with unknown dimensions.
   */
  private Shape shapeFromValue(int i) {
    intInput(i);
    if (s(i).rank() != 1 || !s(i).dim(0).isStatic()) {
      throw fail("shape input " + i + " must be 1-D with a static length but was " + s(i));
    }
    List<Dim> dims = graph.shapeValue(in.get(i));
    if (dims != null) {
      return new Shape(dims);
    }
    List<Dim> unknown = new ArrayList<>();
    for (long k = 0; k < s(i).dim(0).size(); k++) {
      unknown.add(Dim.unknown());
    }
    return new Shape(unknown);
  }

  private Shape reshape() {
    Shape target = shapeFromValue(1);
    boolean allowZero = intAttr("allowzero", 0) != 0;
    List<Dim> out = new ArrayList<>();
    int inferred = -1;
    for (int i = 0; i < target.rank(); i++) {
      Dim d = target.dim(i);
      if (d.isStatic() && d.size() == 0 && !allowZero) {
        if (i >= s(0).rank()) {
          throw fail("0 at position " + i + " copies an input dimension that does not exist");
        }
        d = s(0).dim(i);
      }
      out.add(d);
    }
    // -1 arrives as an unknown Dim from constants; find it in the raw constant if present
    Tensor c = graph.constantValue(in.get(1));
    if (c != null) {
      long[] raw = c.toLongs();
      for (int i = 0; i < raw.length; i++) {
        if (raw[i] == -1) {
          if (inferred >= 0) {
            throw fail("shape " + Arrays.toString(raw) + " has more than one -1");
          }
          inferred = i;
        }
      }
    }
    if (inferred >= 0) {
      // symbolic dimensions present on both sides cancel; the inferred one is what remains of the
      // input divided by the other static sizes (a product symbol if symbols remain)
      List<Dim> remainingIn = new ArrayList<>(s(0).dims());
      long known = 1;
      boolean solvable = true;
      for (int i = 0; i < out.size() && solvable; i++) {
        Dim d = out.get(i);
        if (i == inferred) {
          continue;
        }
        if (d.isStatic()) {
          known *= d.size();
        } else if (!d.isSymbolic() || !remainingIn.remove(d)) {
          solvable = false;
        }
      }
      Dim rest = Dim.product(remainingIn);
      if (solvable && rest.isStatic() && (known == 0 || rest.size() % known != 0)) {
        throw fail("cannot reshape " + s(0) + " to " + Arrays.toString(c.toLongs()));
      }
      out.set(inferred, solvable ? rest.dividedBy(known) : Dim.unknown());
    } else if (s(0).isStatic() && new Shape(out).isStatic()) {
      if (s(0).elementCount() != new Shape(out).elementCount()) {
        throw fail("cannot reshape " + s(0) + " (" + s(0).elementCount() + " elements) to " + out);
      }
    }
    return new Shape(out);
  }

  private Shape flatten() {
    int rank = s(0).rank();
    long axis = intAttr("axis", 1);
    int a = (int) (axis < 0 ? axis + rank : axis);
    if (a < 0 || a > rank) {
      throw fail("axis " + axis + " is out of range for rank " + rank);
    }
    return Shape.of(
        Dim.product(s(0).dims().subList(0, a)), Dim.product(s(0).dims().subList(a, rank)));
  }

  private Shape squeeze() {
    int rank = s(0).rank();
    List<Dim> out = new ArrayList<>();
    if (in.size() < 2 || constLongs(1, "axes").length == 0) {
      for (Dim d : s(0).dims()) {
        if (!d.isStatic()) {
          throw fail("squeeze without axes needs a static shape but input is " + s(0));
        }
        if (!d.isOne()) {
          out.add(d);
        }
      }
      return new Shape(out);
    }
    boolean[] drop = new boolean[rank];
    for (long a : constLongs(1, "axes")) {
      int ax = axis(a, rank);
      Dim d = s(0).dim(ax);
      if (d.isStatic() && !d.isOne()) {
        throw fail("cannot squeeze axis " + a + " of size " + d + " in " + s(0));
      }
      drop[ax] = true;
    }
    for (int i = 0; i < rank; i++) {
      if (!drop[i]) {
        out.add(s(0).dim(i));
      }
    }
    return new Shape(out);
  }

  private Shape unsqueeze() {
    long[] axes = constLongs(1, "axes");
    int rank = s(0).rank() + axes.length;
    boolean[] inserted = new boolean[rank];
    for (long a : axes) {
      int ax = axis(a, rank);
      if (inserted[ax]) {
        throw fail("axes " + Arrays.toString(axes) + " repeat axis " + ax);
      }
      inserted[ax] = true;
    }
    List<Dim> out = new ArrayList<>();
    int j = 0;
    for (int i = 0; i < rank; i++) {
      out.add(inserted[i] ? Dim.of(1) : s(0).dim(j++));
    }
    return new Shape(out);
  }

  private List<ValueType> concat() {
    int rank = s(0).rank();
    int axis = axis(intAttr("axis", 0), rank);
    long total = 0;
    boolean staticAxis = true;
    List<Dim> out = new ArrayList<>(s(0).dims());
    for (int i = 0; i < in.size(); i++) {
      sameType(0, i);
      if (s(i).rank() != rank) {
        throw fail("input " + i + " has rank " + s(i).rank() + " but input 0 has rank " + rank);
      }
      for (int d = 0; d < rank; d++) {
        if (d == axis) {
          Dim x = s(i).dim(d);
          staticAxis &= x.isStatic();
          total += Math.max(0, x.size());
        } else {
          Dim x = s(i).dim(d);
          Dim y = out.get(d);
          if (x.isStatic() && y.isStatic() && x.size() != y.size()) {
            throw fail(
                "input "
                    + i
                    + " of shape "
                    + s(i)
                    + " differs from "
                    + s(0)
                    + " outside axis "
                    + axis);
          }
          if (!y.isStatic() && x.isStatic()) {
            out.set(d, x);
          }
        }
      }
    }
    out.set(axis, staticAxis ? Dim.of(total) : (in.size() == 1 ? s(0).dim(axis) : Dim.unknown()));
    return one(t(0), new Shape(out));
  }

  private List<ValueType> split() {
    int rank = s(0).rank();
    int axis = axis(intAttr("axis", 0), rank);
    Dim d = s(0).dim(axis);
    List<ValueType> out = new ArrayList<>();
    if (in.size() == 2) {
      if (attrs.containsKey("num_outputs")) {
        throw fail("give either the split input or num_outputs, not both");
      }
      intInput(1);
      if (graph.constantValue(in.get(1)) == null) {
        // sizes computed at run time, e.g. from Shape nodes: take what is known of them
        List<Dim> dims = graph.shapeValue(in.get(1));
        if (s(1).rank() != 1 || !s(1).dim(0).isStatic() || s(1).dim(0).size() != numOutputs) {
          throw fail(
              "split must be 1-D with one size per output (" + numOutputs + ") but was " + s(1));
        }
        for (int k = 0; k < numOutputs; k++) {
          List<Dim> piece = new ArrayList<>(s(0).dims());
          piece.set(axis, dims == null ? Dim.unknown() : dims.get(k));
          out.add(new ValueType(t(0), new Shape(piece)));
        }
        return out;
      }
      long[] sizes = constLongs(1, "split");
      if (sizes.length != numOutputs) {
        throw fail(
            "split has " + sizes.length + " sizes but the node has " + numOutputs + " outputs");
      }
      long sum = Arrays.stream(sizes).sum();
      if (d.isStatic() && sum != d.size()) {
        throw fail(
            "split sizes "
                + Arrays.toString(sizes)
                + " sum to "
                + sum
                + " but axis "
                + axis
                + " has size "
                + d.size());
      }
      for (long size : sizes) {
        List<Dim> dims = new ArrayList<>(s(0).dims());
        dims.set(axis, Dim.of(size));
        out.add(new ValueType(t(0), new Shape(dims)));
      }
      return out;
    }
    long n = intAttr("num_outputs", -1);
    if (n != numOutputs) {
      throw fail("num_outputs is " + n + " but the node has " + numOutputs + " outputs");
    }
    for (int i = 0; i < numOutputs; i++) {
      List<Dim> dims = new ArrayList<>(s(0).dims());
      if (d.isStatic()) {
        long chunk = (d.size() + n - 1) / n;
        long size = Math.max(0, Math.min(chunk, d.size() - chunk * i));
        dims.set(axis, Dim.of(size));
      } else {
        dims.set(axis, Dim.unknown());
      }
      out.add(new ValueType(t(0), new Shape(dims)));
    }
    return out;
  }

  private Shape slice() {
    int rank = s(0).rank();
    for (int i = 1; i < in.size(); i++) {
      intInput(i);
    }
    Tensor startsT = graph.constantValue(in.get(1));
    Tensor endsT = graph.constantValue(in.get(2));
    Tensor axesT = in.size() > 3 ? graph.constantValue(in.get(3)) : null;
    Tensor stepsT = in.size() > 4 ? graph.constantValue(in.get(4)) : null;
    boolean known =
        startsT != null
            && endsT != null
            && (in.size() <= 3 || axesT != null)
            && (in.size() <= 4 || stepsT != null);
    List<Dim> out = new ArrayList<>(s(0).dims());
    if (!known) {
      // only the sliced axes lose their size, when those axes are known
      long[] sliced = axesT != null ? axesT.toLongs() : null;
      if (sliced == null && in.size() <= 3 && s(1).rank() == 1 && s(1).dim(0).isStatic()) {
        sliced = new long[(int) s(1).dim(0).size()];
        Arrays.setAll(sliced, i -> i);
      }
      if (sliced == null) {
        for (int i = 0; i < rank; i++) {
          out.set(i, Dim.unknown());
        }
      } else {
        for (long a : sliced) {
          out.set(axis(a, rank), Dim.unknown());
        }
      }
      return new Shape(out);
    }
    long[] starts = startsT.toLongs();
    long[] ends = endsT.toLongs();
    long[] axes = axesT == null ? null : axesT.toLongs();
    long[] steps = stepsT == null ? null : stepsT.toLongs();
    if (ends.length != starts.length
        || (axes != null && axes.length != starts.length)
        || (steps != null && steps.length != starts.length)) {
      throw fail("starts, ends, axes and steps must have equal lengths");
    }
    for (int k = 0; k < starts.length; k++) {
      int ax = axis(axes == null ? k : axes[k], rank);
      long step = steps == null ? 1 : steps[k];
      if (step == 0) {
        throw fail("slice step must not be 0");
      }
      Dim d = s(0).dim(ax);
      if (!d.isStatic()) {
        out.set(ax, Dim.unknown());
        continue;
      }
      long n = d.size();
      long st = starts[k] < 0 ? starts[k] + n : starts[k];
      long en = ends[k] < 0 ? ends[k] + n : ends[k];
      long len;
      if (step > 0) {
        st = Math.max(0, Math.min(n, st));
        en = Math.max(0, Math.min(n, en));
        len = en > st ? (en - st + step - 1) / step : 0;
      } else {
        st = Math.max(-1, Math.min(n - 1, st));
        en = Math.max(-1, Math.min(n - 1, en));
        len = st > en ? (st - en + (-step) - 1) / (-step) : 0;
      }
      out.set(ax, Dim.of(len));
    }
    return new Shape(out);
  }

  private List<ValueType> gather() {
    intInput(1);
    int rank = s(0).rank();
    int axis = axis(intAttr("axis", 0), rank);
    List<Dim> out = new ArrayList<>(s(0).dims().subList(0, axis));
    out.addAll(s(1).dims());
    out.addAll(s(0).dims().subList(axis + 1, rank));
    return one(t(0), new Shape(out));
  }

  private List<ValueType> scatterNd() {
    intInput(1);
    sameType(0, 2);
    reduction();
    Shape idx = s(1);
    Dim k = idx.dim(-1);
    if (!k.isStatic()) {
      throw fail("the last dimension of indices must be static but was " + idx);
    }
    int expectedRank = idx.rank() - 1 + s(0).rank() - (int) k.size();
    if (s(2).rank() != expectedRank) {
      throw fail("updates must have rank " + expectedRank + " but had shape " + s(2));
    }
    return one(t(0), s(0));
  }

  private void reduction() {
    String reduction =
        attrs.containsKey("reduction") ? ((Attribute.Str) attrs.get("reduction")).value() : "none";
    if (!List.of("none", "add", "mul", "max", "min").contains(reduction)) {
      throw fail("reduction must be one of none, add, mul, max, min but was " + reduction);
    }
  }

  private List<ValueType> range() {
    sameType(0, 1, 2);
    for (int i = 0; i < 3; i++) {
      if (s(i).rank() != 0) {
        throw fail("input " + i + " must be a scalar but had shape " + s(i));
      }
    }
    Tensor a = graph.constantValue(in.get(0));
    Tensor b = graph.constantValue(in.get(1));
    Tensor c = graph.constantValue(in.get(2));
    if (a != null && b != null && c != null && t(0) == DType.INT64) {
      long start = a.toLongs()[0];
      long limit = b.toLongs()[0];
      long delta = c.toLongs()[0];
      if (delta == 0) {
        throw fail("delta must not be 0");
      }
      long n = Math.max(0, (limit - start + delta + (delta > 0 ? -1 : 1)) / delta);
      return one(t(0), Shape.of(n));
    }
    if (a != null
        && c != null
        && t(0) == DType.INT64
        && a.toLongs()[0] == 0
        && c.toLongs()[0] == 1) {
      Dim n = graph.scalarDim(in.get(1));
      if (n != null) {
        return one(t(0), Shape.of(n));
      }
    }
    return one(t(0), Shape.of(Dim.unknown()));
  }
}
