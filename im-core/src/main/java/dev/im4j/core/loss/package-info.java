/**
 * The Instruction Modelling loss: reductions over a whole optimizer step expressed as per-position
 * coefficients ({@link dev.im4j.core.loss.StepCoefficients#of}), and the plain-Java oracle of the
 * weighted cross-entropy and its gradient ({@link dev.im4j.core.loss.ReferenceLoss}).
 *
 * <p>Invariants 15 to 17 of {@code docs/invariants.md} hold here (12 jointly with the collator).
 */
package dev.im4j.core.loss;
