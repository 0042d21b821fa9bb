package dev.im4j.bench.onnx;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;

/**
 * Where a benchmark's memory goes, by phase: a daemon thread samples the process's resident set
 * ({@code VmRSS} of /proc/self/status) and the Java heap (used and committed) every {@value
 * #PERIOD_MS} ms and keeps each phase's maxima. The phases are set by the benchmark as it passes
 * them; a phase shorter than the period may be missed, so the harness still takes the peak from
 * {@code /usr/bin/time -v}. With the system property {@code im4j.bench.memoryTimeline=true} every
 * sample is also printed to standard error ({@code MEM t_s= phase= rss_mib= heap_used_mib=
 * heap_committed_mib=}).
 */
final class MemorySampler {
  /** Sampling period. */
  static final long PERIOD_MS = 100;

  /** The benchmark's phases, in order. */
  enum Phase {
    /** Config, weights and data, before the trainer runs. */
    INIT,
    /** Training graph, artifacts, session and the first step. */
    FIRST_STEP,
    /** Steps 2 to the last. */
    STEPS,
    /** After the last step: the final checkpoint and what the trainer does at its end. */
    FINAL_CHECKPOINT
  }

  private final Map<Phase, long[]> maxima = new EnumMap<>(Phase.class); // rss, used, committed
  private final MemoryMXBean heap = ManagementFactory.getMemoryMXBean();
  private final boolean timeline = Boolean.getBoolean("im4j.bench.memoryTimeline");
  private final long start = System.nanoTime();
  private final Thread thread;
  private volatile Phase phase = Phase.INIT;
  private volatile boolean running = true;

  private MemorySampler() {
    thread = new Thread(this::loop, "memory-sampler");
    thread.setDaemon(true);
  }

  static MemorySampler start() {
    MemorySampler s = new MemorySampler();
    s.thread.start();
    return s;
  }

  void phase(Phase next) {
    sample(); // the end of the previous phase
    phase = next;
  }

  Phase phase() {
    return phase;
  }

  /** Stops sampling after one last sample. */
  void stop() {
    running = false;
    thread.interrupt();
    try {
      thread.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    sample();
  }

  /** {@code <phase>_rss_mib=... <phase>_heap_used_mib=... <phase>_heap_committed_mib=...}. */
  synchronized String summary() {
    StringJoiner j = new StringJoiner(" ");
    maxima.forEach(
        (p, m) -> {
          String k = p.name().toLowerCase(Locale.ROOT);
          j.add(k + "_rss_mib=" + m[0]);
          j.add(k + "_heap_used_mib=" + m[1]);
          j.add(k + "_heap_committed_mib=" + m[2]);
        });
    return j.toString();
  }

  private void loop() {
    while (running) {
      sample();
      try {
        Thread.sleep(PERIOD_MS);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private synchronized void sample() {
    long rss = rssMib();
    long used = heap.getHeapMemoryUsage().getUsed() >> 20;
    long committed = heap.getHeapMemoryUsage().getCommitted() >> 20;
    long[] m = maxima.computeIfAbsent(phase, p -> new long[3]);
    m[0] = Math.max(m[0], rss);
    m[1] = Math.max(m[1], used);
    m[2] = Math.max(m[2], committed);
    if (timeline) {
      System.err.printf(
          Locale.ROOT,
          "MEM t_s=%.1f phase=%s rss_mib=%d heap_used_mib=%d heap_committed_mib=%d%n",
          (System.nanoTime() - start) / 1e9,
          phase,
          rss,
          used,
          committed);
    }
  }

  private static long rssMib() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
        }
      }
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
    return -1;
  }
}
