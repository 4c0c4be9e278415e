package io.poolmig.bench;

import io.poolmig.hypervisor.DomainInfo;
import io.poolmig.stream.StreamOptions;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * The live part: one VM per dirty rate, created on a simulated host that runs its guests (so the
 * guest really writes its memory file while pre-copy rounds read it), saved live into the other
 * host over the receive endpoint.
 *
 * <p>Downtime is measured as the hosts would timestamp it, minus what only a full migration has:
 * from host A's clock at the pause ({@code SaveResult.pausedAtMillis}) to host B's clock when its
 * restore completed. A real migration's guest downtime goes on to the target's resume, after the
 * verify and commit steps through Temporal, which this data-plane benchmark does not run.
 *
 * <p>Hazard: the CPU figure includes the simulated guest's own writes (its vCPU thread is in this
 * JVM).
 */
final class LiveMigrations {

  private static final String NAME = "poolmig live TCP";
  private static final String KEY = "poolmig-live";

  private final long vmBytes;
  private final List<Integer> rates;
  private final String address;

  LiveMigrations(long vmBytes, List<Integer> rates, String address) {
    this.vmBytes = vmBytes;
    this.rates = rates;
    this.address = address;
  }

  /** Runs every rate; a failed migration becomes a failed row and the next rate still runs. */
  void run(Path dir, long hostMemoryBytes, Consumer<Row> out, Consumer<String> progress)
      throws IOException {
    try (PoolmigLink link = PoolmigLink.open(dir, hostMemoryBytes, true, address)) {
      for (int rate : rates) {
        progress.accept(String.format(Locale.ROOT, "live migration, %d pages/s", rate));
        String image = "sim " + Report.size(vmBytes) + ", dirty " + rate + " pages/s";
        DomainInfo vm = null;
        try {
          vm = link.source().create("live-" + rate, vmBytes, 1, rate);
          // A migrated guest has been running: let it write for a few ticks first.
          Thread.sleep(300);
          PoolmigLink.Transferred t = link.transfer(vm.uuid(), StreamOptions.DEFAULT, true);
          if (!t.digestsMatch()) {
            out.accept(failed(image, rate, "host B reproduced " + t.targetDigest()
                + ", host A sent " + t.saved().contentDigest()));
            continue;
          }
          long downtime = t.saved().pausedAtMillis() == 0 || t.restoredAtMillis() == 0 ? -1
              : t.restoredAtMillis() - t.saved().pausedAtMillis();
          out.accept(new Row(NAME, KEY, image, vmBytes, Row.Status.OK,
              String.format(Locale.ROOT, "%d pages sent (%.2f x memory), digests match",
                  t.saved().pagesSent(), t.saved().pagesSent() * (double) MemoryImage.PAGE
                      / vmBytes),
              t.wallNanos(), t.cpuNanos(), t.saved().streamBytes(), downtime,
              t.saved().downtimeMillis(), t.saved().rounds(), rate));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted");
        } catch (IOException | RuntimeException e) {
          out.accept(failed(image, rate, e.getMessage()));
        } finally {
          if (vm != null) {
            link.discardCopy(vm.uuid());
            link.source().destroy(vm.uuid());
          }
        }
      }
      quietGuestTicksAtClose();
    }
  }

  /**
   * Closing a host that runs its guests interrupts the guests' tick, which may be taking the host
   * lock at that moment; the sim then logs the tick as failed. That is expected at close and says
   * nothing about the measurements, which are all taken by now, so it is not shown.
   */
  private static void quietGuestTicksAtClose() {
    if (org.slf4j.LoggerFactory.getLogger("io.poolmig.hypervisor.sim.GuestVcpus")
        instanceof ch.qos.logback.classic.Logger logger) {
      logger.setLevel(ch.qos.logback.classic.Level.ERROR);
    }
  }

  private Row failed(String image, int rate, String reason) {
    return new Row(NAME, KEY, image, vmBytes, Row.Status.FAILED, reason, -1, -1, -1, null, null,
        null, rate);
  }
}
