/**
 * The training runtimes and inference on a trained model ({@link
 * dev.im4j.onnx.runtime.InferenceModel}); the only package that imports ONNX Runtime.
 *
 * <p>{@link dev.im4j.onnx.runtime.TrainingApiRuntime} drives ONNX Runtime's on-device training API
 * (Microsoft's Java classes on bytedeco's training-enabled native library, wired up by {@code
 * OrtNatives}) over four {@link dev.im4j.onnx.runtime.TrainingArtifacts}. What ONNX Runtime 1.24
 * enforces on those artifacts:
 *
 * <ul>
 *   <li>Training graph: inputs are classified by name only. A checkpoint parameter name is a
 *       parameter; {@code lazy_reset_grad} (bool [1]) is required; every trainable {@code p} needs
 *       {@code p_grad.accumulation.buffer}, updated in place by {@code com.microsoft}
 *       InPlaceAccumulatorV2 whose bool output {@code p_grad.accumulation.out} is a graph output
 *       (an accumulation written with standard ops runs and never trains); everything else is a
 *       user input. The first remaining output is the loss.
 *   <li>Eval graph: parameters in the same relative order as in the training graph.
 *   <li>Optimizer graph: inputs exactly {@code learning_rate, step, params, gradients,
 *       first_order_moments, second_order_moments}; one AdamWOptimizer whose output is bool.
 * </ul>
 */
package dev.im4j.onnx.runtime;
