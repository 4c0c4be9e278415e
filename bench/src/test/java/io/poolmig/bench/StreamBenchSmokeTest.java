package io.poolmig.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.stream.Sha256;
import io.poolmig.stream.StreamOptions;
import java.nio.file.Path;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cheap end of bench/stream: options, the images, one poolmig transfer of each kind
 * (plain, LZ4, TLS) and the JDK TLS pipe.
 */
class StreamBenchSmokeTest {

  private static final long MIB = 1 << 20;

  @Test
  void parsesSizesAndRows() throws Exception {
    BenchOptions o = BenchOptions.parse(new String[] {"--size", "256M", "--rows=ssh,socat-tcp",
        "--json", "--no-live"});
    assertEquals(256 * MIB, o.imageBytes());
    assertEquals(EnumSet.of(Transfer.SOCAT_TCP, Transfer.SSH), o.rows());
    assertTrue(o.json());
    assertEquals(1L << 30, BenchOptions.parse(new String[0]).imageBytes());
    assertEquals(2 * MIB, BenchOptions.parseSize("--size", "2MiB"));
    assertThrows(BenchOptions.UsageException.class,
        () -> BenchOptions.parse(new String[] {"--size", "3K"}));
    assertThrows(BenchOptions.UsageException.class,
        () -> BenchOptions.parse(new String[] {"--rows", "ftp"}));
    assertThrows(BenchOptions.HelpRequested.class,
        () -> BenchOptions.parse(new String[] {"--help"}));
  }

  @Test
  void parsesLinkRatesInTcsUnits() throws Exception {
    assertEquals(0, BenchOptions.parse(new String[0]).linkBitsPerSecond());
    assertEquals(1_000_000_000L,
        BenchOptions.parse(new String[] {"--link", "1gbit"}).linkBitsPerSecond());
    assertEquals(2_500_000_000L, BenchOptions.parseRate("--link", "2.5Gbit/s"));
    assertEquals(500_000_000L, BenchOptions.parseRate("--link", "500mbit"));
    assertEquals("2.5 Gbit/s", BenchLink.rateLabel(2_500_000_000L));
    assertEquals("500 Mbit/s", BenchLink.rateLabel(500_000_000L));
    assertThrows(BenchOptions.UsageException.class, () -> BenchOptions.parseRate("--link", "1G"));
    assertThrows(BenchOptions.UsageException.class,
        () -> BenchOptions.parseRate("--link", "10kbit"));
  }

  @Test
  void aRowOfSeveralRunsIsTheirMedianAndNeverHidesAFailure() throws Exception {
    assertEquals(3, BenchOptions.parse(new String[0]).repeat());
    assertEquals(5, BenchOptions.parse(new String[] {"--repeat", "5"}).repeat());
    assertThrows(BenchOptions.UsageException.class,
        () -> BenchOptions.parse(new String[] {"--repeat", "0"}));
    assertThrows(BenchOptions.UsageException.class,
        () -> BenchOptions.parse(new String[] {"--repeat=many"}));

    long gib = 1L << 30;
    Row slow = Row.measured(Transfer.SOCAT_TCP, "random", gib, 4_000_000_000L, 1, -1, "copy");
    Row fast = Row.measured(Transfer.SOCAT_TCP, "random", gib, 1_000_000_000L, 1, -1, "copy");
    Row middle = Row.measured(Transfer.SOCAT_TCP, "random", gib, 2_000_000_000L, 1, -1, "copy");
    Row median = Row.medianOf(java.util.List.of(slow, fast, middle));
    assertEquals(2_000_000_000L, median.wallNanos());
    assertEquals("median of 3 runs (256 to 1024 MiB/s); copy", median.note());
    assertEquals(fast, Row.medianOf(java.util.List.of(fast)));

    Row failed = Row.without(Transfer.SOCAT_TCP, "random", gib, Row.Status.FAILED, "mismatch");
    Row reported = Row.medianOf(java.util.List.of(fast, failed, middle));
    assertEquals(Row.Status.FAILED, reported.status());
    assertEquals("run 2 of 3: mismatch", reported.note());
  }

  @Test
  void imagesAreDeterministicAndMixed(@TempDir Path dir) throws Exception {
    MemoryImage.Written a = MemoryImage.write(MemoryImage.Kind.MIX, dir.resolve("a"), 4 * MIB, 7);
    MemoryImage.Written b = MemoryImage.write(MemoryImage.Kind.MIX, dir.resolve("b"), 4 * MIB, 7);
    assertEquals(a.sha256(), b.sha256());
    assertEquals(a.sha256(), Sha256.ofFile(a.file(), a.bytes()));
    assertEquals(1024, a.zeroPages() + a.randomPages() + a.textPages());
    assertTrue(a.zeroPages() > 350 && a.zeroPages() < 570, "about 45 % zero pages");
    assertTrue(a.textPages() > 230 && a.textPages() < 390, "about 30 % text pages");
  }

  @Test
  void poolmigMovesTheImageIntact(@TempDir Path dir) throws Exception {
    MemoryImage.Written image =
        MemoryImage.write(MemoryImage.Kind.MIX, dir.resolve("image"), 2 * MIB, 1);
    try (PoolmigLink link = PoolmigLink.open(dir.resolve("hosts"), 64 * MIB, false,
        BenchLink.LOOPBACK_ADDRESS)) {
      DomainInfo vm = link.importImage("smoke", image, false);
      for (int i = 0; i < 3; i++) {
        StreamOptions o = i == 1 ? new StreamOptions(true, 0) : StreamOptions.DEFAULT;
        PoolmigLink.Transferred t = link.transfer(vm.uuid(), o, false, i == 2);
        assertEquals(i == 2, link.lastSecurity().startsWith("TLSv1.3"), link.lastSecurity());
        assertTrue(t.digestsMatch());
        assertEquals(image.memoryDigest(), t.saved().contentDigest());
        assertTrue(t.restoredAtMillis() > 0);
        link.discardCopy(vm.uuid());
      }
    }
  }

  @Test
  void theJdkTlsPipeMovesEveryByteOverTls13(@TempDir Path dir) throws Exception {
    try (JdkTlsPipe pipe = JdkTlsPipe.open(dir.resolve("pki"), BenchLink.LOOPBACK_ADDRESS)) {
      // Two runs on one listener, the second not a whole number of the pipe's 1 MiB writes.
      for (long bytes : new long[] {3 * MIB, 2 * MIB + 12_345}) {
        Measured m = pipe.run(bytes, 60_000);
        assertTrue(m.detail().startsWith("TLSv1.3 TLS_"), m.detail());
        assertTrue(m.wallNanos() > 0 && m.cpuNanos() > 0);
      }
    }
  }
}
