package io.poolmig.hypervisor.libxl;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Shared by the tests that need the real libxl: they fail, never skip, when it is missing. */
final class NativeTestSupport {

  static final Path HEADER = Path.of("/usr/include/libxl.h");

  private NativeTestSupport() {}

  /** Fails the test with the install hint if libxl cannot be loaded. */
  static void requireLibxl() {
    try {
      NativeLibs.require();
    } catch (LibxlUnavailableException e) {
      fail("the real libxl is needed for this test: " + e.getMessage());
    }
  }

  static void requireHeaders() {
    if (!Files.isRegularFile(HEADER)) {
      fail(HEADER + " is missing: install Debian's libxen-dev to build the layout probe");
    }
  }

  /** Runs a command, returns its stdout; fails the test on a non-zero exit or a timeout. */
  static String run(List<String> command, Path dir) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).directory(dir.toFile())
        .redirectErrorStream(true).start();
    p.getOutputStream().close();
    byte[] out;
    try (InputStream in = p.getInputStream()) {
      out = in.readAllBytes();
    }
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail(command + " did not finish within 60 s");
    }
    String text = new String(out, StandardCharsets.UTF_8);
    if (p.exitValue() != 0) {
      fail(command + " exited with " + p.exitValue() + ":\n" + text);
    }
    return text;
  }

  /** Where tests put files: under Maven's target/ (or the working directory's). */
  static Path targetDir(String name) throws IOException {
    Path target = Files.isDirectory(Path.of("target")) ? Path.of("target") : Path.of(".");
    Path dir = target.resolve(name).toAbsolutePath();
    Files.createDirectories(dir);
    return dir;
  }
}
