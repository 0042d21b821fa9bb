package dev.im4j.onnx.model;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import dev.im4j.onnx.graph.DType;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * An immutable set of named tensors, sorted by name: the parameters of a model as Hugging Face
 * names them. Thread-safe.
 */
public final class Weights {
  private final SortedMap<String, Tensor> byName;

  private Weights(SortedMap<String, Tensor> byName) {
    this.byName = Collections.unmodifiableSortedMap(byName);
  }

  /**
   * The given tensors.
   *
   * @throws IllegalArgumentException if two tensors share a name
   */
  public static Weights of(Collection<Tensor> tensors) {
    TreeMap<String, Tensor> map = new TreeMap<>();
    for (Tensor t : tensors) {
      checkNotNull(t, "tensors must not contain null");
      Tensor previous = map.put(t.name(), t);
      checkArgument(
          previous == null, "tensor name %s appears twice; names must be unique", t.name());
    }
    return new Weights(map);
  }

  /** Names in sorted order. */
  public List<String> names() {
    return List.copyOf(byName.keySet());
  }

  /** Tensors in name order. */
  public List<Tensor> tensors() {
    return List.copyOf(byName.values());
  }

  public int size() {
    return byName.size();
  }

  public Optional<Tensor> find(String name) {
    return Optional.ofNullable(byName.get(name));
  }

  /**
   * The tensor with this name.
   *
   * @throws IllegalArgumentException if there is none
   */
  public Tensor get(String name) {
    Tensor t = byName.get(name);
    checkArgument(t != null, "no tensor named %s; there are %s tensors", name, byName.size());
    return t;
  }

  /** Sum of the parameter counts. */
  public long parameterCount() {
    long n = 0;
    for (Tensor t : byName.values()) {
      n += t.numel();
    }
    return n;
  }

  /** The same tensors, each to be stored as {@code dtype}. */
  public Weights withDtype(DType dtype) {
    List<Tensor> out = new ArrayList<>(byName.size());
    for (Tensor t : byName.values()) {
      out.add(t.withDtype(dtype));
    }
    return of(out);
  }

  Map<String, Tensor> asMap() {
    return byName;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Weights w && byName.equals(w.byName);
  }

  @Override
  public int hashCode() {
    return byName.hashCode();
  }

  @Override
  public String toString() {
    return "Weights" + byName.values();
  }
}
