package dev.im4j.bench;

import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Compares two builds of the data path pass by pass in one JVM: one {@link MaskCollateBenchmark}
 * method of two benchmarks jars (say, a commit and its parent), each loaded in a class loader of
 * its own, on the same examples, passes alternated (A then B, then B then A, ...), so that both see
 * the same machine states. Prints the median and quartiles over pairs of the ratio of A's pass time
 * to B's: B's speed-up. On a shared virtual machine this tells a few percent apart, where means of
 * runs taken one after the other do not (docs/benchmarks.md); run it both ways round to see any
 * bias of the order (a jar against a copy of itself gives about 1.01).
 *
 * <p>The first jar renders and tokenizes the examples (the tokenizer's native library loads once
 * per JVM); the second jar's benchmark gets copies of the same renderings and encodings, built
 * through its own classes, and masks them with its own code.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar dev.im4j.bench.PairedJars A.jar B.jar
 * seconds method layout examplesPerStep}, e.g. {@code old.jar new.jar 60 maskAndCollate grouped
 * 64}; the first 10 s are warm-up. Both jars must be benchmarks jars built from this module, of
 * commits whose {@link MaskCollateBenchmark} has the {@code examplesPerStep} parameter.
 */
public final class PairedJars {
  private PairedJars() {}

  public static void main(String[] args) throws ReflectiveOperationException {
    if (args.length != 6) {
      throw new IllegalArgumentException(
          "usage: PairedJars A.jar B.jar seconds method layout examplesPerStep");
    }
    String method = args[3];
    String layout = args[4];
    int step = Integer.parseInt(args[5]);
    Side a = Side.load(Path.of(args[0]), method, layout, step, null);
    Side b = Side.load(Path.of(args[1]), method, layout, step, a);
    long end = System.nanoTime() + Mains.WARM_UP_NANOS;
    while (System.nanoTime() < end) {
      a.pass();
      b.pass();
    }
    double[] ratios = new double[1024];
    int pairs = 0;
    end = System.nanoTime() + Long.parseLong(args[2]) * 1_000_000_000L;
    while (System.nanoTime() < end) {
      long ta;
      long tb;
      if (pairs % 2 == 0) {
        ta = a.pass();
        tb = b.pass();
      } else {
        tb = b.pass();
        ta = a.pass();
      }
      if (pairs == ratios.length) {
        ratios = Arrays.copyOf(ratios, 2 * pairs);
      }
      ratios[pairs++] = (double) ta / tb;
    }
    if (pairs < 10) {
      throw new IllegalStateException("only " + pairs + " pairs were measured; run longer");
    }
    double[] sorted = Arrays.copyOf(ratios, pairs);
    Arrays.sort(sorted);
    System.out.printf(
        "%s %s %d: %d pairs, speed-up of B (A's time / B's) median %.3f, quartiles %.3f-%.3f%n",
        method, layout, step, pairs, sorted[pairs / 2], sorted[pairs / 4], sorted[3 * pairs / 4]);
  }

  /** One jar's benchmark, ready to run passes of one method. */
  private static final class Side {
    private final Object benchmark;
    private final Method method;
    private final Object counter;
    private final Object blackhole;

    private Side(Object benchmark, Method method, Object counter, Object blackhole) {
      this.benchmark = benchmark;
      this.method = method;
      this.counter = counter;
      this.blackhole = blackhole;
    }

    /**
     * Loads {@code jar}'s benchmark with these parameters; sets it up from scratch, or with copies
     * of {@code first}'s examples if given.
     */
    static Side load(Path jar, String methodName, String layout, int step, Side first)
        throws ReflectiveOperationException {
      URLClassLoader loader;
      try {
        loader =
            new URLClassLoader(
                new URL[] {jar.toUri().toURL()}, ClassLoader.getPlatformClassLoader());
      } catch (MalformedURLException e) {
        throw new IllegalArgumentException(jar + " is not a valid path", e);
      }
      Class<?> type = loader.loadClass(MaskCollateBenchmark.class.getName());
      Object benchmark = accessible(type.getDeclaredConstructor()).newInstance();
      set(benchmark, "layout", layout);
      set(benchmark, "examplesPerStep", step);
      if (first == null) {
        Thread.currentThread().setContextClassLoader(loader); // where the tokenizer looks
        call(benchmark, "setUp");
      } else {
        copyExamples(first.benchmark, benchmark, loader);
      }
      Method method = null;
      for (Method m : type.getDeclaredMethods()) {
        if (m.getName().equals(methodName) && m.getParameterCount() == 2) {
          method = accessible(m);
        }
      }
      if (method == null) {
        throw new IllegalArgumentException("no benchmark method " + methodName);
      }
      Object counter =
          loader
              .loadClass(MaskCollateBenchmark.Tokens.class.getName())
              .getDeclaredConstructor()
              .newInstance();
      Object blackhole =
          accessible(loader.loadClass(Mains.class.getName()).getDeclaredMethod("blackhole"))
              .invoke(null);
      return new Side(benchmark, method, counter, blackhole);
    }

    /** Nanoseconds of one pass. */
    long pass() throws ReflectiveOperationException {
      long t0 = System.nanoTime();
      method.invoke(benchmark, counter, blackhole);
      return System.nanoTime() - t0;
    }
  }

  /**
   * Gives {@code to} (loaded by {@code loader}) the renderings and encodings of {@code from},
   * rebuilt through {@code loader}'s classes, and masks them with {@code to}'s mask builder.
   */
  private static void copyExamples(Object from, Object to, ClassLoader loader)
      throws ReflectiveOperationException {
    Class<?> renderedType = loader.loadClass("dev.im4j.core.template.RenderedConversation");
    Class<?> kindType = loader.loadClass("dev.im4j.core.template.SpanKind");
    Class<?> encodingType = loader.loadClass("dev.im4j.core.tokenizer.Encoding");
    Class<?> policyType = loader.loadClass("dev.im4j.core.mask.LossPolicy");
    Class<?> maskBuilderType = loader.loadClass("dev.im4j.core.mask.MaskBuilder");
    Class<?> predicateType = java.util.function.IntPredicate.class;
    Object isSpecial = get(get(from, "maskBuilder"), "isSpecial"); // a platform type: shareable
    Object policy = policyType.getMethod("instructionModelling").invoke(null);
    Object maskBuilder =
        maskBuilderType.getMethod("of", policyType, predicateType).invoke(null, policy, isSpecial);
    Method build = maskBuilderType.getMethod("build", renderedType, int.class, encodingType);
    List<?> renderings = (List<?>) get(from, "rendered");
    List<?> encodings = (List<?>) get(from, "encodings");
    List<?> messageCounts = (List<?>) get(from, "messageCounts");
    List<Object> newRenderings = new ArrayList<>();
    List<Object> newEncodings = new ArrayList<>();
    List<Object> examples = new ArrayList<>();
    for (int i = 0; i < renderings.size(); i++) {
      Object rendered = renderings.get(i);
      String text = (String) rendered.getClass().getMethod("text").invoke(rendered);
      Object builder = renderedType.getMethod("builder").invoke(null);
      for (Object span : (List<?>) rendered.getClass().getMethod("spans").invoke(rendered)) {
        Class<?> spanType = span.getClass();
        int start = (int) spanType.getMethod("start").invoke(span);
        int end = (int) spanType.getMethod("end").invoke(span);
        String kind = spanType.getMethod("kind").invoke(span).toString();
        int message = (int) spanType.getMethod("messageIndex").invoke(span);
        CharSequence piece = text.subSequence(start, end);
        if (kind.equals("TEMPLATE")) {
          builder.getClass().getMethod("template", CharSequence.class).invoke(builder, piece);
        } else {
          Object kindValue = kindType.getMethod("valueOf", String.class).invoke(null, kind);
          builder
              .getClass()
              .getMethod("content", CharSequence.class, kindType, int.class)
              .invoke(builder, piece, kindValue, message);
        }
      }
      Object newRendered = builder.getClass().getMethod("build").invoke(builder);
      Object encoding = encodings.get(i);
      Object newEncoding =
          encodingType
              .getConstructor(int[].class, int[].class, int[].class)
              .newInstance(
                  encoding.getClass().getMethod("ids").invoke(encoding),
                  encoding.getClass().getMethod("starts").invoke(encoding),
                  encoding.getClass().getMethod("ends").invoke(encoding));
      Object result = build.invoke(maskBuilder, newRendered, messageCounts.get(i), newEncoding);
      newRenderings.add(newRendered);
      newEncodings.add(newEncoding);
      examples.add(result.getClass().getMethod("example").invoke(result));
    }
    set(to, "rendered", newRenderings);
    set(to, "encodings", newEncodings);
    set(to, "messageCounts", new ArrayList<>(messageCounts));
    set(to, "examples", examples);
    set(to, "maskBuilder", maskBuilder);
    set(to, "tokensPerPass", get(from, "tokensPerPass"));
    call(to, "setUpCollator");
  }

  private static <T extends java.lang.reflect.AccessibleObject> T accessible(T member) {
    member.setAccessible(true);
    return member;
  }

  private static Object get(Object target, String field) throws ReflectiveOperationException {
    return field(target, field).get(target);
  }

  private static void set(Object target, String field, Object value)
      throws ReflectiveOperationException {
    field(target, field).set(target, value);
  }

  private static Field field(Object target, String name) throws NoSuchFieldException {
    return accessible(target.getClass().getDeclaredField(name));
  }

  private static void call(Object target, String method) throws ReflectiveOperationException {
    try {
      accessible(target.getClass().getDeclaredMethod(method)).invoke(target);
    } catch (InvocationTargetException e) {
      throw new IllegalStateException(method + " failed", e.getCause());
    }
  }
}
