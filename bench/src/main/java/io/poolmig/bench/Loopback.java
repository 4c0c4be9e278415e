package io.poolmig.bench;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** Ports on 127.0.0.1 for the external servers (socat's listener, sshd). */
final class Loopback {

  private Loopback() {}

  /**
   * A port that was free a moment ago, from the kernel's ephemeral range.
   *
   * <p>Hazard: another process may take it before the server binds it; the server then fails to
   * start and its row says so. The ephemeral range keeps clear of harnesses that pick their ports
   * below it.
   */
  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /**
   * Waits until something listens on TCP {@code port}, by reading {@code /proc/net/tcp}: a
   * probing connection would be taken by a one-shot listener such as {@code socat TCP-LISTEN} as
   * its only client.
   *
   * @throws IOException if {@code server} exits first or nothing listens within the timeout
   */
  static void awaitListening(int port, Process server, Path log, long timeoutMillis)
      throws IOException {
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
    String suffix = String.format(Locale.ROOT, ":%04X", port);
    while (System.nanoTime() < deadline) {
      if (listening(Path.of("/proc/net/tcp"), suffix)
          || listening(Path.of("/proc/net/tcp6"), suffix)) {
        return;
      }
      if (!server.isAlive()) {
        throw new IOException("exited with " + server.exitValue() + " before listening on port "
            + port + ": " + Children.lastLine(log));
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while waiting for port " + port);
      }
    }
    throw new IOException("nothing listened on port " + port + " within " + timeoutMillis
        + " ms: " + Children.lastLine(log));
  }

  private static boolean listening(Path table, String portSuffix) throws IOException {
    if (!Files.exists(table)) {
      return false;
    }
    List<String> lines = Files.readAllLines(table);
    for (int i = 1; i < lines.size(); i++) {
      String[] f = lines.get(i).trim().split("\\s+");
      // f[1] local address (hex ip:port), f[3] state; 0A is LISTEN.
      if (f.length > 3 && f[1].endsWith(portSuffix) && f[3].equals("0A")) {
        return true;
      }
    }
    return false;
  }
}
