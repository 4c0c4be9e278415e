package io.poolmig.stream;

import static io.poolmig.stream.CheckpointFormat.*;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectReader;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Objects;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * Reads and validates one checkpoint stream: {@link #readHeader} first, then {@link #next} until
 * it returns {@link CheckpointRecord.End}. Every malformation — bad magic or version, a HEADER
 * that is invalid or disagrees with the preamble, an unknown record type or flag, an oversized
 * record, non-zero padding or reserved fields, truncation, a byte count or SHA-256 that does not
 * match the END record, a stream longer than its announced memory allows or with too many
 * ROUND_END markers — raises {@link CheckpointFormatException} naming the byte offset. Nothing
 * else comes of the stream's bytes; an {@link IOException} of the underlying input passes through.
 *
 * <p>Work is bounded by the HEADER: the reader consumes at most
 * {@link StreamLimits#maxStreamBytes} of the stream for the memory it announces (plus what its
 * 64 KiB buffer reads ahead) and at most {@link StreamLimits#maxRoundMarkers} ROUND_END records,
 * and holds at most one record body, its inflated form and one page batch in memory. Compressed
 * bodies are inflated by lz4-java's safe decompressor through JNI ({@code LZ4_decompress_safe},
 * which checks every read and write against the buffers it is given), from at.yawk.lz4 1.14:
 * lz4-java up to 1.8.0 did not guard every access against hostile input (CVE-2025-12183), and
 * its pure-Java decompressors up to 1.10.0 could copy what a reused output buffer held before
 * (CVE-2025-66566) — this reader reuses its buffer. A malformed block is reported as a corrupt
 * record.
 *
 * <p>Where the stream ends: a reader made with the constructor reads a stream that may go on
 * after END (a receive connection answers a status frame on it). One made with
 * {@link #ofWholeInput} reads a checkpoint that is all of its input (a file, standard input):
 * there {@code next()} returns END only once it has also seen the end of the input, and data
 * after END is a format error, so a consumer that commits after END commits nothing a longer
 * input would have refused.
 *
 * <p>Hazards: records before END are not yet authenticated by the stream digest; a consumer must
 * stage what it reads and commit only once {@code next()} has returned END. A whole-input
 * reader's last {@code next()} blocks until a pipe that delivered END is closed. Not thread-safe.
 */
public final class CheckpointReader implements AutoCloseable {

  /** The HEADER is one JSON object and nothing after it. */
  private static final ObjectReader HEADER_READER = Json.MAPPER.readerFor(CheckpointHeader.class)
      .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private final InputStream in;
  private final StreamLimits limits;
  private final boolean wholeInput;
  /** v1's stream digest over every byte; dropped once the preamble says v2. */
  private MessageDigest digest = Sha256.newDigest();
  /** v2's seal: the SHA-256 of the HEADER's body. */
  private byte[] headerSeal;
  private int version;
  private final byte[] recordHeader = new byte[RECORD_HEADER_BYTES];
  // The bounds-checked decompressor; JNI where the platform has it (class comment).
  private static final LZ4SafeDecompressor LZ4 = LZ4Factory.fastestInstance().safeDecompressor();
  private byte[] body = new byte[1 << 16];
  private byte[] inflated = new byte[0];
  private long[] entries = new long[MAX_PAGES_PER_BATCH];
  private long offset;
  /** Bytes the stream may carry; known once the HEADER announced the memory. */
  private long cap = Long.MAX_VALUE;
  private int roundMarkers;
  private CheckpointHeader header;
  private CheckpointRecord.End end;
  private RoundListener roundListener;

  /** Told of each ROUND_END as it is read, once every record before it was consumed. */
  @FunctionalInterface
  public interface RoundListener {
    void roundEnded(int round, long bytesRead) throws IOException;
  }

  /** Sets the listener of ROUND_END records; returns this reader. */
  public CheckpointReader onRoundEnd(RoundListener listener) {
    this.roundListener = listener;
    return this;
  }

  /** A reader of a stream that may go on after its END record (a receive connection). */
  public CheckpointReader(InputStream in, StreamLimits limits) {
    this(in, limits, false);
  }

  private CheckpointReader(InputStream in, StreamLimits limits, boolean wholeInput) {
    this.in = new BufferedInputStream(Objects.requireNonNull(in, "in"), 1 << 16);
    this.limits = Objects.requireNonNull(limits, "limits");
    this.wholeInput = wholeInput;
  }

  /**
   * A reader of a checkpoint that is the whole of {@code in} (a file, standard input): reaching
   * END also reads to the end of the input, and a byte after END is refused before END is
   * returned.
   */
  public static CheckpointReader ofWholeInput(InputStream in, StreamLimits limits) {
    return new CheckpointReader(in, limits, true);
  }

  public long bytesRead() {
    return offset;
  }

  /** The END record once reached, else null. */
  public CheckpointRecord.End end() {
    return end;
  }

  /** Reads and validates the preamble and the HEADER record; the same header on later calls. */
  public CheckpointHeader readHeader() throws IOException {
    if (header != null) {
      return header;
    }
    byte[] preamble = new byte[PREAMBLE_BYTES];
    readFully(preamble, 0, PREAMBLE_BYTES);
    if (!Arrays.equals(Arrays.copyOf(preamble, MAGIC.length), MAGIC)) {
      throw new CheckpointFormatException("not a poolmig checkpoint (bad magic)");
    }
    int version = ByteBuffer.wrap(preamble, 8, 4).getInt();
    if (version < OLDEST_READABLE || version > VERSION) {
      throw new CheckpointFormatException(
          "checkpoint format version " + version + " is not supported (this poolmig reads "
              + OLDEST_READABLE + " to " + VERSION + ")");
    }
    this.version = version;
    if (version >= 2) {
      digest = null; // v2+ hashes the pages once, in the consumer's PageTree, not the stream
    }
    if (ByteBuffer.wrap(preamble, 12, 4).getInt() != 0) {
      throw new CheckpointFormatException(at("preamble's reserved word is not zero"));
    }
    int type = readRecordHeader();
    int flags = flags();
    int length = ByteBuffer.wrap(recordHeader, 4, 4).getInt();
    if (type != TYPE_HEADER) {
      throw new CheckpointFormatException(at("expected a HEADER record, found type " + type));
    }
    if (flags != 0) {
      // A HEADER is never compressed: it must be readable before anything else is trusted.
      throw new CheckpointFormatException(at("unknown HEADER record flags 0x"
          + Integer.toHexString(flags)));
    }
    if (length < 0 || length > limits.maxHeaderBytes()) {
      throw new CheckpointFormatException(at("HEADER record of " + length + " bytes is oversized"));
    }
    int n = readBody(length);
    CheckpointHeader parsed;
    try {
      parsed = HEADER_READER.readValue(body, 0, n);
    } catch (IOException e) {
      throw new CheckpointFormatException(at("HEADER is not valid JSON: " + e.getMessage()), e);
    }
    validate(parsed, version);
    if (version >= 2) {
      MessageDigest sha = Sha256.newDigest();
      sha.update(body, 0, n);
      headerSeal = sha.digest();
    }
    cap = limits.maxStreamBytes(parsed.vm().memoryBytes());
    header = parsed;
    return header;
  }

  /**
   * The next body record; END last (for a {@linkplain #ofWholeInput whole-input} reader, only
   * once the input has ended there too). Calling again after END is an error.
   */
  public CheckpointRecord next() throws IOException {
    if (header == null) {
      throw new IllegalStateException("read the header first");
    }
    if (end != null) {
      throw new IllegalStateException("stream already ended");
    }
    long coveredBefore = offset;
    MessageDigest digestBefore = null;
    if (digest != null && peekType() == TYPE_END) {
      digestBefore = cloneDigest();
    }
    int type = readRecordHeader();
    int flags = flags();
    int length = ByteBuffer.wrap(recordHeader, 4, 4).getInt();
    // Refuse what the record header already gives away before reading (and hashing) its body.
    if (length < 0 || length > limits.maxRecordBytes()) {
      throw new CheckpointFormatException(at("record of " + length + " bytes is oversized"));
    }
    if ((flags & ~FLAG_LZ4) != 0) {
      throw new CheckpointFormatException(at("unknown record flags 0x" + Integer.toHexString(flags)));
    }
    switch (type) {
      case TYPE_PAGE_BATCH, TYPE_OPAQUE, TYPE_END:
        break;
      case TYPE_ROUND_END:
        if (++roundMarkers > limits.maxRoundMarkers()) {
          throw new CheckpointFormatException(at("ROUND_END record " + roundMarkers
              + " exceeds the limit of " + limits.maxRoundMarkers() + " per stream"));
        }
        break;
      case TYPE_HEADER:
        throw new CheckpointFormatException(at("a second HEADER record"));
      default:
        throw new CheckpointFormatException(at("unknown record type " + type));
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
        requireReservedZero(b.getInt(), "ROUND_END");
        CheckpointRecord.RoundEnd roundEnd = new CheckpointRecord.RoundEnd(round, b.getLong());
        if (roundListener != null) {
          // The consumer asked for this record: it has consumed every one before it.
          roundListener.roundEnded(round, offset);
        }
        return roundEnd;
      }
      case TYPE_END: {
        CheckpointRecord.End e = endRecord(data, n, coveredBefore, digestBefore);
        if (wholeInput && in.read() >= 0) {
          // Checked before END is returned: the consumer commits on END, and must not here.
          throw new CheckpointFormatException("data follows the END record at byte " + offset
              + ": a checkpoint read from a file or standard input must end with it");
        }
        end = e;
        return end;
      }
      default:
        throw new AssertionError("record type " + type + " was refused above");
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
            throw new CheckpointFormatException(at("expected OPAQUE records, found "
                + r.getClass().getSimpleName()));
          }
        }
        int n = Math.min(len, chunk.length - pos);
        System.arraycopy(chunk, pos, b, off, n);
        pos += n;
        return n;
      }
    };
  }

  /**
   * True if nothing follows the END record. A whole-input reader has checked that already; this
   * is for a caller that inspects a stream it does not commit from.
   */
  public boolean atEof() throws IOException {
    return in.read() < 0;
  }

  @Override
  public void close() throws IOException {
    in.close();
  }

  private void validate(CheckpointHeader h, int preambleVersion)
      throws CheckpointFormatException {
    if (h == null) {
      throw new CheckpointFormatException(inHeader("HEADER is JSON null"));
    }
    if (h.formatVersion() != preambleVersion) {
      throw new CheckpointFormatException(inHeader("HEADER says format version "
          + h.formatVersion() + ", its preamble " + preambleVersion));
    }
    if (h.vm() == null || isBlank(h.vm().uuid()) || isBlank(h.vm().name())) {
      throw new CheckpointFormatException(inHeader("HEADER lacks the VM's identity (uuid, name)"));
    }
    if (isBlank(h.hypervisor()) || isBlank(h.migrationId())) {
      throw new CheckpointFormatException(inHeader("HEADER lacks hypervisor kind or migration id"));
    }
    if (isBlank(h.sourceHost())) {
      throw new CheckpointFormatException(inHeader("HEADER lacks the source host"));
    }
    if (h.pageSize() != PAGE_SIZE) {
      throw new CheckpointFormatException(inHeader("HEADER page size " + h.pageSize()
          + " is not 4096"));
    }
    long mem = h.vm().memoryBytes();
    if (mem <= 0 || mem % PAGE_SIZE != 0 || mem > limits.maxMemoryBytes()) {
      throw new CheckpointFormatException(inHeader(
          "HEADER announces " + mem + " bytes of memory: not a positive multiple of 4096 within "
              + limits.maxMemoryBytes()));
    }
    int vcpus = h.vm().vcpus();
    if (vcpus < 1 || vcpus > MAX_VCPUS) {
      throw new CheckpointFormatException(inHeader("HEADER announces " + vcpus
          + " vCPUs: not within 1.." + MAX_VCPUS));
    }
  }

  private static boolean isBlank(String s) {
    return s == null || s.isBlank();
  }

  private CheckpointRecord.PageBatch pageBatch(byte[] data, int n) throws IOException {
    if (n < 8) {
      throw new CheckpointFormatException(at("PAGE_BATCH too short"));
    }
    ByteBuffer b = ByteBuffer.wrap(data, 0, n);
    int count = b.getInt();
    requireReservedZero(b.getInt(), "PAGE_BATCH");
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
    // The pages stay where they were read: no copy per batch.
    return new CheckpointRecord.PageBatch(count, entries, data, b.position());
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
    if (version == 1) {
      // v1's stream digest covers the bytes before END, then END's byte count and content digest.
      digestBefore.update(data, 0, 8);
      digestBefore.update(content);
      if (!MessageDigest.isEqual(streamDigest, digestBefore.digest())) {
        throw new CheckpointFormatException(
            "checkpoint corrupted: SHA-256 of the stream does not match its END record");
      }
    } else if (!MessageDigest.isEqual(streamDigest, headerSeal)) {
      throw new CheckpointFormatException(
          "checkpoint corrupted: its HEADER does not match the digest in its END record");
    }
    return new CheckpointRecord.End(version, announced, Sha256.hex(streamDigest),
        Sha256.hex(content));
  }

  private int inflate(int n) throws IOException {
    if (n < 8) {
      throw new CheckpointFormatException(at("compressed record too short"));
    }
    int raw = ByteBuffer.wrap(body, 0, 4).getInt();
    requireReservedZero(ByteBuffer.wrap(body, 4, 4).getInt(), "compressed");
    // An LZ4 block inflates at most 255-fold (a match grows by at most 255 bytes per input
    // byte): a larger claim is a lie, refused before it costs an allocation of its size.
    if (raw < 1 || raw > limits.maxRecordBytes() || raw > 255L * (n - 8)) {
      throw new CheckpointFormatException(at("compressed record of " + n + " bytes claims to "
          + "inflate to " + raw));
    }
    if (inflated.length < raw) {
      inflated = new byte[raw];
    }
    try {
      int got = LZ4.decompress(body, 8, n - 8, inflated, 0, raw);
      if (got != raw) {
        throw new CheckpointFormatException(at("compressed record inflates to " + got + " bytes, "
            + "announced " + raw));
      }
    } catch (LZ4Exception | IndexOutOfBoundsException e) {
      // LZ4Exception is the library's word for a malformed block; its pure-Java form, used where
      // the native library cannot load, may say so with an index out of bounds.
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

  private void requireReservedZero(int word, String what) throws CheckpointFormatException {
    if (word != 0) {
      throw new CheckpointFormatException(at(what + " record's reserved word is not zero"));
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
    readFully(recordHeader, 0, RECORD_HEADER_BYTES);
    return ByteBuffer.wrap(recordHeader, 0, 2).getShort() & 0xFFFF;
  }

  private int flags() {
    return ByteBuffer.wrap(recordHeader, 2, 2).getShort() & 0xFFFF;
  }

  private int readBody(int length) throws IOException {
    int padded = length + padding(length);
    requireWithinCap(padded);
    // The buffer grows with the bytes that arrive, not with what the record header claims: a
    // few bytes announcing a 16 MiB record must not cost 16 MiB.
    int done = 0;
    while (done < padded) {
      if (done == body.length) {
        body = Arrays.copyOf(body, (int) Math.min(padded, 2L * body.length));
      }
      int chunk = Math.min(padded, body.length) - done;
      readFully(body, done, chunk);
      done += chunk;
    }
    for (int i = length; i < padded; i++) {
      if (body[i] != 0) {
        throw new CheckpointFormatException(at("record padding is not zero"));
      }
    }
    return length;
  }

  /** Reads exactly {@code length} bytes, within the stream's cap, into the stream digest. */
  private void readFully(byte[] buffer, int from, int length) throws IOException {
    requireWithinCap(length);
    int done = 0;
    while (done < length) {
      int n = in.read(buffer, from + done, length - done);
      if (n < 0) {
        throw truncated();
      }
      done += n;
    }
    if (digest != null) {
      digest.update(buffer, from, length);
    }
    offset += length;
  }

  /** Bytes are consumed only through {@link #readFully}: the one place the total is bounded. */
  private void requireWithinCap(long length) throws CheckpointFormatException {
    if (length > cap - offset) {
      throw new CheckpointFormatException(at("checkpoint runs past " + cap + " bytes, the most a "
          + "stream may carry for " + header.vm().memoryBytes() + " bytes of memory ("
          + limits.memoryPasses() + " × memory + " + limits.fixedAllowanceBytes() + ")"));
    }
  }

  private CheckpointFormatException truncated() {
    return new CheckpointFormatException(
        "checkpoint truncated: stream ended after " + offset + " bytes without an END record");
  }

  private String at(String message) {
    return message + " (at byte " + offset + ")";
  }

  private static String inHeader(String message) {
    return message + " (HEADER record at byte " + PREAMBLE_BYTES + ")";
  }
}
