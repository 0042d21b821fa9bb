/**
 * Training on ONNX Runtime's training API: {@link dev.im4j.onnx.train.FineTune} (the front door),
 * {@link dev.im4j.onnx.train.Trainer} (the loop: accumulation, schedules, NEFTune, evaluation,
 * metrics, atomic checkpoints, exact resume, divergence checks), {@link
 * dev.im4j.onnx.train.TrainingArtifactsBuilder} (training, eval and optimizer models and the
 * checkpoint from a {@link dev.im4j.onnx.train.TrainingGraph} of our IR) and {@link
 * dev.im4j.onnx.train.FeedBuffers} (a micro-batch's inputs in reused buffers). Models plug in
 * through {@link dev.im4j.onnx.train.CausalLmSource}; the checkpoint file format is in {@link
 * dev.im4j.onnx.train.checkpoint}.
 */
package dev.im4j.onnx.train;
