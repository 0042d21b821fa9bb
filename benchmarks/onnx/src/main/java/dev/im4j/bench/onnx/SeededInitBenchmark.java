package dev.im4j.bench.onnx;

import dev.im4j.onnx.graph.DType;
import dev.im4j.onnx.model.CausalLmConfig;
import dev.im4j.onnx.model.CausalLmParameters;
import dev.im4j.onnx.model.Tensor;
import dev.im4j.onnx.model.Weights;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Times drawing a model's seeded weights ({@link CausalLmParameters#initialize}, the values a
 * {@code --config} run starts from) through {@link Tensor#writeFloat32} on one thread, the path the
 * checkpoint writer takes with one thread per core, without writing them anywhere. Prints the
 * nanoseconds per value of each of three passes.
 *
 * <p>Run: {@code java -cp benchmarks/onnx/target/benchmarks-onnx.jar
 * dev.im4j.bench.onnx.SeededInitBenchmark benchmarks/onnx/configs/smollm2-135m.json}
 */
public final class SeededInitBenchmark {
  private SeededInitBenchmark() {}

  public static void main(String[] args) throws IOException {
    if (args.length != 1) {
      throw new IllegalArgumentException("usage: SeededInitBenchmark <config.json>");
    }
    Path file = Path.of(args[0]);
    CausalLmConfig config = CausalLmConfig.parse(Files.readString(file), file.toString());
    ByteBuffer chunk =
        ByteBuffer.allocate(Float.BYTES * Tensor.CHUNK_ELEMENTS).order(ByteOrder.LITTLE_ENDIAN);
    for (int pass = 1; pass <= 3; pass++) {
      Weights weights = CausalLmParameters.initialize(config, 1234, DType.FLOAT);
      float[] checksum = {0};
      long values = 0;
      long start = System.nanoTime();
      for (Tensor t : weights.tensors()) {
        t.writeFloat32(chunk, bytes -> checksum[0] += bytes.getFloat(0));
        values += t.numel();
      }
      System.out.printf(
          "pass %d: %,d values, %.2f ns per value (checksum %s)%n",
          pass, values, (System.nanoTime() - start) / (double) values, checksum[0]);
    }
  }
}
