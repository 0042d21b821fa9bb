/**
 * Training artifacts that are not graphs. So far: {@link dev.im4j.onnx.train.TrainingCheckpoint},
 * ONNX Runtime's on-device training checkpoint (parameters, AdamW moments and step, properties),
 * read and written in Java without ONNX Runtime.
 */
package dev.im4j.onnx.train;
