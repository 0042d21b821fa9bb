/**
 * Collation: {@link dev.im4j.core.mask.TokenizedExample}s to {@link dev.im4j.core.collate.Batch}es
 * for a native runtime, with truncation, the one and only label shift, padding and optional
 * packing.
 *
 * <p>Entry point: {@link dev.im4j.core.collate.Collator#of(CollatorConfig)}. Invariants 11 to 14
 * and 17 of {@code docs/invariants.md} hold here.
 */
package dev.im4j.core.collate;
