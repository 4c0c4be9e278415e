package io.poolmig.stream;

import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A pipe whose writer sent {@code data} and keeps it open: {@link #drained} counts down when the
 * reader asks for more, then the read waits until {@link #end} says what follows before the end
 * of the input (nothing, or trailing bytes). Lets a test observe what a consumer did before it
 * saw the end of its input, without a fixed sleep.
 */
public final class HeldOpenInput extends InputStream {

  public final CountDownLatch drained = new CountDownLatch(1);
  private final CompletableFuture<byte[]> tail = new CompletableFuture<>();
  private byte[] data;
  private int pos;
  private boolean tailTaken;

  public HeldOpenInput(byte[] data) {
    this.data = data;
  }

  /** Sends {@code trailing} (may be empty), then closes the pipe. */
  public void end(byte[] trailing) {
    tail.complete(trailing);
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
  }

  @Override
  public synchronized int read(byte[] b, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    if (pos == data.length) {
      if (tailTaken) {
        return -1;
      }
      drained.countDown();
      try {
        data = tail.get(60, TimeUnit.SECONDS);
      } catch (Exception e) {
        throw new IOException("the test never closed the pipe", e);
      }
      pos = 0;
      tailTaken = true;
      if (data.length == 0) {
        return -1;
      }
    }
    int n = Math.min(len, data.length - pos);
    System.arraycopy(data, pos, b, off, n);
    pos += n;
    return n;
  }

  @Override
  public synchronized int available() {
    return data.length - pos; // 0 once drained: a buffered reader must not wait for more
  }
}
