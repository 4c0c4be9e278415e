package io.poolmig.bench;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Finds the external programs the baseline rows need. */
final class Tools {

  private Tools() {}

  /** The executable {@code name} on {@code PATH}, or in the sbin directories a user's PATH lacks. */
  static Optional<Path> find(String name) {
    String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
    for (String dir : (path + ":/usr/sbin:/sbin").split(File.pathSeparator)) {
      if (dir.isEmpty()) {
        continue;
      }
      Path candidate = Path.of(dir, name);
      if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  /** Whether this process runs as root (sshd must, to log anyone in on its own). */
  static boolean isRoot() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("Uid:")) {
          return line.substring(4).trim().split("\\s+")[1].equals("0"); // the effective uid
        }
      }
    } catch (java.io.IOException e) {
      // not Linux: fall back to the name
    }
    return "root".equals(System.getProperty("user.name"));
  }

  /**
   * Whether {@code path} can be written into a socat address or an sshd_config line as it is:
   * socat splits addresses at {@code , : !}, sshd_config values at blanks.
   */
  static boolean plainPath(Path path) {
    return path.toString().matches("[A-Za-z0-9/._+-]+");
  }
}
