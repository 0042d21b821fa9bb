package dev.im4j.core.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.im4j.core.tokenizer.Encoding;
import org.junit.jupiter.api.Test;

/** {@link Shared}: an encoding lends its ids array itself, while its public API copies. */
final class SharedTest {
  @Test
  void anEncodingLendsItsIdsWithoutCopying() {
    int[] ids = {7, 8, 9};
    Encoding encoding = new Encoding(ids, new int[] {0, 1, 2}, new int[] {1, 2, 3});
    int[] lent = Shared.lender(Encoding.class).array(encoding);
    assertArrayEquals(ids, lent);
    assertSame(lent, Shared.lender(Encoding.class).array(encoding), "the same array every time");
    assertNotSame(ids, lent, "the constructor copies in");
    assertNotSame(lent, encoding.ids(), "the accessor copies out");
  }

  @Test
  void aClassThatLendsNothingIsRefused() {
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> Shared.lender(String.class));
    assertEquals("java.lang.String lends no array", e.getMessage());
  }

  @Test
  void aSecondLenderForAClassIsRefused() {
    Shared.lender(Encoding.class); // initializes Encoding, which registers its lender
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class, () -> Shared.lend(Encoding.class, encoding -> new int[0]));
    assertEquals(
        "dev.im4j.core.tokenizer.Encoding has registered its lender already", e.getMessage());
  }
}
