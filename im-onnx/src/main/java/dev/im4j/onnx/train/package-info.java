/**
 * Training on ONNX Runtime's training API: {@link dev.im4j.onnx.train.TrainingCheckpoint} (ORT's
 * on-device training checkpoint, read and written in Java), {@link
 * dev.im4j.onnx.train.TrainingArtifactsBuilder} (training, eval and optimizer models and the
 * checkpoint from a {@link dev.im4j.onnx.train.TrainingGraph} of our IR) and {@link
 * dev.im4j.onnx.train.Trainer} (the loop: accumulation, schedules, NEFTune, evaluation, metrics,
 * atomic checkpoints, resume, NaN guard). Models plug in through {@link
 * dev.im4j.onnx.train.CausalLmSource}.
 */
package dev.im4j.onnx.train;
