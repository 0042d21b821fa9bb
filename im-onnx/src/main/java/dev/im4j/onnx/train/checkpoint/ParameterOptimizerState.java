package dev.im4j.onnx.train.checkpoint;

import static com.google.common.base.Preconditions.checkArgument;

import dev.im4j.onnx.model.Tensor;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The optimizer state of one trainable parameter: its moments, as ONNX Runtime stores them.
 *
 * <p>For AdamW, ONNX Runtime names the first moment (running mean of the gradient) {@value
 * #FIRST_MOMENT} and the second (running mean of its square) {@value #SECOND_MOMENT}; both have the
 * parameter's shape.
 *
 * @param parameterName the trainable parameter these moments belong to
 * @param momentums the moment tensors, names unique
 */
public record ParameterOptimizerState(String parameterName, List<Tensor> momentums) {
  /** ONNX Runtime's name for Adam's first moment. */
  public static final String FIRST_MOMENT = "momentum0";

  /** ONNX Runtime's name for Adam's second moment. */
  public static final String SECOND_MOMENT = "momentum1";

  /** Validates and copies; throws {@link IllegalArgumentException} on bad names. */
  public ParameterOptimizerState {
    checkArgument(
        parameterName != null && !parameterName.isEmpty(),
        "parameter name must be non-empty but was %s",
        parameterName);
    momentums = List.copyOf(momentums);
    Set<String> names = new HashSet<>();
    for (Tensor m : momentums) {
      checkArgument(
          names.add(m.name()), "parameter %s: duplicate moment %s", parameterName, m.name());
    }
  }

  /** AdamW's state for one parameter: first and second moments in ONNX Runtime's names. */
  public static ParameterOptimizerState adamW(
      String parameterName, long[] dims, float[] firstMoment, float[] secondMoment) {
    return new ParameterOptimizerState(
        parameterName,
        List.of(
            Tensor.of(FIRST_MOMENT, dims, firstMoment),
            Tensor.of(SECOND_MOMENT, dims, secondMoment)));
  }

  /** The moment of that name, if present. */
  public Optional<Tensor> momentum(String name) {
    return momentums.stream().filter(m -> m.name().equals(name)).findFirst();
  }
}
