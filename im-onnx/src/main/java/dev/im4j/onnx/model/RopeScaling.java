package dev.im4j.onnx.model;

import static com.google.common.base.Preconditions.checkArgument;

/**
 * Llama 3 RoPE frequency scaling ({@code rope_scaling.rope_type = "llama3"}): wavelengths longer
 * than {@code originalMaxPositionEmbeddings / lowFreqFactor} have their frequencies divided by
 * {@code factor}, those with wavelengths below {@code originalMaxPositionEmbeddings /
 * highFreqFactor} are kept, and the band between is interpolated.
 *
 * @param factor frequency divisor for long wavelengths, {@code > 0}
 * @param lowFreqFactor {@code > 0}
 * @param highFreqFactor {@code > lowFreqFactor}
 * @param originalMaxPositionEmbeddings the context length the model was pre-trained with, {@code >
 *     0}
 */
public record RopeScaling(
    double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositionEmbeddings) {
  public RopeScaling {
    checkArgument(factor > 0, "rope_scaling.factor must be > 0 but was %s", factor);
    checkArgument(
        lowFreqFactor > 0, "rope_scaling.low_freq_factor must be > 0 but was %s", lowFreqFactor);
    checkArgument(
        highFreqFactor > lowFreqFactor,
        "rope_scaling.high_freq_factor must be > low_freq_factor (%s) but was %s",
        lowFreqFactor,
        highFreqFactor);
    checkArgument(
        originalMaxPositionEmbeddings > 0,
        "rope_scaling.original_max_position_embeddings must be > 0 but was %s",
        originalMaxPositionEmbeddings);
  }
}
