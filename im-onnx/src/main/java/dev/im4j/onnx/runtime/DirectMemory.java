package dev.im4j.onnx.runtime;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.util.Locale;

/**
 * The JVM's direct-memory limit ({@code -XX:MaxDirectMemorySize}, by default the maximum heap size,
 * a quarter of RAM), checked before a runtime allocates its buffers: past it, allocation ends in an
 * {@link OutOfMemoryError} halfway through loading.
 */
final class DirectMemory {
  private static final double GIB = 1L << 30;

  private DirectMemory() {}

  /**
   * Fails if {@code bytes} more would pass the limit, naming the flag to set.
   *
   * @param who what allocates ("the portable runtime"), the start of the message
   * @param what what the bytes are for
   * @param alternative appended to the advice, e.g. another runtime; may be empty
   * @throws TrainingRuntimeException if the limit would be passed
   */
  static void require(long bytes, String who, String what, String alternative) {
    long limit = limit();
    long used = 0;
    for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
      if (pool.getName().equals("direct")) {
        used = pool.getMemoryUsed();
      }
    }
    if (limit > 0 && bytes + used > limit) {
      throw new TrainingRuntimeException(
          String.format(
              Locale.ROOT,
              "%s needs %.1f GiB of direct memory for %s but this JVM allows %.1f GiB (%.1f GiB in"
                  + " use); start java with -XX:MaxDirectMemorySize=%dg%s",
              who,
              bytes / GIB,
              what,
              limit / GIB,
              used / GIB,
              (long) Math.ceil((bytes + used) / GIB) + 1,
              alternative));
    }
  }

  /** {@code -XX:MaxDirectMemorySize}, or the heap's maximum when unset (HotSpot's default). */
  private static long limit() {
    try {
      String value =
          ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
              .getVMOption("MaxDirectMemorySize")
              .getValue();
      long bytes = Long.parseLong(value);
      return bytes > 0 ? bytes : Runtime.getRuntime().maxMemory();
    } catch (RuntimeException e) {
      return -1; // not HotSpot: no check
    }
  }
}
