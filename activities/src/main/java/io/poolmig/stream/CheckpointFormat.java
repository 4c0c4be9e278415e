package io.poolmig.stream;

import java.nio.charset.StandardCharsets;

/**
 * Constants of checkpoint stream v3 (and v1, v2, still read): a 16-byte preamble, then records of an 8-byte header
 * ({@code u16 type, u16 flags, u32 body length}, big-endian) and a body padded with zeros to a
 * multiple of 8 bytes. The full layout is in {@code docs/architecture.md}.
 */
public final class CheckpointFormat {

  static final byte[] MAGIC = "PMIGCKPT".getBytes(StandardCharsets.US_ASCII);
  /**
   * The version this poolmig writes. v3 differs from v2 in the leaves of the memory's page tree
   * only ({@link PageTree}); a source writes v2 to a target that reads no more (its ticket says).
   */
  public static final int VERSION = 3;
  /** The oldest version it still reads (files saved by an earlier poolmig). */
  public static final int OLDEST_READABLE = 1;
  static final int PREAMBLE_BYTES = 16;
  static final int RECORD_HEADER_BYTES = 8;
  static final int ALIGNMENT = 8;

  public static final int PAGE_SIZE = 4096;
  /** Largest page batch a writer emits and a reader accepts. */
  public static final int MAX_PAGES_PER_BATCH = 1024;
  /**
   * Most vCPUs a HEADER may announce. A sanity bound, not a policy: well above Xen's
   * {@code HVM_MAX_VCPUS} (128, {@code public/hvm/hvm_info_table.h}) and what toolstacks allow PV
   * guests, so no real VM is refused, while a header announcing millions is.
   */
  public static final int MAX_VCPUS = 4096;

  static final int TYPE_HEADER = 0x0001;
  static final int TYPE_PAGE_BATCH = 0x0002;
  static final int TYPE_OPAQUE = 0x0003;
  static final int TYPE_ROUND_END = 0x0004;
  static final int TYPE_END = 0x00FF;

  /** Record flag: the body is {@code u32 raw length, u32 0, LZ4 block}. */
  static final int FLAG_LZ4 = 0x0001;

  /** Page batch entry flag: the page is all zeros and no data follows for it. */
  public static final long PAGE_ZERO = 1L << 63;
  static final long PFN_MASK = (1L << 52) - 1;

  static final int DIGEST_BYTES = 32;
  /**
   * END body: {@code u64} bytes before END; a 32-byte seal; the 32-byte content digest. The seal
   * is, in v2 and v3, the SHA-256 of the HEADER record's body (the pages are covered by the content
   * digest, a {@link PageTree} root); in v1, the SHA-256 of every byte before END followed by
   * that count and the content digest.
   */
  static final int END_BODY_BYTES = 8 + DIGEST_BYTES + DIGEST_BYTES;

  private CheckpointFormat() {}

  static int padding(int length) {
    return (ALIGNMENT - (length % ALIGNMENT)) % ALIGNMENT;
  }
}
