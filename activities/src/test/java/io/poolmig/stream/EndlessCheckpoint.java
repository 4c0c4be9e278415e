package io.poolmig.stream;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.function.LongFunction;

/**
 * A sender that never stops: a valid preamble and HEADER, then {@code records.apply(i)} for
 * i = 0, 1, 2, … forever. Counts the bytes it served, so a test can tell how much a reader took
 * before it gave up.
 */
final class EndlessCheckpoint extends InputStream {

  private final LongFunction<byte[]> records;
  private byte[] current;
  private int pos;
  private long index;
  private long served;

  EndlessCheckpoint(CheckpointHeader header, LongFunction<byte[]> records) {
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    try {
      CheckpointWriter w = new CheckpointWriter(sink, StreamOptions.DEFAULT);
      w.writeHeader(header);
      w.flush();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    this.records = records;
    this.current = sink.toByteArray();
  }

  /** A record as the writer frames it: header, body, zero padding. */
  static byte[] record(int type, int flags, byte[] body) {
    ByteBuffer b = ByteBuffer.allocate(8 + body.length + (8 - body.length % 8) % 8);
    b.putShort((short) type).putShort((short) flags).putInt(body.length).put(body);
    return b.array();
  }

  long served() {
    return served;
  }

  @Override
  public int read() {
    byte[] one = new byte[1];
    read(one, 0, 1);
    return one[0] & 0xFF;
  }

  @Override
  public int read(byte[] b, int off, int len) {
    if (len == 0) {
      return 0;
    }
    if (pos == current.length) {
      current = records.apply(index++);
      pos = 0;
    }
    int n = Math.min(len, current.length - pos);
    System.arraycopy(current, pos, b, off, n);
    pos += n;
    served += n;
    return n;
  }
}
