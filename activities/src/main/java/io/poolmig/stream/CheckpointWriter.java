package io.poolmig.stream;

import static io.poolmig.stream.CheckpointFormat.*;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.HexFormat;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;

/**
 * Writes one checkpoint stream: {@link #writeHeader} first, then page batches or opaque chunks and
 * round markers, then {@link #writeEnd}, which seals the stream with its byte count, the digest of
 * its HEADER and the content digest.
 *
 * <p>It writes format v2, in which the bytes of the pages are hashed once, by whoever produces the
 * content digest ({@link PageTree}), and not again here. {@link #ofVersion} writes v1, which
 * hashes every byte; it exists so that readers of files saved by an earlier poolmig stay tested.
 *
 * <p>Not thread-safe: one writer per stream. The writer does not close the underlying stream
 * unless {@link #close} is called; a stream closed without {@link #writeEnd} is truncated by
 * definition and every reader rejects it.
 */
public final class CheckpointWriter implements AutoCloseable {

  private static final byte[] ZEROS = new byte[ALIGNMENT];
  private static final int OPAQUE_CHUNK_BYTES = 1 << 20;

  private final OutputStream out;
  private final StreamOptions options;
  private final int version;
  /** v1: every byte before END; v2: the HEADER's body. */
  private final MessageDigest seal = Sha256.newDigest();
  private final LZ4Compressor lz4;
  private final long startNanos = System.nanoTime();
  private final byte[] recordHeader = new byte[RECORD_HEADER_BYTES];
  private byte[] compressBuffer = new byte[0];
  private byte[] entryBytes = new byte[0];
  private byte[] batchBody = new byte[0];
  private long bytesWritten;
  private boolean headerWritten;
  private boolean ended;
  private OpaqueOutput opaque;

  /** A writer of the current format, {@link CheckpointFormat#VERSION}. */
  public CheckpointWriter(OutputStream out, StreamOptions options) {
    this(CheckpointFormat.VERSION, out, options);
  }

  private CheckpointWriter(int version, OutputStream out, StreamOptions options) {
    this.version = version;
    this.out = new BufferedOutputStream(out, 1 << 16);
    this.options = options;
    this.lz4 = options.lz4() ? LZ4Factory.fastestInstance().fastCompressor() : null;
  }

  /**
   * A writer of format {@code version}, 1 to {@link CheckpointFormat#VERSION}. The header is
   * written as given: a reader refuses
   * one whose {@code formatVersion} is not the preamble's.
   */
  public static CheckpointWriter ofVersion(int version, OutputStream out, StreamOptions options) {
    if (version < CheckpointFormat.OLDEST_READABLE || version > CheckpointFormat.VERSION) {
      throw new IllegalArgumentException("no checkpoint format version " + version);
    }
    return new CheckpointWriter(version, out, options);
  }

  /** The format version this writer writes; its HEADER must say the same. */
  public int version() {
    return version;
  }

  public long bytesWritten() {
    return bytesWritten;
  }

  public void writeHeader(CheckpointHeader header) throws IOException {
    if (headerWritten) {
      throw new IllegalStateException("header already written");
    }
    ByteBuffer preamble = ByteBuffer.allocate(PREAMBLE_BYTES);
    preamble.put(MAGIC).putInt(version).putInt(0);
    emit(preamble.array(), 0, PREAMBLE_BYTES);
    byte[] json = Json.write(header);
    if (version >= 2) {
      seal.update(json);
    }
    writeRecord(TYPE_HEADER, 0, json, 0, json.length);
    headerWritten = true;
  }

  /**
   * Writes a batch of pages.
   *
   * @param entries {@code count} page numbers, each or'ed with {@link CheckpointFormat#PAGE_ZERO}
   *     for an all-zero page
   * @param data the non-zero pages' contents, in entry order, {@code PAGE_SIZE} bytes each
   * @param dataLength bytes of {@code data} used
   */
  public void writePageBatch(long[] entries, int count, byte[] data, int dataLength)
      throws IOException {
    requireBody();
    if (count < 1 || count > MAX_PAGES_PER_BATCH) {
      throw new IllegalArgumentException("page batch of " + count + " pages");
    }
    int length = 8 + count * 8 + dataLength;
    if (entryBytes.length < 8 + count * 8) {
      entryBytes = new byte[8 + MAX_PAGES_PER_BATCH * 8];
    }
    ByteBuffer head = ByteBuffer.wrap(entryBytes);
    head.putInt(count).putInt(0);
    for (int i = 0; i < count; i++) {
      head.putLong(entries[i]);
    }
    if (lz4 != null) {
      // LZ4 needs the body in one piece: assembled in a buffer kept for the stream.
      if (batchBody.length < length) {
        batchBody = new byte[8 + MAX_PAGES_PER_BATCH * (8 + PAGE_SIZE)];
      }
      System.arraycopy(entryBytes, 0, batchBody, 0, head.position());
      System.arraycopy(data, 0, batchBody, head.position(), dataLength);
      writeMaybeCompressed(TYPE_PAGE_BATCH, batchBody, length);
      return;
    }
    // Uncompressed, the pages go from the caller's array to the stream as they are.
    ByteBuffer.wrap(recordHeader).putShort((short) TYPE_PAGE_BATCH).putShort((short) 0)
        .putInt(length);
    emit(recordHeader, 0, RECORD_HEADER_BYTES);
    emit(entryBytes, 0, head.position());
    emit(data, 0, dataLength);
    emit(ZEROS, 0, padding(length));
    pace();
  }

  public void writeOpaque(byte[] data, int offset, int length) throws IOException {
    requireBody();
    if (length == 0) {
      return;
    }
    if (offset == 0) {
      writeMaybeCompressed(TYPE_OPAQUE, data, length);
    } else {
      byte[] copy = java.util.Arrays.copyOfRange(data, offset, offset + length);
      writeMaybeCompressed(TYPE_OPAQUE, copy, length);
    }
  }

  /**
   * An output stream that frames whatever is written to it as OPAQUE records (the same stream on
   * every call); {@link #writeEnd} flushes what it still buffers.
   */
  public OutputStream opaqueOutput() {
    if (opaque == null) {
      opaque = new OpaqueOutput();
    }
    return opaque;
  }

  public void writeRoundEnd(int round, long pagesInRound) throws IOException {
    requireBody();
    ByteBuffer body = ByteBuffer.allocate(16).putInt(round).putInt(0).putLong(pagesInRound);
    writeRecord(TYPE_ROUND_END, 0, body.array(), 0, 16);
  }

  /**
   * Seals the stream: the byte count of everything before the END record, the seal (v2: the
   * SHA-256 of the HEADER's body; v1: the SHA-256 of every byte before END followed by END's byte
   * count and content digest), and the content digest the receiver must reproduce. Flushes;
   * returns the total bytes written.
   */
  public long writeEnd(String contentDigestHex) throws IOException {
    requireBody();
    if (opaque != null) {
      opaque.flush(); // what is still buffered belongs before END
    }
    byte[] content = HexFormat.of().parseHex(contentDigestHex);
    if (content.length != DIGEST_BYTES) {
      throw new IllegalArgumentException("content digest must be SHA-256");
    }
    long covered = bytesWritten;
    if (version == 1) {
      seal.update(ByteBuffer.allocate(8).putLong(covered).array());
      seal.update(content);
    }
    ByteBuffer body = ByteBuffer.allocate(END_BODY_BYTES);
    body.putLong(covered).put(seal.digest()).put(content);
    writeRecord(TYPE_END, 0, body.array(), 0, END_BODY_BYTES);
    out.flush();
    ended = true;
    return bytesWritten;
  }

  public void flush() throws IOException {
    out.flush();
  }

  @Override
  public void close() throws IOException {
    out.close();
  }

  private void requireBody() {
    if (!headerWritten) {
      throw new IllegalStateException("write the header first");
    }
    if (ended) {
      throw new IllegalStateException("stream already ended");
    }
  }

  private void writeMaybeCompressed(int type, byte[] body, int length) throws IOException {
    if (lz4 != null) {
      int bound = 8 + lz4.maxCompressedLength(length);
      if (compressBuffer.length < bound) {
        compressBuffer = new byte[bound];
      }
      int compressed = lz4.compress(body, 0, length, compressBuffer, 8);
      if (compressed + 8 < length) {
        ByteBuffer.wrap(compressBuffer).putInt(length).putInt(0);
        writeRecord(type, FLAG_LZ4, compressBuffer, 0, compressed + 8);
        return;
      }
    }
    writeRecord(type, 0, body, 0, length);
  }

  private void writeRecord(int type, int flags, byte[] body, int offset, int length)
      throws IOException {
    ByteBuffer.wrap(recordHeader).putShort((short) type).putShort((short) flags).putInt(length);
    emit(recordHeader, 0, RECORD_HEADER_BYTES);
    emit(body, offset, length);
    emit(ZEROS, 0, padding(length));
    pace();
  }

  private void emit(byte[] bytes, int offset, int length) throws IOException {
    out.write(bytes, offset, length);
    if (version == 1) {
      seal.update(bytes, offset, length);
    }
    bytesWritten += length;
  }

  /** Sleeps as long as the stream runs ahead of its bandwidth cap. */
  private void pace() throws IOException {
    long rate = options.bytesPerSecond();
    if (rate == 0) {
      return;
    }
    long dueNanos = (long) (bytesWritten * 1e9 / rate);
    long aheadNanos = dueNanos - (System.nanoTime() - startNanos);
    if (aheadNanos > 1_000_000) {
      try {
        Thread.sleep(aheadNanos / 1_000_000, (int) (aheadNanos % 1_000_000));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("checkpoint stream interrupted while pacing");
      }
    }
  }

  private final class OpaqueOutput extends OutputStream {
    private final byte[] buffer = new byte[OPAQUE_CHUNK_BYTES];
    private int filled;

    @Override
    public void write(int b) throws IOException {
      buffer[filled++] = (byte) b;
      if (filled == buffer.length) {
        flush();
      }
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      while (len > 0) {
        int n = Math.min(len, buffer.length - filled);
        System.arraycopy(b, off, buffer, filled, n);
        filled += n;
        off += n;
        len -= n;
        if (filled == buffer.length) {
          flush();
        }
      }
    }

    /** Emits what is buffered as one OPAQUE record; does not end the stream. */
    @Override
    public void flush() throws IOException {
      if (filled > 0) {
        writeOpaque(buffer, 0, filled);
        filled = 0;
      }
    }

    @Override
    public void close() throws IOException {
      flush();
    }
  }
}
