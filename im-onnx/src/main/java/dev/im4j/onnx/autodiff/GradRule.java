package dev.im4j.onnx.autodiff;

import dev.im4j.onnx.graph.Node;
import dev.im4j.onnx.graph.Value;
import java.util.List;

/** The vector-Jacobian product of one op. */
@FunctionalInterface
interface GradRule {

  /**
   * Emits the gradient nodes of {@code node}.
   *
   * @param outGrads one adjoint per node output, null where an output does not reach the seeds
   * @param needed which inputs need a gradient
   * @return one entry per input: its gradient (same dtype and shape) where needed, else null
   * @throws IllegalArgumentException if the node cannot be differentiated as configured
   */
  List<Value> backward(Backward b, Node node, List<Value> outGrads, boolean[] needed);
}
