package io.poolmig;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * A real tmpfs of a few MiB mounted for a test, to give a host a disk that fills up. Needs root:
 * as any other user the calling test is skipped; as root a failed mount fails it.
 */
public final class SmallDisk implements AutoCloseable {

  private static final String FILLER = "filler";

  public final Path mountPoint;

  private SmallDisk(Path mountPoint) {
    this.mountPoint = mountPoint;
  }

  public static SmallDisk mount(Path mountPoint, int mebibytes) throws IOException, InterruptedException {
    Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
        "mounting a tmpfs needs root");
    Files.createDirectories(mountPoint);
    run("mount", "-t", "tmpfs", "-o", "size=" + mebibytes + "m", "poolmig-test",
        mountPoint.toString());
    return new SmallDisk(mountPoint);
  }

  /** Writes a file until the disk refuses another byte. */
  public void fill() throws IOException {
    byte[] chunk = new byte[4096];
    try (OutputStream out = Files.newOutputStream(mountPoint.resolve(FILLER))) {
      while (true) {
        out.write(chunk);
        out.flush();
      }
    } catch (IOException full) {
      if (Files.getFileStore(mountPoint).getUsableSpace() >= chunk.length) {
        throw full;
      }
    }
  }

  /** Gives back what {@link #fill} took. */
  public void empty() throws IOException {
    Files.deleteIfExists(mountPoint.resolve(FILLER));
  }

  @Override
  public void close() throws IOException, InterruptedException {
    run("umount", "-l", mountPoint.toString());
  }

  private static void run(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      throw new IOException(String.join(" ", command) + " failed: " + out);
    }
  }
}
