package dev.im4j.onnx.model;

import java.util.Optional;

/** The architectures im4j trains, by their Hugging Face {@code model_type}. */
public enum ModelType {
  /** LLaMA 1-3 and derivatives: RMSNorm, RoPE, SwiGLU, optional GQA and attention bias. */
  LLAMA("llama", "LlamaForCausalLM"),
  /** Mistral: the LLaMA block with an optional sliding attention window. */
  MISTRAL("mistral", "MistralForCausalLM"),
  /** Qwen2: the LLaMA block with biases on the q, k and v projections. */
  QWEN2("qwen2", "Qwen2ForCausalLM"),
  /** GPT-2: LayerNorm, learned positions, GELU MLP, Conv1D (transposed) weights. */
  GPT2("gpt2", "GPT2LMHeadModel");

  private final String hfName;
  private final String architecture;

  ModelType(String hfName, String architecture) {
    this.hfName = hfName;
    this.architecture = architecture;
  }

  /** The {@code model_type} string. */
  public String hfName() {
    return hfName;
  }

  /** The transformers class written to {@code architectures}. */
  public String architecture() {
    return architecture;
  }

  /** Whether this is one of the LLaMA-style (RMSNorm, RoPE, SwiGLU) architectures. */
  public boolean isLlamaFamily() {
    return this != GPT2;
  }

  static Optional<ModelType> fromHfName(String name) {
    for (ModelType t : values()) {
      if (t.hfName.equals(name)) {
        return Optional.of(t);
      }
    }
    return Optional.empty();
  }

  static String supported() {
    StringBuilder b = new StringBuilder();
    for (ModelType t : values()) {
      b.append(b.length() == 0 ? "" : ", ").append(t.hfName);
    }
    return b.toString();
  }
}
