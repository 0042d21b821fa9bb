/**
 * Reverse-mode automatic differentiation over the graph IR ({@link
 * dev.im4j.onnx.autodiff.Autodiff}), emitting standard ONNX ops only, and the weighted token
 * cross-entropy with its analytic gradient ({@link dev.im4j.onnx.autodiff.WeightedCrossEntropy}).
 * No ONNX Runtime import.
 */
package dev.im4j.onnx.autodiff;
