/**
 * The ONNX graph layer: an IR ({@link dev.im4j.onnx.graph.Graph}, {@link dev.im4j.onnx.graph.Node},
 * {@link dev.im4j.onnx.graph.Value} with dtype and static or symbolic {@link
 * dev.im4j.onnx.graph.Shape}), a checked builder over the supported {@link dev.im4j.onnx.graph.Op}s
 * with shape inference, and protobuf I/O ({@link dev.im4j.onnx.graph.OnnxIo}). Standard ONNX domain
 * only, opset 18; models of opsets 13 to 17 (PyTorch's exports among them) are read into their
 * opset-18 forms. No ONNX Runtime import.
 */
package dev.im4j.onnx.graph;
