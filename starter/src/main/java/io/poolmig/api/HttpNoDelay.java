package io.poolmig.api;

/**
 * Makes the JDK's HTTP servers of this process send at once (TCP_NODELAY): they write headers and
 * a small body separately, and with Nagle's algorithm and the client's delayed ACK that costs a
 * small answer ~40 ms. The JDK reads the setting once, when the process makes its first server:
 * call {@link #prefer()} before any (the metrics endpoint too). Loads nothing else, so a command
 * line may call it at start.
 */
public final class HttpNoDelay {

  private HttpNoDelay() {}

  public static void prefer() {
    System.getProperties().putIfAbsent("sun.net.httpserver.nodelay", "true");
  }
}
