package io.poolmig.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pool's copy of the class path: class directories become jars, so that a child JVM can
 * write the class archive every later child starts from.
 */
class JavaCommandTest {

  /** What the archiving JVM runs: loads a class of this module's and exits normally. */
  public static final class Hello {
    public static void main(String[] args) {
      System.out.println("hello from " + JavaCommand.class.getSimpleName());
    }
  }

  @Test
  void aSnapshotHoldsOnlyJarsFromWhichAClassArchiveCanBeMade(@TempDir Path dir) throws Exception {
    Path classes = Files.createDirectories(dir.resolve("classes/io/example"));
    Files.writeString(classes.resolve("note.txt"), "kept");
    JavaCommand original = new JavaCommand(JavaCommand.ofThisJvm(null).javaBinary(),
        dir.resolve("classes") + File.pathSeparator + System.getProperty("java.class.path"),
        null, null);

    JavaCommand copy = original.snapshot(dir.resolve("lib"));

    List<String> entries = Arrays.asList(copy.classPath().split(File.pathSeparator));
    assertTrue(entries.stream().allMatch(e -> e.endsWith(".jar")), entries.toString());
    try (JarFile first = new JarFile(entries.get(0))) {
      assertEquals("kept", new String(first.getInputStream(first.getJarEntry(
          "io/example/note.txt")).readAllBytes(), StandardCharsets.UTF_8));
    }

    Path archive = dir.resolve("hello.jsa");
    Process p = new ProcessBuilder(copy.archivingCommand(archive, "64m",
        Hello.class.getName(), List.of())).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), output);
    assertEquals(0, p.exitValue(), output);
    assertTrue(output.contains("hello from JavaCommand"), output);
    assertTrue(Files.size(archive) > 0, "no class archive was written: " + output);
  }
}
