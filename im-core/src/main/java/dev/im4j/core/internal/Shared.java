package dev.im4j.core.internal;

import static com.google.common.base.Preconditions.checkNotNull;
import static com.google.common.base.Preconditions.checkState;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Not API: no compatibility is promised, and im-core's module descriptor does not export this
 * package.
 *
 * <p>Lets im-core's packages share the arrays of immutable objects instead of copying them. A class
 * that lends an array registers a {@link Lender} for itself ({@link #lend}) from its own static
 * initializer, which runs before any instance exists; a borrower asks once for the lender of that
 * class ({@link #lender}, which initializes the class first) and keeps it in a constant, so each
 * borrowing is a plain call. Whoever reads through a lender must never write the array.
 *
 * <p>Lenders are registered by class, so this package names none of them: the lending package
 * depends on this one and never the other way round (no package cycle).
 *
 * <p>One array is lent: an {@code Encoding}'s token ids, which a {@code TokenizedExample} keeps as
 * its own (both are immutable), so masking does not copy every token (docs/design.md, "Share
 * immutable arrays").
 */
public final class Shared {
  /**
   * Reads an array of an instance of {@code T} without copying.
   *
   * @param <T> the lending class
   */
  @FunctionalInterface
  public interface Lender<T> {
    /** The array of {@code owner} itself, not a copy: never write it. */
    int[] array(T owner);
  }

  private static final ConcurrentMap<Class<?>, Lender<?>> LENDERS = new ConcurrentHashMap<>();

  private Shared() {}

  /**
   * Registers the lender of {@code owner}'s array; called once, from {@code owner}'s static
   * initializer.
   *
   * @throws IllegalStateException if {@code owner} has registered a lender already
   */
  public static <T> void lend(Class<T> owner, Lender<T> lender) {
    checkNotNull(lender, "lender");
    checkState(
        LENDERS.putIfAbsent(owner, lender) == null,
        "%s has registered its lender already",
        owner.getName());
  }

  /**
   * The lender that {@code owner} registered, initializing {@code owner} first (its static
   * initializer registers it).
   *
   * @throws IllegalStateException if {@code owner} lends no array
   */
  @SuppressWarnings("unchecked") // lend pairs each class with a lender of that class
  public static <T> Lender<T> lender(Class<T> owner) {
    try {
      Class.forName(owner.getName(), true, owner.getClassLoader());
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException("cannot initialize " + owner.getName(), e); // it is loaded
    }
    Lender<?> lender = LENDERS.get(owner);
    checkState(lender != null, "%s lends no array", owner.getName());
    return (Lender<T>) lender;
  }
}
