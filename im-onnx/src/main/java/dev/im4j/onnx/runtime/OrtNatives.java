package dev.im4j.onnx.runtime;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtLoggingLevel;
import com.google.common.io.MoreFiles;
import java.io.IOException;
import java.io.InputStream;
import java.net.JarURLConnection;
import java.net.URL;
import java.net.URLConnection;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

/**
 * Points Microsoft's ONNX Runtime Java classes at bytedeco's training-enabled native library.
 *
 * <p>Microsoft's jar ({@code com.microsoft.onnxruntime:onnxruntime}) holds the {@code
 * ai.onnxruntime} classes, its JNI glue {@code libonnxruntime4j_jni.so} and a native library built
 * <em>without</em> the training API. bytedeco's natives jar ({@code
 * org.bytedeco:onnxruntime:<ort>-<javacpp>:linux-x86_64}, no classes) holds {@code
 * libonnxruntime.so.1} built <em>with</em> it. Before any {@code ai.onnxruntime} class is
 * initialised, {@link #environment()} copies Microsoft's JNI library and bytedeco's native library
 * into one cache directory and sets the system property {@value #NATIVE_PATH_PROPERTY} to it, which
 * makes Microsoft's loader take both from there. The JNI library needs {@code libonnxruntime.so.1}
 * (its {@code DT_NEEDED}); the loader opens {@code libonnxruntime.so}: both names are provided.
 *
 * <p>The cache directory is {@code <root>/ort-<version>-<key>} where the root is the system
 * property {@value #CACHE_DIR_PROPERTY}, else {@code $XDG_CACHE_HOME/im4j}, else {@code
 * ~/.cache/im4j}, and the key hashes the names, sizes and CRCs of the copied entries, so a changed
 * jar gets a fresh directory. A directory is written under a temporary name, synced, then renamed
 * into place, so concurrent JVMs never see half a library.
 *
 * <p>If the user already set {@value #NATIVE_PATH_PROPERTY}, nothing is extracted and that
 * directory is used. Without bytedeco's natives on the class path, Microsoft's jar loads its own
 * library (any platform it ships, no training API): the portable runtime, inference and generation
 * run on it, and {@link #requireTraining} explains what the training-API runtime needs. Either way,
 * after loading, the native version must equal the Java classes' version; otherwise {@link
 * TrainingRuntimeException} says which and how to fix it. Thread-safe.
 */
final class OrtNatives {
  static final String NATIVE_PATH_PROPERTY = "onnxruntime.native.path";
  static final String CACHE_DIR_PROPERTY = "im4j.ort.cacheDir";

  private static final String MICROSOFT_JNI =
      "ai/onnxruntime/native/linux-x64/libonnxruntime4j_jni.so";
  private static final String BYTEDECO_POM_PROPERTIES =
      "META-INF/maven/org.bytedeco/onnxruntime/pom.properties";

  /** bytedeco platform folders, GPU build first: whichever natives jar is on the class path. */
  private static final List<String> BYTEDECO_DIRS =
      List.of(
          "org/bytedeco/onnxruntime/linux-x86_64-gpu/", "org/bytedeco/onnxruntime/linux-x86_64/");

  private static final String ORT_LIBRARY = "libonnxruntime.so.1";
  private static final String ORT_LIBRARY_LOADER_NAME = "libonnxruntime.so";
  private static final String JNI_LIBRARY = "libonnxruntime4j_jni.so";

  /** Provider libraries ORT loads itself by name from its own directory when present (CUDA). */
  private static final List<String> OPTIONAL_PROVIDER_LIBRARIES =
      List.of("libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so");

  private static OrtEnvironment environment; // guarded by OrtNatives.class

  private OrtNatives() {}

  /**
   * Returns ONNX Runtime's environment, loading the training-enabled natives on first use.
   *
   * @throws TrainingRuntimeException if this is not Linux x86-64, a jar is missing, the versions
   *     differ, extraction fails, or the loaded library has no training API
   */
  static synchronized OrtEnvironment environment() {
    if (environment != null) {
      return environment;
    }
    String javaVersion = prepareNativePath();
    OrtEnvironment env;
    try {
      // Errors only: ONNX Runtime warns about every constant it folds away while optimising.
      env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
    } catch (RuntimeException | LinkageError e) {
      throw new TrainingRuntimeException(
          "could not load ONNX Runtime from "
              + NATIVE_PATH_PROPERTY
              + "="
              + System.getProperty(NATIVE_PATH_PROPERTY)
              + ": "
              + e.getMessage(),
          e);
    }
    String nativeVersion = env.getVersion();
    if (javaVersion != null && !javaVersion.equals(nativeVersion)) {
      throw new TrainingRuntimeException(
          "ONNX Runtime native library version "
              + nativeVersion
              + " does not match the Java classes' version "
              + javaVersion
              + " (native path "
              + System.getProperty(NATIVE_PATH_PROPERTY)
              + "); use com.microsoft.onnxruntime:onnxruntime and org.bytedeco:onnxruntime of the"
              + " same ONNX Runtime release");
    }
    environment = env;
    return env;
  }

  /**
   * Fails unless the loaded library has ONNX Runtime's training API (the training-API runtime's
   * need), saying how to get it.
   */
  static void requireTraining(OrtEnvironment env) {
    if (env.isTrainingEnabled()) {
      return;
    }
    String nativePath = System.getProperty(NATIVE_PATH_PROPERTY);
    throw new TrainingRuntimeException(
        nativePath == null
            ? "the loaded ONNX Runtime "
                + env.getVersion()
                + " is Microsoft's, built without the training API; add bytedeco's"
                + " training-enabled natives (org.bytedeco:onnxruntime, classifier linux-x86_64 or"
                + " linux-x86_64-gpu, docs/runtimes.md) or train on the portable runtime"
                + " (Trainer.Runtime.PORTABLE, im4j train --runtime portable)"
            : "the loaded ONNX Runtime "
                + env.getVersion()
                + " has no training API (native path "
                + nativePath
                + "); either ONNX Runtime was initialised before im4j set "
                + NATIVE_PATH_PROPERTY
                + " (open the im4j runtime first) or that property names a directory without"
                + " bytedeco's training-enabled libonnxruntime.so");
  }

  /**
   * Sets {@value #NATIVE_PATH_PROPERTY} (unless the user did) and returns the Java classes'
   * version, or null if it cannot be read (classes not from Microsoft's jar).
   */
  private static String prepareNativePath() {
    ClassLoader loader = OrtNatives.class.getClassLoader();
    URL jni = loader.getResource(MICROSOFT_JNI);
    String javaVersion = jni == null ? null : manifestVersion(jni);
    if (System.getProperty(NATIVE_PATH_PROPERTY) != null) {
      return javaVersion;
    }
    URL ort = null;
    String ortDir = null;
    for (String dir : BYTEDECO_DIRS) {
      ort = loader.getResource(dir + ORT_LIBRARY);
      if (ort != null) {
        ortDir = dir;
        break;
      }
    }
    if (ort == null) {
      return javaVersion; // Microsoft's jar loads its own library (see the class comment)
    }
    if (jni == null) {
      throw new TrainingRuntimeException(
          "bytedeco's ONNX Runtime natives are on the class path but Microsoft's Linux x86-64 jar"
              + " is not (no resource "
              + MICROSOFT_JNI
              + "); add com.microsoft.onnxruntime:onnxruntime");
    }
    String bytedecoVersion = bytedecoOrtVersion(ort);
    if (javaVersion != null && bytedecoVersion != null && !javaVersion.equals(bytedecoVersion)) {
      throw new TrainingRuntimeException(
          "ONNX Runtime versions differ: Microsoft's Java classes are "
              + javaVersion
              + " but bytedeco's native library is "
              + bytedecoVersion
              + "; pin both to the same ONNX Runtime release (e.g. onnxruntime 1.24.1 with"
              + " org.bytedeco:onnxruntime 1.24.1-1.5.13)");
    }
    List<NativeFile> files = new ArrayList<>();
    files.add(new NativeFile(jni, JNI_LIBRARY));
    files.add(new NativeFile(ort, ORT_LIBRARY));
    for (String provider : OPTIONAL_PROVIDER_LIBRARIES) {
      URL url = loader.getResource(ortDir + provider);
      if (url != null) {
        files.add(new NativeFile(url, provider));
      }
    }
    String version = javaVersion != null ? javaVersion : "unknown";
    Path dir = extract(cacheRoot(), version, files);
    System.setProperty(NATIVE_PATH_PROPERTY, dir.toString());
    return javaVersion;
  }

  /** One library to copy: where it is on the class path and its file name in the cache. */
  record NativeFile(URL source, String fileName) {}

  static Path cacheRoot() {
    String property = System.getProperty(CACHE_DIR_PROPERTY);
    if (property != null && !property.isBlank()) {
      return Path.of(property);
    }
    String xdg = System.getenv("XDG_CACHE_HOME");
    if (xdg != null && !xdg.isBlank()) {
      return Path.of(xdg, "im4j");
    }
    return Path.of(System.getProperty("user.home"), ".cache", "im4j");
  }

  /**
   * Copies the files into {@code root/ort-<version>-<key>} unless that directory is already
   * complete, and returns it. {@code files} must include {@code libonnxruntime.so.1}.
   */
  static Path extract(Path root, String version, List<NativeFile> files) {
    try {
      Files.createDirectories(root);
      Path target = root.resolve("ort-" + version + "-" + contentKey(files));
      if (isComplete(target, files)) {
        return target;
      }
      // Renames are atomic, so an incomplete directory was damaged by hand: replace it.
      deleteTree(target);
      Path staging = Files.createTempDirectory(root, ".ort-staging-");
      try {
        for (NativeFile file : files) {
          Path out = staging.resolve(file.fileName());
          try (InputStream in = file.source().openStream()) {
            Files.copy(in, out);
          }
          fsync(out);
        }
        try {
          Files.createSymbolicLink(staging.resolve(ORT_LIBRARY_LOADER_NAME), Path.of(ORT_LIBRARY));
        } catch (UnsupportedOperationException | IOException noLinks) {
          // File systems without symbolic links get a second copy.
          Files.copy(staging.resolve(ORT_LIBRARY), staging.resolve(ORT_LIBRARY_LOADER_NAME));
          fsync(staging.resolve(ORT_LIBRARY_LOADER_NAME));
        }
        fsync(staging);
        try {
          Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException raced) {
          // Another JVM finished first; its copy has the same content key.
          if (!isComplete(target, files)) {
            throw new IOException(
                "incomplete native cache directory " + target + "; delete it and retry", raced);
          }
        } catch (AtomicMoveNotSupportedException e) {
          throw new IOException("the cache file system cannot rename atomically: " + root, e);
        }
        fsync(root);
      } finally {
        deleteTree(staging);
      }
      return target;
    } catch (IOException e) {
      throw new TrainingRuntimeException(
          "could not extract the ONNX Runtime native libraries into "
              + root
              + ": "
              + e
              + "; make that directory writable or choose another with -D"
              + CACHE_DIR_PROPERTY
              + "=DIR",
          e);
    }
  }

  private static boolean isComplete(Path dir, List<NativeFile> files) throws IOException {
    if (!Files.isDirectory(dir) || !Files.exists(dir.resolve(ORT_LIBRARY_LOADER_NAME))) {
      return false;
    }
    for (NativeFile file : files) {
      Path path = dir.resolve(file.fileName());
      if (!Files.isRegularFile(path) || Files.size(path) != sourceSize(file.source())) {
        return false;
      }
    }
    return true;
  }

  /** SHA-256 over each entry's name, size and CRC (from the jar), or its bytes if not in a jar. */
  private static String contentKey(List<NativeFile> files) throws IOException {
    MessageDigest digest = sha256();
    for (NativeFile file : files) {
      digest.update(file.fileName().getBytes(StandardCharsets.UTF_8));
      JarEntry entry = jarEntry(file.source());
      if (entry != null && entry.getCrc() != -1) {
        digest.update(
            ByteBuffer.allocate(16).putLong(entry.getSize()).putLong(entry.getCrc()).flip());
      } else {
        try (InputStream in = file.source().openStream()) {
          byte[] buffer = new byte[1 << 16];
          for (int n; (n = in.read(buffer)) > 0; ) {
            digest.update(buffer, 0, n);
          }
        }
      }
    }
    return HexFormat.of().formatHex(digest.digest(), 0, 8);
  }

  private static long sourceSize(URL source) throws IOException {
    JarEntry entry = jarEntry(source);
    if (entry != null && entry.getSize() >= 0) {
      return entry.getSize();
    }
    URLConnection connection = source.openConnection();
    return connection.getContentLengthLong();
  }

  private static JarEntry jarEntry(URL source) throws IOException {
    URLConnection connection = source.openConnection();
    if (connection instanceof JarURLConnection jar) {
      jar.setUseCaches(false);
      try (JarFile file = jar.getJarFile()) {
        return file.getJarEntry(jar.getEntryName());
      }
    }
    return null;
  }

  /** Implementation-Version of the jar holding the resource, or null. */
  private static String manifestVersion(URL resource) {
    try {
      URLConnection connection = resource.openConnection();
      if (connection instanceof JarURLConnection jar) {
        jar.setUseCaches(false);
        try (JarFile file = jar.getJarFile()) {
          Manifest manifest = file.getManifest();
          return manifest == null
              ? null
              : manifest.getMainAttributes().getValue("Implementation-Version");
        }
      }
      return null;
    } catch (IOException e) {
      throw new TrainingRuntimeException(
          "cannot read the manifest of the jar holding " + resource + ": " + e, e);
    }
  }

  /** The ONNX Runtime part of bytedeco's version ({@code 1.24.1} of {@code 1.24.1-1.5.13}). */
  private static String bytedecoOrtVersion(URL resource) {
    try {
      URLConnection connection = resource.openConnection();
      if (!(connection instanceof JarURLConnection jar)) {
        return null;
      }
      jar.setUseCaches(false);
      try (JarFile file = jar.getJarFile()) {
        JarEntry entry = file.getJarEntry(BYTEDECO_POM_PROPERTIES);
        if (entry == null) {
          return null;
        }
        Properties properties = new Properties();
        try (InputStream in = file.getInputStream(entry)) {
          properties.load(in);
        }
        String version = properties.getProperty("version");
        if (version == null) {
          return null;
        }
        int dash = version.indexOf('-');
        return dash < 0 ? version : version.substring(0, dash);
      }
    } catch (IOException e) {
      throw new TrainingRuntimeException(
          "cannot read the version of the jar holding " + resource + ": " + e, e);
    }
  }

  private static void fsync(Path path) throws IOException {
    try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
      channel.force(true);
    }
  }

  /** Deletes dir and everything below it (links are deleted, not followed); absent is fine. */
  private static void deleteTree(Path dir) throws IOException {
    if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      MoreFiles.deleteRecursively(dir);
    }
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }
}
