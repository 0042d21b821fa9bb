package dev.im4j.onnx.model;

/** Two-layer configs small enough to write and check by hand. */
final class TinyConfigs {
  private TinyConfigs() {}

  /** LLaMA: vocab 11, hidden 8, 4 heads of 2, 2 kv heads, intermediate 12, untied. */
  static CausalLmConfig llama() {
    return CausalLmConfig.parse(
        """
        {"model_type": "llama", "vocab_size": 11, "hidden_size": 8, "intermediate_size": 12,
         "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
         "max_position_embeddings": 32, "tie_word_embeddings": false, "bos_token_id": 1,
         "eos_token_id": 2, "torch_dtype": "float32"}
        """,
        "tiny-llama");
  }

  /** Qwen2: as {@link #llama()} but tied, with q/k/v biases. */
  static CausalLmConfig qwen2() {
    return CausalLmConfig.parse(
        """
        {"model_type": "qwen2", "vocab_size": 11, "hidden_size": 8, "intermediate_size": 12,
         "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
         "tie_word_embeddings": true, "use_sliding_window": false, "sliding_window": 32}
        """,
        "tiny-qwen2");
  }

  /** Mistral: one kv head, a sliding window, untied. */
  static CausalLmConfig mistral() {
    return CausalLmConfig.parse(
        """
        {"model_type": "mistral", "vocab_size": 11, "hidden_size": 8, "intermediate_size": 12,
         "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1,
         "sliding_window": 16}
        """,
        "tiny-mistral");
  }

  /** GPT-2: vocab 11, 6 positions, hidden 8, 2 heads, inner 32 (default 4 * hidden), tied. */
  static CausalLmConfig gpt2() {
    return CausalLmConfig.parse(
        """
        {"model_type": "gpt2", "vocab_size": 11, "n_positions": 6, "n_embd": 8,
         "n_layer": 2, "n_head": 2, "n_inner": null}
        """,
        "tiny-gpt2");
  }
}
