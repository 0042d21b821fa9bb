package dev.im4j.onnx.train.checkpoint;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * One optimizer parameter group of a checkpoint. ONNX Runtime uses exactly one, named {@value
 * #DEFAULT_NAME}.
 *
 * @param name the group name
 * @param step the number of optimizer steps taken so far ({@code >= 0}); the next step's bias
 *     correction uses {@code step + 1}
 * @param initialLearningRate the learning rate the schedule started from (the current rate is not
 *     stored by ONNX Runtime)
 * @param parameters the per-parameter moments, parameter names unique
 */
public record OptimizerGroup(
    String name, long step, float initialLearningRate, List<ParameterOptimizerState> parameters) {
  /** The only group name ONNX Runtime reads. */
  public static final String DEFAULT_NAME = "group0";

  /** Validates and copies; throws {@link IllegalArgumentException} on bad values. */
  public OptimizerGroup {
    checkArgument(name != null && !name.isEmpty(), "group name must be non-empty but was %s", name);
    checkArgument(step >= 0, "group %s: step must be >= 0 but was %s", name, step);
    parameters = List.copyOf(parameters);
    Set<String> names = new HashSet<>();
    for (ParameterOptimizerState p : parameters) {
      checkArgument(
          names.add(p.parameterName()),
          "group %s: duplicate parameter %s",
          name,
          p.parameterName());
    }
  }

  /** The state of that parameter, if present. */
  public Optional<ParameterOptimizerState> parameter(String parameterName) {
    return parameters.stream().filter(p -> p.parameterName().equals(parameterName)).findFirst();
  }
}
