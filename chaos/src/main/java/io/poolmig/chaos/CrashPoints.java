package io.poolmig.chaos;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The host workers' crash points ({@code POOLMIG_CRASH_AT}): a worker that reaches a listed point
 * prints {@code poolmig: crash point <point>} and halts at once, like SIGKILL.
 *
 * <p>Whether the poolmig build on the class path has them is found by looking for the variable's
 * name in its compiled classes ({@link #supportedIn}); without them, the harness kills the worker
 * itself when it observes the step instead (less precise, and it says so).
 */
final class CrashPoints {

  static final String PREPARE_AFTER = "prepare:after";
  static final String STREAM_MID = "stream:mid";
  static final String STREAM_FINAL_ROUND = "stream:final-round";
  static final String STREAM_AFTER = "stream:after";
  /** The target verified the copy at END and recorded it, before it answered the source. */
  static final String RECEIVE_VERIFIED = "receive:verified";
  static final String FENCE_AFTER = "fence:after";
  static final String UNPAUSE_BEFORE = "unpause:before";
  static final String DESTROY_BEFORE = "destroy:before";

  static final List<String> ALL = List.of(PREPARE_AFTER, STREAM_MID, STREAM_FINAL_ROUND,
      STREAM_AFTER, RECEIVE_VERIFIED, FENCE_AFTER, UNPAUSE_BEFORE, DESTROY_BEFORE);

  private static final byte[] MARK = WorkerNode.CRASH_ENV.getBytes(StandardCharsets.US_ASCII);

  private CrashPoints() {}

  /**
   * Whether a poolmig class on {@code classPath} names {@code POOLMIG_CRASH_AT}: the poolmig
   * jars (named {@code *poolmig*.jar}, the harness's own aside) and class directories are
   * searched, nothing else.
   */
  static boolean supportedIn(String classPath) {
    for (String entry : classPath.split(File.pathSeparator)) {
      if (entry.isBlank()) {
        continue;
      }
      Path p = Path.of(entry);
      try {
        if (Files.isDirectory(p) ? inDirectory(p)
            : p.getFileName().toString().contains("poolmig") && inJar(p)) {
          return true;
        }
      } catch (IOException | RuntimeException e) {
        // an unreadable entry holds no answer
      }
    }
    return false;
  }

  private static boolean inDirectory(Path dir) throws IOException {
    Path classes = dir.resolve("io").resolve("poolmig");
    if (!Files.isDirectory(classes)) {
      return false;
    }
    try (Stream<Path> files = Files.walk(classes)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (f.toString().endsWith(".class") && !f.toString().contains("/chaos/")
            && contains(Files.readAllBytes(f))) {
          return true;
        }
      }
    }
    return false;
  }

  private static boolean inJar(Path jar) throws IOException {
    if (!Files.isRegularFile(jar) || jar.getFileName().toString().contains("poolmig-chaos")) {
      return false;
    }
    try (ZipFile zip = new ZipFile(jar.toFile())) {
      Enumeration<? extends ZipEntry> entries = zip.entries();
      while (entries.hasMoreElements()) {
        ZipEntry e = entries.nextElement();
        if (e.getName().startsWith("io/poolmig/") && e.getName().endsWith(".class")
            && !e.getName().startsWith("io/poolmig/chaos/")) {
          try (InputStream in = zip.getInputStream(e)) {
            if (contains(in.readAllBytes())) {
              return true;
            }
          }
        }
      }
    }
    return false;
  }

  static boolean contains(byte[] haystack) {
    outer:
    for (int i = 0; i + MARK.length <= haystack.length; i++) {
      for (int j = 0; j < MARK.length; j++) {
        if (haystack[i + j] != MARK[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
