package io.poolmig.stream;

import static io.poolmig.stream.CheckpointFormat.*;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Arrays;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * Reads and validates one checkpoint stream: {@link #readHeader} first, then {@link #next} until
 * it returns {@link CheckpointRecord.End}. Every malformation — bad magic or version, unknown
 * record, oversized record, non-zero padding, truncation, a byte count or SHA-256 that does not
 * match the END record — raises {@link CheckpointFormatException} naming the byte offset.
 *
 * <p>Hazard: records before END are not yet authenticated by the stream digest. A consumer must
 * stage what it reads and commit only once {@code next()} has returned END.
 */
public final class CheckpointReader implements AutoCloseable {

  private final InputStream in;
  private final StreamLimits limits;
  private final MessageDigest digest = Sha256.newDigest();
  private final byte[] recordHeader = new byte[RECORD_HEADER_BYTES];
  private final LZ4SafeDecompressor lz4 = LZ4Factory.fastestInstance().safeDecompressor();
  private byte[] body = new byte[1 << 16];
  private byte[] inflated = new byte[0];
  private long[] entries = new long[MAX_PAGES_PER_BATCH];
  private byte[] pageData = new byte[MAX_PAGES_PER_BATCH * PAGE_SIZE];
  private long offset;
  private CheckpointHeader header;
  private CheckpointRecord.End end;

  public CheckpointReader(InputStream in, StreamLimits limits) {
    this.in = new BufferedInputStream(in, 1 << 16);
    this.limits = limits;
  }

  public long bytesRead() {
    return offset;
  }

  /** The END record once reached, else null. */
  public CheckpointRecord.End end() {
    return end;
  }

  public CheckpointHeader readHeader() throws IOException {
    if (header != null) {
      return header;
    }
    byte[] preamble = new byte[PREAMBLE_BYTES];
    readFully(preamble, PREAMBLE_BYTES, "preamble");
    if (!Arrays.equals(Arrays.copyOf(preamble, MAGIC.length), MAGIC)) {
      throw new CheckpointFormatException("not a poolmig checkpoint (bad magic)");
    }
    int version = ByteBuffer.wrap(preamble, 8, 4).getInt();
    if (version != VERSION) {
      throw new CheckpointFormatException(
          "checkpoint format version " + version + " is not supported (this poolmig reads "
              + VERSION + ")");
    }
    int type = readRecordHeader();
    int length = ByteBuffer.wrap(recordHeader, 4, 4).getInt();
    if (type != TYPE_HEADER) {
      throw new CheckpointFormatException(at("expected a HEADER record, found type " + type));
    }
    if (length < 0 || length > limits.maxHeaderBytes()) {
      throw new CheckpointFormatException(at("HEADER record of " + length + " bytes is oversized"));
    }
    int n = readBody(length);
    CheckpointHeader parsed;
    try {
      parsed = Json.MAPPER.readValue(body, 0, n, CheckpointHeader.class);
    } catch (IOException e) {
      throw new CheckpointFormatException(at("HEADER is not valid JSON: " + e.getMessage()), e);
    }
    validate(parsed);
    header = parsed;
    return header;
  }

  /** The next body record; END last. Calling again after END is an error. */
  public CheckpointRecord next() throws IOException {
    if (header == null) {
      throw new IllegalStateException("read the header first");
    }
    if (end != null) {
      throw new IllegalStateException("stream already ended");
    }
    long coveredBefore = offset;
    MessageDigest digestBefore = null;
    int type = peekType();
    if (type == TYPE_END) {
      digestBefore = cloneDigest();
    }
    type = readRecordHeader();
    int flags = ByteBuffer.wrap(recordHeader, 2, 2).getShort() & 0xFFFF;
    int length = ByteBuffer.wrap(recordHeader, 4, 4).getInt();
    if (length < 0 || length > limits.maxRecordBytes()) {
      throw new CheckpointFormatException(at("record of " + length + " bytes is oversized"));
    }
    if ((flags & ~FLAG_LZ4) != 0) {
      throw new CheckpointFormatException(at("unknown record flags 0x" + Integer.toHexString(flags)));
    }
    int n = readBody(length);
    byte[] data = body;
    if ((flags & FLAG_LZ4) != 0) {
      n = inflate(n);
      data = inflated;
    }
    switch (type) {
      case TYPE_PAGE_BATCH:
        return pageBatch(data, n);
      case TYPE_OPAQUE:
        return new CheckpointRecord.Opaque(Arrays.copyOf(data, n), n);
      case TYPE_ROUND_END: {
        requireLength(n, 16, "ROUND_END");
        ByteBuffer b = ByteBuffer.wrap(data, 0, n);
        int round = b.getInt();
        b.getInt();
        return new CheckpointRecord.RoundEnd(round, b.getLong());
      }
      case TYPE_END:
        end = endRecord(data, n, coveredBefore, digestBefore);
        return end;
      default:
        throw new CheckpointFormatException(at("unknown record type " + type));
    }
  }

  /**
   * An input stream over the OPAQUE records that follow, ending at END (after which
   * {@link #end()} is set). Any other record type is a format error.
   */
  public InputStream opaqueInput() {
    return new InputStream() {
      private byte[] chunk = new byte[0];
      private int pos;

      @Override
      public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        while (pos == chunk.length) {
          if (end != null) {
            return -1;
          }
          CheckpointRecord r = next();
          if (r instanceof CheckpointRecord.Opaque o) {
            chunk = o.data();
            pos = 0;
          } else if (!(r instanceof CheckpointRecord.End)) {
            throw new CheckpointFormatException(at("expected OPAQUE records, found " + r));
          }
        }
        int n = Math.min(len, chunk.length - pos);
        System.arraycopy(chunk, pos, b, off, n);
        pos += n;
        return n;
      }
    };
  }

  /** True if nothing follows the END record (a file must end there). */
  public boolean atEof() throws IOException {
    return in.read() < 0;
  }

  @Override
  public void close() throws IOException {
    in.close();
  }

  private void validate(CheckpointHeader h) throws CheckpointFormatException {
    if (h.vm() == null || h.vm().uuid() == null || h.vm().name() == null) {
      throw new CheckpointFormatException("HEADER lacks the VM's identity");
    }
    if (h.hypervisor() == null || h.migrationId() == null) {
      throw new CheckpointFormatException("HEADER lacks hypervisor kind or migration id");
    }
    if (h.pageSize() != PAGE_SIZE) {
      throw new CheckpointFormatException("HEADER page size " + h.pageSize() + " is not 4096");
    }
    long mem = h.vm().memoryBytes();
    if (mem <= 0 || mem % PAGE_SIZE != 0 || mem > limits.maxMemoryBytes()) {
      throw new CheckpointFormatException(
          "HEADER announces " + mem + " bytes of memory: not a positive multiple of 4096 within "
              + limits.maxMemoryBytes());
    }
    if (h.vm().vcpus() < 1) {
      throw new CheckpointFormatException("HEADER announces " + h.vm().vcpus() + " vCPUs");
    }
  }

  private CheckpointRecord.PageBatch pageBatch(byte[] data, int n) throws IOException {
    if (n < 8) {
      throw new CheckpointFormatException(at("PAGE_BATCH too short"));
    }
    ByteBuffer b = ByteBuffer.wrap(data, 0, n);
    int count = b.getInt();
    b.getInt();
    if (count < 1 || count > MAX_PAGES_PER_BATCH || 8L + count * 8L > n) {
      throw new CheckpointFormatException(at("PAGE_BATCH of " + count + " pages is malformed"));
    }
    long pages = header.pages();
    int nonZero = 0;
    for (int i = 0; i < count; i++) {
      long e = b.getLong();
      if ((e & ~(PFN_MASK | PAGE_ZERO)) != 0 || (e & PFN_MASK) >= pages) {
        throw new CheckpointFormatException(
            at("PAGE_BATCH entry " + (e & PFN_MASK) + " lies outside the VM's " + pages + " pages"));
      }
      entries[i] = e;
      if ((e & PAGE_ZERO) == 0) {
        nonZero++;
      }
    }
    requireLength(n, 8 + count * 8 + nonZero * PAGE_SIZE, "PAGE_BATCH");
    b.get(pageData, 0, nonZero * PAGE_SIZE);
    return new CheckpointRecord.PageBatch(count, entries, pageData);
  }

  private CheckpointRecord.End endRecord(byte[] data, int n, long covered,
      MessageDigest digestBefore) throws IOException {
    requireLength(n, END_BODY_BYTES, "END");
    ByteBuffer b = ByteBuffer.wrap(data, 0, n);
    long announced = b.getLong();
    byte[] streamDigest = new byte[DIGEST_BYTES];
    b.get(streamDigest);
    byte[] content = new byte[DIGEST_BYTES];
    b.get(content);
    if (announced != covered) {
      throw new CheckpointFormatException(
          "checkpoint corrupted: END announces " + announced + " bytes, " + covered + " were read");
    }
    // The stream digest covers the bytes before END, then END's byte count and content digest.
    digestBefore.update(data, 0, 8);
    digestBefore.update(content);
    if (!MessageDigest.isEqual(streamDigest, digestBefore.digest())) {
      throw new CheckpointFormatException(
          "checkpoint corrupted: SHA-256 of the stream does not match its END record");
    }
    return new CheckpointRecord.End(announced, Sha256.hex(streamDigest), Sha256.hex(content));
  }

  private int inflate(int n) throws IOException {
    if (n < 8) {
      throw new CheckpointFormatException(at("compressed record too short"));
    }
    int raw = ByteBuffer.wrap(body, 0, 4).getInt();
    if (raw < 0 || raw > limits.maxRecordBytes()) {
      throw new CheckpointFormatException(at("compressed record inflates to " + raw + " bytes"));
    }
    if (inflated.length < raw) {
      inflated = new byte[raw];
    }
    try {
      int got = lz4.decompress(body, 8, n - 8, inflated, 0, raw);
      if (got != raw) {
        throw new CheckpointFormatException(at("compressed record inflates to " + got + " bytes, "
            + "announced " + raw));
      }
    } catch (LZ4Exception e) {
      throw new CheckpointFormatException(at("compressed record is corrupt"), e);
    }
    return raw;
  }

  private void requireLength(int n, int expected, String what) throws CheckpointFormatException {
    if (n != expected) {
      throw new CheckpointFormatException(
          at(what + " record has " + n + " bytes, expected " + expected));
    }
  }

  private int peekType() throws IOException {
    in.mark(2);
    int hi = in.read();
    int lo = in.read();
    in.reset();
    if (hi < 0 || lo < 0) {
      throw truncated();
    }
    return (hi << 8) | lo;
  }

  private MessageDigest cloneDigest() {
    try {
      return (MessageDigest) digest.clone();
    } catch (CloneNotSupportedException e) {
      throw new IllegalStateException("SHA-256 digests are cloneable", e);
    }
  }

  private int readRecordHeader() throws IOException {
    readFully(recordHeader, RECORD_HEADER_BYTES, "record header");
    return ByteBuffer.wrap(recordHeader, 0, 2).getShort() & 0xFFFF;
  }

  private int readBody(int length) throws IOException {
    int padded = length + padding(length);
    if (body.length < padded) {
      body = new byte[padded];
    }
    readFully(body, padded, "record body");
    for (int i = length; i < padded; i++) {
      if (body[i] != 0) {
        throw new CheckpointFormatException(at("record padding is not zero"));
      }
    }
    return length;
  }

  private void readFully(byte[] buffer, int length, String what) throws IOException {
    int done = 0;
    while (done < length) {
      int n = in.read(buffer, done, length - done);
      if (n < 0) {
        throw truncated();
      }
      done += n;
    }
    digest.update(buffer, 0, length);
    offset += length;
  }

  private CheckpointFormatException truncated() {
    return new CheckpointFormatException(
        "checkpoint truncated: stream ended after " + offset + " bytes without an END record");
  }

  private String at(String message) {
    return message + " (at byte " + offset + ")";
  }
}
