package io.poolmig.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The network every row's data crosses: loopback as it is, or a link of a set rate.
 *
 * <p>A shaped link is the address {@value #SHAPED_ADDRESS} on {@code lo}: an HTB class with the
 * rate as its rate and ceiling takes every packet addressed to it, and nothing else. Every row's
 * data flows from its client to its listener, so the data direction is shaped and the ACKs are
 * not, as on a switched link of that speed whose round trip is loopback's. The rows bind and
 * connect to {@link #address()} either way.
 *
 * <p>Hazards: the qdisc belongs to the machine, not to this process. It is installed only if
 * {@code lo} has none of its own (the kernel's {@code noqueue}), and {@link #close} removes it,
 * once, whoever calls first (the bench's end or its shutdown hook). A bench killed with SIGKILL
 * leaves it; the next {@code --link} run refuses and says how to remove it. Traffic to 127.0.0.1
 * never enters the class. Needs root and {@code tc} (iproute2); without them the run refuses
 * rather than measure loopback under a link's name.
 */
final class BenchLink implements AutoCloseable {

  static final String LOOPBACK_ADDRESS = "127.0.0.1";
  static final String SHAPED_ADDRESS = "127.0.0.2";
  private static final long TC_TIMEOUT_SECONDS = 10;
  /** Bytes the class may send at line rate after an idle moment: at least a 64 KiB loopback GSO
   * packet a few times over, or 2 ms at the rate. */
  private static final long MIN_BURST_BYTES = 256 * 1024;

  private final String address;
  private final long bitsPerSecond;
  private final Path tc;
  private final AtomicBoolean installed;

  private BenchLink(String address, long bitsPerSecond, Path tc, boolean installed) {
    this.address = address;
    this.bitsPerSecond = bitsPerSecond;
    this.tc = tc;
    this.installed = new AtomicBoolean(installed);
  }

  /** Loopback as the kernel gives it: nothing installed, nothing to remove. */
  static BenchLink loopback() {
    return new BenchLink(LOOPBACK_ADDRESS, 0, null, false);
  }

  /**
   * Installs the shaping for a link of {@code bitsPerSecond}.
   *
   * @throws IOException naming what is missing (tc, root) or what is in the way (a qdisc on lo)
   */
  static BenchLink shaped(long bitsPerSecond) throws IOException {
    if (bitsPerSecond <= 0) {
      throw new IllegalArgumentException("a link's rate must be positive");
    }
    Path tc = Tools.find("tc").orElseThrow(() -> new IOException("--link needs tc (Debian's "
        + "iproute2: apt-get install iproute2) to shape traffic on lo"));
    if (!Tools.isRoot()) {
      throw new IOException("--link shapes traffic on lo with tc, which needs root; run as root "
          + "or leave --link out to measure loopback as it is");
    }
    String qdiscs = run(tc, "qdisc", "show", "dev", "lo").trim();
    if (!qdiscs.isEmpty() && !qdiscs.startsWith("qdisc noqueue")) {
      throw new IOException("lo already has a queueing discipline (" + qdiscs.lines().findFirst()
          .orElse(qdiscs) + "); a bench/stream --link that was killed leaves its own behind: "
          + "remove it with 'tc qdisc del dev lo root' and run again");
    }
    long burst = Math.max(MIN_BURST_BYTES, bitsPerSecond / 8 / 500);
    String rate = bitsPerSecond + "bit";
    BenchLink link = new BenchLink(SHAPED_ADDRESS, bitsPerSecond, tc, true);
    try {
      // Unclassified packets (default 0: no such class) pass unshaped.
      run(tc, "qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "0");
      run(tc, "class", "add", "dev", "lo", "parent", "1:", "classid", "1:10", "htb", "rate", rate,
          "ceil", rate, "burst", Long.toString(burst), "cburst", Long.toString(burst),
          "quantum", "65536");
      run(tc, "filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", "1", "u32",
          "match", "ip", "dst", SHAPED_ADDRESS + "/32", "flowid", "1:10");
    } catch (IOException | RuntimeException e) {
      link.close();
      throw e;
    }
    return link;
  }

  /** The address every row listens on and connects to. */
  String address() {
    return address;
  }

  boolean isShaped() {
    return bitsPerSecond > 0;
  }

  long bitsPerSecond() {
    return bitsPerSecond;
  }

  /** {@code 1 Gbit/s}, {@code 2.5 Gbit/s}, {@code 500 Mbit/s}. */
  static String rateLabel(long bitsPerSecond) {
    if (bitsPerSecond >= 1_000_000_000L) {
      return trim(bitsPerSecond / 1e9) + " Gbit/s";
    }
    if (bitsPerSecond >= 1_000_000L) {
      return trim(bitsPerSecond / 1e6) + " Mbit/s";
    }
    return trim(bitsPerSecond / 1e3) + " kbit/s";
  }

  /** What the report's notes say about the network. */
  String describe() {
    if (!isShaped()) {
      return "network: loopback (127.0.0.1), unshaped";
    }
    return "network: a " + rateLabel(bitsPerSecond) + " link — " + SHAPED_ADDRESS + " on lo, its "
        + "traffic through an HTB class of that rate and ceiling (the data direction; ACKs "
        + "unshaped, loopback's round trip); the line rate is "
        + String.format(Locale.ROOT, "%.1f", bitsPerSecond / 8.0 / (1 << 20)) + " MiB/s";
  }

  /** Removes the shaping if this link installed it; safe to call again, from any thread. */
  @Override
  public void close() {
    if (!installed.compareAndSet(true, false)) {
      return;
    }
    try {
      run(tc, "qdisc", "del", "dev", "lo", "root");
    } catch (IOException e) {
      System.err.println("bench/stream: could not remove the shaping from lo (" + e.getMessage()
          + "); remove it with 'tc qdisc del dev lo root'");
    }
  }

  private static String trim(double value) {
    return value == Math.rint(value) ? Long.toString((long) value)
        : String.format(Locale.ROOT, "%.3f", value).replaceAll("0+$", "");
  }

  private static String run(Path tc, String... args) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(tc.toString());
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output;
    try {
      output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(TC_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", command) + " did not finish within "
            + TC_TIMEOUT_SECONDS + " s");
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while running " + String.join(" ", command), e);
    }
    if (p.exitValue() != 0) {
      throw new IOException(String.join(" ", command) + " failed (exit " + p.exitValue() + "): "
          + output.strip());
    }
    return output;
  }
}
