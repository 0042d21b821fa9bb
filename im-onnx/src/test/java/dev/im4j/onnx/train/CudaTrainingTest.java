package dev.im4j.onnx.train;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import dev.im4j.core.collate.CollatorConfig;
import dev.im4j.core.mask.LossPolicy;
import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.model.CausalLmConfig;
import dev.im4j.onnx.model.CausalLmParameters;
import dev.im4j.onnx.model.Tensor;
import dev.im4j.onnx.runtime.ExecutionProvider;
import dev.im4j.onnx.runtime.Ort;
import dev.im4j.onnx.runtime.RuntimeOptions;
import dev.im4j.onnx.testing.Errors;
import dev.im4j.onnx.train.checkpoint.TrainingCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Training on the CUDA execution provider equals training on the CPU, on both runtimes. Tagged
 * {@code cuda} and skipped (not failed) without an NVIDIA device and a CUDA-enabled ONNX Runtime
 * ({@code mvn -Pcuda}); {@code benchmarks/onnx/gpu_check.sh} runs it on a GPU machine.
 */
@Tag("cuda")
class CudaTrainingTest {
  @TempDir Path dir;

  /** A CUDA-enabled native library and a device node of NVIDIA's driver. */
  static boolean cudaAvailable() {
    Ort.environment(); // im4j's natives first
    return OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)
        && Files.exists(Path.of("/dev/nvidiactl"));
  }

  @ParameterizedTest
  @EnumSource(Trainer.Runtime.class)
  void aRunOnCudaEqualsTheRunOnTheCpu(Trainer.Runtime runtime) {
    assumeTrue(cudaAvailable(), "no CUDA device or no CUDA-enabled ONNX Runtime");
    TrainingCheckpoint cpu = run(runtime, ExecutionProvider.cpu(), dir.resolve("cpu"));
    TrainingCheckpoint gpu = run(runtime, ExecutionProvider.cuda(0), dir.resolve("gpu"));
    for (Tensor t : cpu.trainable()) {
      double error = Errors.normwise(gpu.parameter(t.name()).orElseThrow().toArray(), t.toArray());
      assertTrue(error <= 1e-4, runtime + " " + t.name() + " differs by " + error);
    }
  }

  private static TrainingCheckpoint run(
      Trainer.Runtime runtime, ExecutionProvider provider, Path out) {
    CausalLmConfig config = HfCausalLmTest.config("llama");
    HfCausalLm lm = HfCausalLm.of(config, CausalLmParameters.initialize(config, 5, DType.FLOAT));
    return Trainer.builder(
            lm,
            Examples.classified(Examples.random(LossPolicy.instructionModelling(), 8, 13, 3)),
            out)
        .runtime(runtime)
        .collator(CollatorConfig.builder(24).packing(true).build())
        .batch(2, 2)
        .maxSteps(3)
        .adamW(new AdamWConfig(0.01f, 0.9f, 0.999f, 1e-4f, 0f))
        .runtimeOptions(RuntimeOptions.defaults().withThreads(1, 1).withProvider(provider))
        .build()
        .run()
        .weights();
  }
}
