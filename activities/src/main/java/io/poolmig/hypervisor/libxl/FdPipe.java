package io.poolmig.hypervisor.libxl;

import io.poolmig.hypervisor.HypervisorException;
import io.poolmig.stream.Sha256;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * A POSIX pipe ({@code pipe2(O_CLOEXEC)}) between libxl and Java streams: libxl reads or writes
 * one end by file descriptor, a Java thread pumps the other end to or from a stream.
 *
 * <p>Both ends are close-on-exec, so the hotplug scripts, device models and save helpers that
 * libxl forks never inherit them by accident (libxl hands the stream descriptor to its save
 * helper explicitly). Each end is closed once, by whoever owns it, after its last use: closing a
 * descriptor another thread may still use would let a reused descriptor number be hit.
 *
 * <p>End of stream works the POSIX way: the reader sees EOF once every copy of the write end is
 * closed; a writer gets {@code EPIPE} (the JVM ignores {@code SIGPIPE}) once every copy of the
 * read end is closed, which is how a failed side unblocks the other.
 */
final class FdPipe implements AutoCloseable {

  /** A pump reports progress at least this often, in bytes. */
  static final long TICK_BYTES = 4L << 20;

  /** ... and in nanoseconds, whenever data arrives. */
  static final long TICK_NANOS = 500_000_000L;

  /** ... and this often when no data arrives at all. */
  static final int IDLE_TICK_MILLIS = 1000;

  static final int CHUNK = 1 << 18;

  private final String what;
  private final AtomicInteger readFd;
  private final AtomicInteger writeFd;

  private FdPipe(String what, int readFd, int writeFd) {
    this.what = what;
    this.readFd = new AtomicInteger(readFd);
    this.writeFd = new AtomicInteger(writeFd);
  }

  /** @param what names the pipe in error messages, e.g. "save stream of web01" */
  static FdPipe open(String what) {
    int[] fds = new int[2];
    if (NativeLibs.libc().pipe2(fds, LibC.O_CLOEXEC) != 0) {
      throw new HypervisorException("pipe2 for the " + what + " failed: " + NativeLibs.lastErrno());
    }
    return new FdPipe(what, fds[0], fds[1]);
  }

  int readFd() {
    int fd = readFd.get();
    if (fd < 0) {
      throw new IllegalStateException("read end of the " + what + " is closed");
    }
    return fd;
  }

  int writeFd() {
    int fd = writeFd.get();
    if (fd < 0) {
      throw new IllegalStateException("write end of the " + what + " is closed");
    }
    return fd;
  }

  /** Forgets the write end without closing it: someone else (an fclose) owns it now. */
  void releaseWriteFd() {
    writeFd.set(-1);
  }

  void closeRead() {
    closeFd(readFd.getAndSet(-1));
  }

  void closeWrite() {
    closeFd(writeFd.getAndSet(-1));
  }

  @Override
  public void close() {
    closeRead();
    closeWrite();
  }

  private static void closeFd(int fd) {
    if (fd >= 0) {
      NativeLibs.libc().close(fd);
    }
  }

  /**
   * Reads up to {@code into.length} bytes (at most the direct buffer's capacity) from the read
   * end, blocking; -1 at end of stream. Retries on {@code EINTR}.
   */
  int read(ByteBuffer direct, byte[] into) throws IOException {
    int fd = readFd();
    int max = Math.min(direct.capacity(), into.length);
    while (true) {
      long n = NativeLibs.libc().read(fd, direct, max);
      if (n > 0) {
        direct.get(0, into, 0, (int) n);
        return (int) n;
      }
      if (n == 0) {
        return -1;
      }
      int errno = NativeLibs.runtime().getLastError();
      if (retryable(errno)) {
        continue;
      }
      throw new IOException("read from the " + what + " failed: "
          + NativeLibs.libc().strerror(errno) + " (errno " + errno + ")");
    }
  }

  /** EINTR and EAGAIN mean "try again"; on EAGAIN wait a millisecond first. */
  private static boolean retryable(int errno) {
    if (errno == LibC.EAGAIN) {
      LockSupport.parkNanos(1_000_000);
      return true;
    }
    return errno == LibC.EINTR;
  }

  /** Writes all {@code length} bytes of {@code from} to the write end, blocking. */
  void writeFully(ByteBuffer direct, byte[] from, int length) throws IOException {
    int fd = writeFd();
    int done = 0;
    while (done < length) {
      int n = Math.min(length - done, direct.capacity());
      direct.put(0, from, done, n);
      long w = NativeLibs.libc().write(fd, direct, n);
      if (w >= 0) {
        // the kernel may take part of a large write; the rest goes round again
        done += (int) w;
        continue;
      }
      int errno = NativeLibs.runtime().getLastError();
      if (retryable(errno)) {
        continue;
      }
      if (errno == LibC.EPIPE) {
        throw new IOException("the reader of the " + what + " has gone (EPIPE) after "
            + done + " of " + length + " bytes of a chunk");
      }
      throw new IOException("write to the " + what + " failed: "
          + NativeLibs.libc().strerror(errno) + " (errno " + errno + ")");
    }
  }

  /** How far a pump has got. */
  @FunctionalInterface
  interface Tick {
    void progress(long bytes, long elapsedNanos);
  }

  /** What a pump moved: byte count and SHA-256 (hex) of exactly those bytes. */
  record Pumped(long bytes, String sha256) {}

  /**
   * Waits up to {@code timeoutMillis} for the read end to have data or end of stream; false on
   * timeout.
   */
  boolean awaitReadable(int timeoutMillis) throws IOException {
    Pointer pfd = Memory.allocateDirect(NativeLibs.runtime(), 8, true);
    pfd.putInt(0, readFd());
    pfd.putShort(4, LibC.POLLIN);
    while (true) {
      int n = NativeLibs.libc().poll(pfd, 1, timeoutMillis);
      if (n >= 0) {
        return n > 0;
      }
      int errno = NativeLibs.runtime().getLastError();
      if (errno != LibC.EINTR) {
        throw new IOException("poll on the " + what + " failed: "
            + NativeLibs.libc().strerror(errno) + " (errno " + errno + ")");
      }
    }
  }

  /**
   * Copies the read end to {@code out} until end of stream (every write end closed), hashing
   * what passes; calls {@code tick} every {@link #TICK_BYTES} or {@link #TICK_NANOS} while data
   * flows, and about every {@link #IDLE_TICK_MILLIS} while the writer is quiet (libxl waiting for
   * the guest to suspend), so that a caller's heartbeat never starves. Does not close {@code out}
   * or the read end. Output errors propagate as they are.
   */
  Pumped drainTo(OutputStream out, Tick tick) throws IOException {
    MessageDigest md = Sha256.newDigest();
    ByteBuffer direct = ByteBuffer.allocateDirect(CHUNK);
    byte[] chunk = new byte[CHUNK];
    long total = 0;
    long start = System.nanoTime();
    long lastTickBytes = 0;
    long lastTickNanos = start;
    while (true) {
      if (!awaitReadable(IDLE_TICK_MILLIS)) {
        long now = System.nanoTime();
        tick.progress(total, now - start);
        lastTickBytes = total;
        lastTickNanos = now;
        continue;
      }
      int n = read(direct, chunk);
      if (n < 0) {
        break;
      }
      md.update(chunk, 0, n);
      out.write(chunk, 0, n);
      total += n;
      long now = System.nanoTime();
      if (total - lastTickBytes >= TICK_BYTES || now - lastTickNanos >= TICK_NANOS) {
        tick.progress(total, now - start);
        lastTickBytes = total;
        lastTickNanos = now;
      }
    }
    tick.progress(total, System.nanoTime() - start);
    return new Pumped(total, Sha256.hex(md.digest()));
  }

  /**
   * Copies {@code in} to the write end until {@code in} ends, hashing what passes, then closes
   * the write end so the reader sees end of stream. On failure the write end is closed too, so a
   * reader blocked on it wakes up with a short stream.
   */
  Pumped fillFrom(InputStream in) throws IOException {
    MessageDigest md = Sha256.newDigest();
    ByteBuffer direct = ByteBuffer.allocateDirect(CHUNK);
    byte[] chunk = new byte[CHUNK];
    long total = 0;
    try {
      for (int n; (n = in.read(chunk, 0, chunk.length)) >= 0; ) {
        if (n == 0) {
          continue;
        }
        md.update(chunk, 0, n);
        writeFully(direct, chunk, n);
        total += n;
      }
      return new Pumped(total, Sha256.hex(md.digest()));
    } finally {
      closeWrite();
    }
  }

  @Override
  public String toString() {
    return "pipe for the " + what + " [r=" + readFd.get() + ", w=" + writeFd.get() + "]";
  }
}
