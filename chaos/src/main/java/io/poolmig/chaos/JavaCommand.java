package io.poolmig.chaos;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * How the harness starts a JVM of its own: the same {@code java} and the same class path as the
 * running one, as {@code WorkerCrashTest} does ({@code java.class.path}; under Surefire that is
 * the test class path, which holds every poolmig module).
 *
 * <p>Child JVMs get a small heap and the serial collector, so a dozen of them fit a 2-core
 * machine, their logging configuration from {@code logbackConfig} when given, and a dynamic CDS
 * archive of the worker's classes when the pool made one ({@link #withClassArchive}): that halves
 * a worker's start-up, which is what most of a restart costs.
 *
 * @param logbackConfig a logback XML for the children, or null for whatever the class path has
 * @param classArchive a CDS archive ({@code -XX:SharedArchiveFile}) made with this very class
 *     path, or null
 */
record JavaCommand(String javaBinary, String classPath, Path logbackConfig, Path classArchive) {

  /** The running JVM's {@code java} and class path. */
  static JavaCommand ofThisJvm(Path logbackConfig) {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    return new JavaCommand(java, System.getProperty("java.class.path"), logbackConfig, null);
  }

  /**
   * Copies every class path entry into {@code dir} and returns a command that uses the copies:
   * the pool then runs one build from start to end, however often someone rebuilds the working
   * tree meanwhile (a rebuild would also invalidate the class archive). A class directory (a
   * module's {@code target/classes} under Maven) is copied as a jar: the JVM makes no class
   * archive for a class path with a non-empty directory on it. Entries that do not exist are
   * dropped, as the JVM ignores them too.
   */
  JavaCommand snapshot(Path dir) throws IOException {
    Files.createDirectories(dir);
    List<String> copies = new ArrayList<>();
    int i = 0;
    for (String entry : classPath.split(File.pathSeparator)) {
      if (entry.isBlank()) {
        continue;
      }
      Path from = Path.of(entry);
      if (!Files.exists(from)) {
        continue;
      }
      boolean classDirectory = Files.isDirectory(from);
      Path to = dir.resolve(String.format("%03d-%s%s", i++, from.getFileName(),
          classDirectory ? ".jar" : ""));
      if (classDirectory) {
        jar(from, to);
      } else {
        Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
      }
      copies.add(to.toAbsolutePath().toString());
    }
    return new JavaCommand(javaBinary, String.join(File.pathSeparator, copies), logbackConfig,
        classArchive);
  }

  private static void jar(Path from, Path to) throws IOException {
    List<Path> all;
    try (Stream<Path> walk = Files.walk(from)) {
      all = walk.filter(p -> !p.equals(from)).sorted().toList();
    }
    try (java.util.jar.JarOutputStream out = new java.util.jar.JarOutputStream(
        Files.newOutputStream(to))) {
      for (Path p : all) {
        // Jar entry names use '/' whatever the platform's separator.
        String name = from.relativize(p).toString().replace(File.separatorChar, '/');
        if (Files.isDirectory(p)) {
          out.putNextEntry(new java.util.jar.JarEntry(name + "/"));
        } else {
          out.putNextEntry(new java.util.jar.JarEntry(name));
          Files.copy(p, out);
        }
        out.closeEntry();
      }
    }
  }

  JavaCommand withClassArchive(Path archive) {
    return new JavaCommand(javaBinary, classPath, logbackConfig, archive);
  }

  /** Like {@link #command}, but the JVM writes the classes it loaded to {@code archive} when it
   * exits normally (not on SIGKILL). */
  List<String> archivingCommand(Path archive, String heap, String mainClass, List<String> args) {
    List<String> cmd = command(heap, mainClass, args);
    cmd.add(1, "-XX:ArchiveClassesAtExit=" + archive.toAbsolutePath());
    return cmd;
  }

  /** {@code java [options] -cp CP mainClass args...}. */
  List<String> command(String heap, String mainClass, List<String> args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(javaBinary);
    cmd.add("-Xmx" + heap);
    cmd.add("-Xss512k");
    cmd.add("-XX:+UseSerialGC");
    cmd.add("-XX:-UsePerfData");
    cmd.add("-Djava.net.preferIPv4Stack=true");
    if (classArchive != null) {
      cmd.add("-XX:SharedArchiveFile=" + classArchive.toAbsolutePath());
      cmd.add("-Xlog:cds=off");
    }
    if (logbackConfig != null) {
      cmd.add("-Dlogback.configurationFile=" + logbackConfig.toAbsolutePath());
    }
    cmd.add("-cp");
    cmd.add(classPath);
    cmd.add(mainClass);
    cmd.addAll(args);
    return cmd;
  }
}
