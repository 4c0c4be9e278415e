package io.poolmig.hypervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reserve on a disk with room: real blocks set aside, other errors passed on as they are. */
class DiskReserveTest {

  @TempDir Path dir;

  @Test
  void theReserveHoldsRealBlocksAndIsPutBackByTheNextWrite() throws IOException {
    DiskReserve reserve = new DiskReserve(dir);
    assertTrue(reserve.replenish());
    Path file = dir.resolve(DiskReserve.FILE);
    assertEquals(DiskReserve.SIZE, Files.size(file));
    // Allocated, not a hole: deleting it gives room back.
    assertTrue(blocks(file) * 512 >= DiskReserve.SIZE);

    Files.delete(file);
    reserve.write("a record", () -> Files.writeString(dir.resolve("record.json"), "{}"));
    assertEquals(DiskReserve.SIZE, Files.size(file), "put back once there is room");
  }

  private static long blocks(Path file) throws IOException {
    Process p = new ProcessBuilder("stat", "-c", "%b", file.toString()).start();
    return Long.parseLong(new String(p.getInputStream().readAllBytes()).trim());
  }

  @Test
  void aWriteThatFailsForAnotherReasonIsNotReportedAsAFullDisk() throws IOException {
    DiskReserve reserve = new DiskReserve(dir);
    assertTrue(reserve.replenish());
    NoSuchFileException missing = new NoSuchFileException(dir.resolve("gone/record.json")
        .toString());

    assertSame(missing, assertThrows(IOException.class,
        () -> reserve.write("a record", () -> {
          throw missing;
        })));
    assertSame(missing, assertThrows(IOException.class,
        () -> reserve.writeEnding("a record", () -> {
          throw missing;
        })));
    assertTrue(Files.exists(dir.resolve(DiskReserve.FILE)), "the reserve is kept");
  }
}
