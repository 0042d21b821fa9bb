/**
 * Hugging Face model files: {@link dev.im4j.onnx.model.CausalLmConfig} ({@code config.json} for
 * llama, mistral, qwen2 and gpt2), safetensors reading ({@link
 * dev.im4j.onnx.model.SafetensorsFile}, validated and memory-mapped) and writing ({@link
 * dev.im4j.onnx.model.Safetensors}, single or sharded), exact F16/BF16 conversions, the parameter
 * names and shapes transformers uses per architecture with a seeded initialisation ({@link
 * dev.im4j.onnx.model.CausalLmParameters}), and whole model directories ({@link
 * dev.im4j.onnx.model.ModelDirectory}).
 *
 * <p>Weights are float32 in memory ({@link dev.im4j.onnx.model.Tensor}, {@link
 * dev.im4j.onnx.model.Weights}); each tensor remembers the dtype it is stored as. The decoder
 * graphs built from a config come later, on top of the graph builder.
 */
package dev.im4j.onnx.model;
