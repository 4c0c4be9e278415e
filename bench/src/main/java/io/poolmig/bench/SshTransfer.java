package io.poolmig.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The ssh baseline: {@code ssh -i KEY -p PORT root@ADDRESS 'cat > out' < in} against a private
 * sshd that this class starts for the transfer and stops after it.
 *
 * <p>Contract: the sshd has its own host key, authorised key, configuration and pid file in the
 * work directory, listens on a free port of the bench's address ({@link BenchLink}) only, and
 * accepts only that key (no passwords, no PAM). The client ignores the user's ssh configuration
 * ({@code -F /dev/null}) and known hosts, so the cipher is OpenSSH's default; it runs with {@code
 * -v} so that its log names the negotiated cipher. The sshd sets {@code SHLVL=1} for the session,
 * so that the remote bash does not read the user's {@code ~/.bashrc}: the row measures ssh, not the
 * account's shell start-up. CPU is the client's (reaped by this JVM) plus what the sshd and the
 * per-connection processes it reaped used during the transfer, read from the sshd's own counters
 * before it is stopped.
 *
 * <p>Hazards: needs root (sshd logs users in) and the privilege-separation directory
 * {@code /run/sshd}, which it creates if missing, as the service would.
 */
final class SshTransfer {

  private static final Pattern CIPHER = Pattern.compile("kex: client->server cipher: (\\S+)");

  private final Path sshd;
  private final Path ssh;
  private final Path sshKeygen;
  private final Path dir;
  private final Children children;
  private final String address;
  private Path clientKey;

  SshTransfer(Path sshd, Path ssh, Path sshKeygen, Path dir, Children children,
      String address) {
    this.sshd = sshd;
    this.address = address;
    this.ssh = ssh;
    this.sshKeygen = sshKeygen;
    this.dir = dir;
    this.children = children;
  }

  /** Why this machine cannot run the row, or empty if it can. */
  static Optional<String> unavailable(Path workDir) {
    if (Tools.find("sshd").isEmpty()) {
      return Optional.of("sshd not installed (bench/stream installs openssh-server with apt-get "
          + "when it runs as root on Debian)");
    }
    if (Tools.find("ssh").isEmpty() || Tools.find("ssh-keygen").isEmpty()) {
      return Optional.of("ssh or ssh-keygen not installed");
    }
    if (!Tools.isRoot()) {
      return Optional.of("a private sshd that logs a user in must run as root; run as root");
    }
    if (!Tools.plainPath(workDir)) {
      return Optional.of("sshd_config cannot take the work directory " + workDir);
    }
    return Optional.empty();
  }

  Measured run(Path in, Path out, long timeoutMillis) throws IOException {
    setUp(timeoutMillis);
    int port = Loopback.freePort();
    Path config = dir.resolve("sshd_config");
    Files.writeString(config, String.join("\n",
        "Port " + port,
        "ListenAddress " + address,
        "HostKey " + dir.resolve("ssh_host_ed25519_key"),
        "PidFile " + dir.resolve("sshd.pid"),
        "AuthorizedKeysFile " + dir.resolve("authorized_keys"),
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        // The work directory under /tmp is world-writable up the tree; the key is ours anyway.
        "StrictModes no",
        "UseDNS no",
        "PrintMotd no",
        "PrintLastLog no",
        "LogLevel INFO",
        // bash, started by sshd for 'cat > out', reads the user's ~/.bashrc unless it is a
        // nested shell; root's may start pyenv and the like (a second of CPU on the machine this
        // was written on), which is the account's cost, not ssh's.
        "SetEnv SHLVL=1",
        ""));
    Path sshdLog = dir.resolve("sshd.log");
    Path sshLog = dir.resolve("ssh.log");
    Process server = children.start(List.of(sshd.toString(), "-D", "-e", "-f",
        config.toString()), sshdLog);
    try {
      try {
        Loopback.awaitListening(port, server, sshdLog, 10_000);
      } catch (IOException e) {
        throw new IOException("sshd " + e.getMessage(), e);
      }
      String user = System.getProperty("user.name");
      ProcessBuilder client = new ProcessBuilder(ssh.toString(), "-F", "/dev/null", "-v",
          "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
          "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10",
          "-i", clientKey.toString(), "-p", Integer.toString(port), user + "@" + address,
          "cat > " + out)
          .redirectInput(in.toFile());
      long serverCpu0 = ProcessCpu.processTreeNanos(server.pid());
      long cpu0 = ProcessCpu.reapedChildrenNanos();
      long t0 = System.nanoTime();
      Process p = children.start(client, sshLog);
      int code = children.await(p, timeoutMillis, "ssh");
      long wall = System.nanoTime() - t0;
      long clientCpu = ProcessCpu.reapedChildrenNanos() - cpu0;
      if (code != 0) {
        throw new IOException("ssh exited with " + code + ": " + lastNonDebugLine(sshLog));
      }
      awaitReaped(server);
      long serverCpu = ProcessCpu.processTreeNanos(server.pid()) - serverCpu0;
      long cpu = serverCpu0 < 0 || serverCpu < 0 ? -1 : clientCpu + serverCpu;
      return new Measured(wall, cpu, cipher(sshLog));
    } finally {
      children.stop(server);
    }
  }

  private void setUp(long timeoutMillis) throws IOException {
    if (clientKey != null) {
      return;
    }
    Path privsep = Path.of("/run/sshd");
    if (!Files.isDirectory(privsep)) {
      Files.createDirectories(privsep, PosixFilePermissions.asFileAttribute(
          PosixFilePermissions.fromString("rwxr-xr-x")));
    }
    Path hostKey = dir.resolve("ssh_host_ed25519_key");
    Path key = dir.resolve("client_ed25519_key");
    keygen(hostKey, timeoutMillis);
    keygen(key, timeoutMillis);
    Files.copy(Path.of(key + ".pub"), dir.resolve("authorized_keys"));
    clientKey = key;
  }

  private void keygen(Path key, long timeoutMillis) throws IOException {
    Path log = dir.resolve("ssh-keygen.log");
    Process p = children.start(List.of(sshKeygen.toString(), "-q", "-t", "ed25519", "-N", "",
        "-C", "poolmig-bench", "-f", key.toString()), log);
    int code = children.await(p, Math.min(timeoutMillis, 60_000), "ssh-keygen");
    if (code != 0) {
      throw new IOException("ssh-keygen exited with " + code + ": " + Children.lastLine(log));
    }
  }

  /**
   * Waits until sshd has waited for its per-connection processes, whose CPU then shows in its
   * counters; gives up after five seconds (the figure is then a little low).
   */
  private static void awaitReaped(Process server) {
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (server.isAlive() && server.children().findAny().isPresent()
        && System.nanoTime() < deadline) {
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private static String cipher(Path log) {
    try {
      Matcher m = CIPHER.matcher(Files.readString(log));
      return m.find() ? m.group(1) : "";
    } catch (IOException e) {
      return "";
    }
  }

  private static String lastNonDebugLine(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      for (int i = lines.size() - 1; i >= 0; i--) {
        String line = lines.get(i).trim();
        if (!line.isEmpty() && !line.startsWith("debug") && !line.startsWith("OpenSSH_")) {
          return line;
        }
      }
    } catch (IOException e) {
      // fall through
    }
    return Children.lastLine(log);
  }
}
