package dev.im4j.onnx.graph;

import java.util.Arrays;

/** A node attribute value; one record per ONNX attribute type the graph layer uses. */
public sealed interface Attribute {

  /** The kind of this attribute, used to check it against the op's declaration. */
  AttrType type();

  /** ONNX attribute types the graph layer supports. */
  enum AttrType {
    INT,
    FLOAT,
    STRING,
    INTS,
    FLOATS,
    TENSOR
  }

  /** An integer attribute. */
  record Int(long value) implements Attribute {
    @Override
    public AttrType type() {
      return AttrType.INT;
    }
  }

  /** A float attribute. */
  record Float(float value) implements Attribute {
    @Override
    public AttrType type() {
      return AttrType.FLOAT;
    }
  }

  /** A string attribute. */
  record Str(String value) implements Attribute {
    public Str {
      java.util.Objects.requireNonNull(value, "value");
    }

    @Override
    public AttrType type() {
      return AttrType.STRING;
    }
  }

  /** A list-of-integers attribute (copied in and out). */
  record Ints(long[] value) implements Attribute {
    public Ints {
      value = value.clone();
    }

    @Override
    public long[] value() {
      return value.clone();
    }

    @Override
    public AttrType type() {
      return AttrType.INTS;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Ints i && Arrays.equals(i.value, value);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(value);
    }

    @Override
    public String toString() {
      return Arrays.toString(value);
    }
  }

  /** A list-of-floats attribute (copied in and out). */
  record Floats(float[] value) implements Attribute {
    public Floats {
      value = value.clone();
    }

    @Override
    public float[] value() {
      return value.clone();
    }

    @Override
    public AttrType type() {
      return AttrType.FLOATS;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Floats f && Arrays.equals(f.value, value);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(value);
    }

    @Override
    public String toString() {
      return Arrays.toString(value);
    }
  }

  /** A tensor attribute (the value of a Constant, ConstantOfShape). */
  record TensorValue(Tensor value) implements Attribute {
    public TensorValue {
      java.util.Objects.requireNonNull(value, "value");
    }

    @Override
    public AttrType type() {
      return AttrType.TENSOR;
    }
  }
}
