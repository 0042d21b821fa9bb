package dev.im4j.core.collate;

/**
 * Which end of a row receives padding. Loss and gradient do not depend on it (invariant 12 of
 * docs/invariants.md).
 */
public enum PaddingSide {
  /** Padding before the tokens; common for generation, equivalent for training. */
  LEFT,
  /** Padding after the tokens; the usual choice for training. */
  RIGHT
}
