package dev.im4j.onnx.runtime;

import static com.google.common.base.Preconditions.checkArgument;

import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Session settings shared by the training, evaluation and optimizer graphs.
 *
 * @param intraOpThreads threads inside one operator; 0 lets ONNX Runtime choose
 * @param interOpThreads threads across independent operators; 0 lets ONNX Runtime choose
 * @param optimization graph optimisation level
 * @param deterministic ask kernels for deterministic results (slower on some GPUs)
 * @param seed the seed of ONNX Runtime's random generators (dropout); process-wide in ONNX Runtime
 * @param provider where to run
 * @param profile where ONNX Runtime writes its profile of every session: a JSON file named from
 *     this prefix and the second the session started (sessions started in the same second share the
 *     name, the later replacing the earlier), with each node's kernel time and input shapes; empty
 *     for none (the default: profiling costs time)
 */
public record RuntimeOptions(
    int intraOpThreads,
    int interOpThreads,
    GraphOptimization optimization,
    boolean deterministic,
    OptionalLong seed,
    ExecutionProvider provider,
    Optional<Path> profile) {

  /** ONNX Runtime's graph optimisation levels. */
  public enum GraphOptimization {
    NONE,
    BASIC,
    EXTENDED,
    ALL
  }

  /** Validates; throws {@link IllegalArgumentException} on negative thread counts. */
  public RuntimeOptions {
    checkArgument(intraOpThreads >= 0, "intraOpThreads must be >= 0 but was %s", intraOpThreads);
    checkArgument(interOpThreads >= 0, "interOpThreads must be >= 0 but was %s", interOpThreads);
    checkArgument(
        optimization != null && seed != null && provider != null && profile != null,
        "no null settings");
  }

  /**
   * CPU, ONNX Runtime's thread defaults, all optimisations, not deterministic, no seed, no profile.
   */
  public static RuntimeOptions defaults() {
    return new RuntimeOptions(
        0,
        0,
        GraphOptimization.ALL,
        false,
        OptionalLong.empty(),
        ExecutionProvider.cpu(),
        Optional.empty());
  }

  /** These options with the given thread counts. */
  public RuntimeOptions withThreads(int intraOp, int interOp) {
    return new RuntimeOptions(
        intraOp, interOp, optimization, deterministic, seed, provider, profile);
  }

  /** These options with deterministic kernels and the given seed. */
  public RuntimeOptions withDeterminism(boolean deterministicCompute, long randomSeed) {
    return new RuntimeOptions(
        intraOpThreads,
        interOpThreads,
        optimization,
        deterministicCompute,
        OptionalLong.of(randomSeed),
        provider,
        profile);
  }

  /** These options with the given optimisation level. */
  public RuntimeOptions withOptimization(GraphOptimization level) {
    return new RuntimeOptions(
        intraOpThreads, interOpThreads, level, deterministic, seed, provider, profile);
  }

  /** These options on the given execution provider. */
  public RuntimeOptions withProvider(ExecutionProvider executionProvider) {
    return new RuntimeOptions(
        intraOpThreads,
        interOpThreads,
        optimization,
        deterministic,
        seed,
        executionProvider,
        profile);
  }

  /** These options with ONNX Runtime's profiler writing to files named from {@code prefix}. */
  public RuntimeOptions withProfile(Path prefix) {
    return new RuntimeOptions(
        intraOpThreads,
        interOpThreads,
        optimization,
        deterministic,
        seed,
        provider,
        Optional.of(prefix));
  }
}
