package dev.im4j.core.collate;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

/**
 * How the {@link Collator} lays examples out into batches.
 *
 * <p>Build with {@link #of(int)} for the defaults or {@link #builder(int)} to change them. Defaults
 * follow the paper's setup (right truncation, no packing), except that a step's padded rows are
 * grouped by length, which changes no gradient and computes less padding:
 *
 * <ul>
 *   <li>{@code truncation} = {@link #DEFAULT_TRUNCATION} ({@link TruncationStrategy#KEEP_START})
 *   <li>{@code paddingSide} = {@link #DEFAULT_PADDING_SIDE} ({@link PaddingSide#RIGHT})
 *   <li>{@code padToMultipleOf} = {@link #DEFAULT_PAD_TO_MULTIPLE_OF} (1: no rounding)
 *   <li>{@code padId} = {@link #DEFAULT_PAD_ID} (0)
 *   <li>{@code packing} = {@link #DEFAULT_PACKING} (false: one example per row)
 *   <li>{@code groupByLength} = {@link #DEFAULT_GROUP_BY_LENGTH} (true: a step's rows by length)
 *   <li>{@code seed} = {@link #DEFAULT_SEED} (0)
 * </ul>
 *
 * @param maxLength the most tokens one example (padded layout) or one row (packed layout) may hold,
 *     {@code > 0}; there is no default
 * @param truncation what to do with an example longer than {@code maxLength}
 * @param paddingSide which end of a row is padded
 * @param padToMultipleOf each batch's row length is rounded up to a multiple of this, {@code > 0}
 * @param padId the token id written into padding cells, {@code >= 0}; padding is identified by
 *     segment id 0, never by this id, so it may equal EOS
 * @param packing whether several examples share a row (best-fit decreasing into rows of {@code
 *     maxLength}, attention isolated by segment ids)
 * @param groupByLength order the rows of a step by decreasing length, so that each batch holds
 *     examples of similar length and less padding is written and computed; false keeps the padded
 *     rows in input order. One {@link Collator#collate} call covers one optimizer step and the
 *     step's loss coefficients do not depend on the batch an example lands in, so grouping leaves
 *     the step's gradient unchanged (up to floating-point summation order, and to NEFTune noise,
 *     which is drawn per batch). Packing orders examples by length itself, so it requires true
 * @param seed fixes the packing order: equal inputs and seeds give equal batches
 */
public record CollatorConfig(
    int maxLength,
    TruncationStrategy truncation,
    PaddingSide paddingSide,
    int padToMultipleOf,
    int padId,
    boolean packing,
    boolean groupByLength,
    long seed) {

  /** Default truncation: cut the end, as the paper does. */
  public static final TruncationStrategy DEFAULT_TRUNCATION = TruncationStrategy.KEEP_START;

  /** Default padding side. */
  public static final PaddingSide DEFAULT_PADDING_SIDE = PaddingSide.RIGHT;

  /** Default row-length multiple: 1, no rounding. */
  public static final int DEFAULT_PAD_TO_MULTIPLE_OF = 1;

  /** Default padding token id. */
  public static final int DEFAULT_PAD_ID = 0;

  /** Default layout: one example per row, as the paper trains. */
  public static final boolean DEFAULT_PACKING = false;

  /**
   * Default row order: by decreasing length within each step. Less padding than input order (cells
   * per token of each layout: {@code LayoutCells} in docs/benchmarks.md) and the same gradient.
   */
  public static final boolean DEFAULT_GROUP_BY_LENGTH = true;

  /** Default packing seed. */
  public static final long DEFAULT_SEED = 0L;

  public CollatorConfig {
    checkArgument(
        maxLength > 0,
        "maxLength must be > 0 but was %s; set the longest sequence the model accepts, e.g. 2048",
        maxLength);
    checkNotNull(truncation, "truncation must not be null; pick a TruncationStrategy");
    checkNotNull(paddingSide, "paddingSide must not be null; pick LEFT or RIGHT");
    checkArgument(
        padToMultipleOf > 0,
        "padToMultipleOf must be > 0 but was %s; use 1 for no rounding",
        padToMultipleOf);
    checkArgument(
        padId >= 0,
        "padId must be a vocabulary id >= 0 but was %s; use any valid id (EOS is fine)",
        padId);
    checkArgument(
        groupByLength || !packing,
        "packing orders examples by length, so it cannot keep input order (groupByLength ="
            + " false); turn packing off for padded rows in input order");
  }

  /** The defaults listed in the class documentation, with the given {@code maxLength}. */
  public static CollatorConfig of(int maxLength) {
    return builder(maxLength).build();
  }

  /** A builder starting from the defaults, with the given {@code maxLength}. */
  public static Builder builder(int maxLength) {
    return new Builder(maxLength);
  }

  /** A builder starting from this configuration. */
  public Builder toBuilder() {
    return new Builder(maxLength)
        .truncation(truncation)
        .paddingSide(paddingSide)
        .padToMultipleOf(padToMultipleOf)
        .padId(padId)
        .packing(packing)
        .groupByLength(groupByLength)
        .seed(seed);
  }

  /** Mutable builder for {@link CollatorConfig}; validation happens in {@link #build()}. */
  public static final class Builder {
    private int maxLength;
    private TruncationStrategy truncation = DEFAULT_TRUNCATION;
    private PaddingSide paddingSide = DEFAULT_PADDING_SIDE;
    private int padToMultipleOf = DEFAULT_PAD_TO_MULTIPLE_OF;
    private int padId = DEFAULT_PAD_ID;
    private boolean packing = DEFAULT_PACKING;
    private boolean groupByLength = DEFAULT_GROUP_BY_LENGTH;
    private long seed = DEFAULT_SEED;

    private Builder(int maxLength) {
      this.maxLength = maxLength;
    }

    public Builder maxLength(int value) {
      this.maxLength = value;
      return this;
    }

    public Builder truncation(TruncationStrategy value) {
      this.truncation = value;
      return this;
    }

    public Builder paddingSide(PaddingSide value) {
      this.paddingSide = value;
      return this;
    }

    public Builder padToMultipleOf(int value) {
      this.padToMultipleOf = value;
      return this;
    }

    public Builder padId(int value) {
      this.padId = value;
      return this;
    }

    public Builder packing(boolean value) {
      this.packing = value;
      return this;
    }

    public Builder groupByLength(boolean value) {
      this.groupByLength = value;
      return this;
    }

    public Builder seed(long value) {
      this.seed = value;
      return this;
    }

    /**
     * The validated configuration.
     *
     * @throws IllegalArgumentException if a value is out of range
     * @throws NullPointerException if an enum value is null
     */
    public CollatorConfig build() {
      return new CollatorConfig(
          maxLength, truncation, paddingSide, padToMultipleOf, padId, packing, groupByLength, seed);
    }
  }
}
