package dev.im4j.onnx.graph;

import java.util.List;
import java.util.Map;

/**
 * One operator application in a {@link Graph}. Created only by the graph after its arity,
 * attributes and shapes were checked. Immutable.
 */
public final class Node {
  private final Op op;
  private final String name;
  private final List<Value> inputs;
  private final List<Value> outputs;
  private final Map<String, Attribute> attributes;

  Node(
      Op op,
      String name,
      List<Value> inputs,
      List<Value> outputs,
      Map<String, Attribute> attributes) {
    this.op = op;
    this.name = name;
    this.inputs = List.copyOf(inputs);
    this.outputs = List.copyOf(outputs);
    this.attributes = attributes;
  }

  public Op op() {
    return op;
  }

  public String name() {
    return name;
  }

  public List<Value> inputs() {
    return inputs;
  }

  public Value input(int i) {
    return inputs.get(i);
  }

  public List<Value> outputs() {
    return outputs;
  }

  public Value output(int i) {
    return outputs.get(i);
  }

  /** Attributes by name, sorted by name; unmodifiable. */
  public Map<String, Attribute> attributes() {
    return attributes;
  }

  /** An INT attribute, or {@code defaultValue} when absent. */
  public long intAttr(String attr, long defaultValue) {
    Attribute a = attributes.get(attr);
    return a == null ? defaultValue : ((Attribute.Int) a).value();
  }

  /** A FLOAT attribute, or {@code defaultValue} when absent. */
  public float floatAttr(String attr, float defaultValue) {
    Attribute a = attributes.get(attr);
    return a == null ? defaultValue : ((Attribute.Float) a).value();
  }

  /** An INTS attribute, or null when absent. */
  public long[] intsAttr(String attr) {
    Attribute a = attributes.get(attr);
    return a == null ? null : ((Attribute.Ints) a).value();
  }

  /** A STRING attribute, or {@code defaultValue} when absent. */
  public String stringAttr(String attr, String defaultValue) {
    Attribute a = attributes.get(attr);
    return a == null ? defaultValue : ((Attribute.Str) a).value();
  }

  @Override
  public String toString() {
    return op.onnxName()
        + " '"
        + name
        + "' "
        + inputs.stream().map(Value::name).toList()
        + " -> "
        + outputs.stream().map(Value::name).toList();
  }
}
