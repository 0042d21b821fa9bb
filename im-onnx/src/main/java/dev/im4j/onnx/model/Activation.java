package dev.im4j.onnx.model;

import java.util.Optional;

/** MLP activations supported, by their Hugging Face names. */
public enum Activation {
  /** x * sigmoid(x), the SwiGLU gate of the LLaMA family. */
  SILU("silu"),
  /** GPT-2's tanh approximation of GELU. */
  GELU_NEW("gelu_new"),
  /** The same tanh approximation under PyTorch's name. */
  GELU_PYTORCH_TANH("gelu_pytorch_tanh");

  private final String hfName;

  Activation(String hfName) {
    this.hfName = hfName;
  }

  public String hfName() {
    return hfName;
  }

  static Optional<Activation> fromHfName(String name) {
    for (Activation a : values()) {
      if (a.hfName.equals(name)) {
        return Optional.of(a);
      }
    }
    return Optional.empty();
  }
}
