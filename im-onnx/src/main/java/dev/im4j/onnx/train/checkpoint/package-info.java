/**
 * ONNX Runtime's on-device training checkpoint, read and written in Java: {@link
 * dev.im4j.onnx.train.checkpoint.TrainingCheckpoint} (parameters, optimizer state and properties,
 * in ORT's flatbuffer format), its optimizer groups and moments, and the file's validation ({@link
 * dev.im4j.onnx.train.checkpoint.CheckpointException} names the file and what is wrong).
 */
package dev.im4j.onnx.train.checkpoint;
