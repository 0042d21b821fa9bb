package dev.im4j.core.mask;

/** Decides which tokens get loss. Implementation in progress. */
public final class MaskBuilder {
  private MaskBuilder() {}
}
