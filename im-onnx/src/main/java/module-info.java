/**
 * im4j's ONNX Runtime backend: the graph IR and its ONNX I/O, reverse-mode autodiff, causal-LM
 * graphs and Hugging Face model files, training artifacts and the trainer, the ONNX Runtime
 * runtimes (training and inference) and generation.
 *
 * <p>Exports every package: each is API. Only {@code dev.im4j.onnx.runtime} imports ONNX Runtime.
 */
@SuppressWarnings({"requires-automatic", "requires-transitive-automatic"}) // notes below
module dev.im4j.onnx {
  requires transitive dev.im4j.core;
  requires com.google.common;
  // HotSpot's MaxDirectMemorySize, checked before the portable runtime allocates its buffers
  requires jdk.management;
  requires com.fasterxml.jackson.core;
  requires com.fasterxml.jackson.databind;
  // Jars without module-info.java, required as automatic modules by their Automatic-Module-Name...
  requires transitive com.microsoft.onnxruntime; // Ort.environment() returns an OrtEnvironment
  requires org.tribuo.util.onnx; // the ONNX protobuf classes (ai.onnx.proto)
  requires com.google.protobuf;
  // ...except flatbuffers-java, which declares none: its name is derived from the jar's file name
  // (flatbuffers-java-<version>.jar, as Maven stores it), so a renamed jar breaks it.
  requires flatbuffers.java;

  exports dev.im4j.onnx.autodiff;
  exports dev.im4j.onnx.generate;
  exports dev.im4j.onnx.graph;
  exports dev.im4j.onnx.model;
  exports dev.im4j.onnx.runtime;
  exports dev.im4j.onnx.train;
  exports dev.im4j.onnx.train.checkpoint;

  // Jackson reads and writes the trainer's state (trainer_state.json, a package-private record).
  opens dev.im4j.onnx.train to
      com.fasterxml.jackson.databind;
}
