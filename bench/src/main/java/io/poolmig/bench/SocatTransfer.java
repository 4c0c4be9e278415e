package io.poolmig.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The socat baselines: {@code socat -u -b 1048576 OPEN:in TCP:ADDRESS:PORT} into {@code socat
 * -u -b 1048576 TCP-LISTEN:PORT OPEN:out,creat,trunc}, or the same over
 * {@code OPENSSL}/{@code OPENSSL-LISTEN} with a throwaway self-signed certificate.
 *
 * <p>Contract: the listener is started and seen listening before the clock starts, as the poolmig
 * rows' endpoint is; the clock stops when both processes have exited, that is when the receiver has
 * written the last byte to its file. The listener binds the bench's address ({@link BenchLink})
 * only. TLS: RSA 2048 certificate, {@code verify=0} on both sides (no client certificate asked for,
 * none checked), otherwise socat's and OpenSSL's defaults; the sender runs with {@code -d -d} so
 * that its log names the negotiated protocol and cipher (one notice at connect, nothing per block).
 *
 * <p>Hazards: paths must be {@linkplain Tools#plainPath plain}; a transfer that outlives
 * {@code timeoutMillis} is killed and fails.
 */
final class SocatTransfer {

  private static final Pattern CIPHER = Pattern.compile("SSL connection using (\\S+)");
  private static final Pattern PROTOCOL = Pattern.compile("SSL protocol version used: (\\S+)");

  private final Path socat;
  private final Path openssl;
  private final Path dir;
  private final Children children;
  private final String address;
  private Path cert;
  private Path key;

  SocatTransfer(Path socat, Path openssl, Path dir, Children children, String address) {
    this.socat = socat;
    this.address = address;
    this.openssl = openssl;
    this.dir = dir;
    this.children = children;
  }

  Measured run(Path in, Path out, boolean tls, long timeoutMillis) throws IOException {
    if (!Tools.plainPath(in) || !Tools.plainPath(out) || !Tools.plainPath(dir)) {
      throw new IOException("socat cannot take the path " + dir + " in an address; set TMPDIR to "
          + "a plain path");
    }
    String mode = tls ? "tls" : "tcp";
    Path recvLog = dir.resolve("socat-" + mode + "-recv.log");
    Path sendLog = dir.resolve("socat-" + mode + "-send.log");
    int port = Loopback.freePort();
    String listen;
    String connect;
    if (tls) {
      ensureCertificate(timeoutMillis);
      listen = "OPENSSL-LISTEN:" + port + ",bind=" + address + ",reuseaddr,cert=" + cert
          + ",key=" + key + ",verify=0";
      connect = "OPENSSL:" + address + ":" + port + ",verify=0";
    } else {
      listen = "TCP-LISTEN:" + port + ",bind=" + address + ",reuseaddr";
      connect = "TCP:" + address + ":" + port;
    }
    Process recv = children.start(List.of(socat.toString(), "-u", "-b", "1048576", listen,
        "OPEN:" + out + ",creat,trunc"), recvLog);
    try {
      Loopback.awaitListening(port, recv, recvLog, 10_000);
    } catch (IOException e) {
      children.stop(recv);
      throw new IOException("socat listener " + e.getMessage(), e);
    }
    List<String> send = new ArrayList<>(List.of(socat.toString()));
    if (tls) {
      send.addAll(List.of("-d", "-d"));
    }
    send.addAll(List.of("-u", "-b", "1048576", "OPEN:" + in, connect));
    long cpu0 = ProcessCpu.reapedChildrenNanos();
    long t0 = System.nanoTime();
    Process sender;
    try {
      sender = children.start(send, sendLog);
    } catch (IOException e) {
      children.stop(recv);
      throw e;
    }
    int sent;
    int received;
    try {
      sent = children.await(sender, timeoutMillis, "the sending socat");
      received = children.await(recv, timeoutMillis, "the receiving socat");
    } finally {
      children.stop(sender);
      children.stop(recv);
    }
    long wall = System.nanoTime() - t0;
    long cpu = ProcessCpu.reapedChildrenNanos() - cpu0;
    if (sent != 0) {
      throw new IOException("sending socat exited with " + sent + ": "
          + Children.lastLine(sendLog));
    }
    if (received != 0) {
      throw new IOException("receiving socat exited with " + received + ": "
          + Children.lastLine(recvLog));
    }
    return new Measured(wall, cpu, tls ? negotiated(sendLog) : "");
  }

  private void ensureCertificate(long timeoutMillis) throws IOException {
    if (cert != null) {
      return;
    }
    Path c = dir.resolve("tls-cert.pem");
    Path k = dir.resolve("tls-key.pem");
    Path log = dir.resolve("openssl-req.log");
    Process p = children.start(List.of(openssl.toString(), "req", "-x509", "-newkey", "rsa:2048",
        "-nodes", "-keyout", k.toString(), "-out", c.toString(), "-days", "1", "-subj",
        "/CN=localhost"), log);
    int code = children.await(p, Math.min(timeoutMillis, 60_000), "openssl req");
    if (code != 0 || !Files.isRegularFile(c) || !Files.isRegularFile(k)) {
      throw new IOException("openssl req could not make a certificate (exit " + code + "): "
          + Children.lastLine(log));
    }
    cert = c;
    key = k;
  }

  private static String negotiated(Path log) {
    try {
      String text = Files.readString(log);
      Matcher cipher = CIPHER.matcher(text);
      Matcher protocol = PROTOCOL.matcher(text);
      String c = cipher.find() ? cipher.group(1) : "";
      String p = protocol.find() ? protocol.group(1) : "";
      return (p + " " + c).trim();
    } catch (IOException e) {
      return "";
    }
  }
}
