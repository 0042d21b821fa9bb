package dev.im4j.cli;

import com.google.common.io.MoreFiles;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;

/**
 * How the CLI writes its files: never over one of its inputs, and atomically, so a failure or a
 * kill leaves the previous file (or none) in place, never a fragment.
 */
final class OutputFiles {
  /** Prefix of the temporary siblings {@link #writeAtomically} creates. */
  static final String TEMP_PREFIX = ".im4j-tmp-";

  private OutputFiles() {}

  /** Writes the file's content to an output stream; may throw I/O errors. */
  interface Content {
    void writeTo(OutputStream out) throws IOException;
  }

  /**
   * Fails if {@code output} is the same file as one of {@code inputs} (also through links), so
   * opening the output cannot truncate an input.
   *
   * @param flag the output's option, for the message (e.g. {@code --out})
   * @throws IllegalArgumentException naming both paths
   */
  static void requireNotAnInput(Path output, String flag, List<Path> inputs) throws IOException {
    if (!Files.exists(output)) {
      return;
    }
    for (Path input : inputs) {
      if (input != null && Files.exists(input) && Files.isSameFile(output, input)) {
        throw new IllegalArgumentException(
            flag
                + " "
                + output
                + " is the input file "
                + input
                + "; writing it would destroy the input. Choose another output file");
      }
    }
  }

  /**
   * Writes {@code target} atomically: the content goes to a temporary file beside it, which is
   * synced and then renamed over {@code target}. On any failure the temporary file is deleted and
   * an existing {@code target} is left as it was. Stale temporaries of earlier killed writes of the
   * same target are deleted first.
   */
  static void writeAtomically(Path target, Content content) throws IOException {
    Path absolute = target.toAbsolutePath().normalize();
    Path parent = absolute.getParent();
    if (Files.isDirectory(absolute)) {
      throw new IllegalArgumentException(
          absolute + " is a directory; the output must be a file path");
    }
    Files.createDirectories(parent);
    deleteStaleTemporaries(parent, absolute.getFileName().toString());
    Path temp = Files.createTempFile(parent, tempPrefix(absolute.getFileName().toString()), "");
    try {
      try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE)) {
        // Buffered, and closing it only flushes: the channel must stay open for the sync.
        OutputStream out =
            new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16) {
              @Override
              public void close() throws IOException {
                flush();
              }
            };
        content.writeTo(out);
        out.flush();
        ch.force(true);
      }
      Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException | RuntimeException | Error e) {
      try {
        Files.deleteIfExists(temp);
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /**
   * Deletes temporaries that a killed {@link #writeAtomically} of {@code name} left in {@code dir}.
   */
  static void deleteStaleTemporaries(Path dir, String name) throws IOException {
    if (!Files.isDirectory(dir)) {
      return;
    }
    String prefix = tempPrefix(name);
    try (Stream<Path> s = Files.list(dir)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        if (p.getFileName().toString().startsWith(prefix)) {
          deleteTree(p);
        }
      }
    }
  }

  private static String tempPrefix(String name) {
    return TEMP_PREFIX + name + ".";
  }

  /** Deletes p and everything below it (links are deleted, not followed); absent is fine. */
  static void deleteTree(Path p) throws IOException {
    if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
      MoreFiles.deleteRecursively(p);
    }
  }
}
