package io.poolmig.stream;

/** One body record of a checkpoint stream, as a {@link CheckpointReader} returns it. */
public sealed interface CheckpointRecord {

  /**
   * Pages of guest memory. {@code entries[i]} is a page number, or'ed with
   * {@link CheckpointFormat#PAGE_ZERO} for an all-zero page; {@code data} holds the non-zero pages
   * in entry order from {@code dataOffset}. The arrays are reused by the reader: consume before
   * the next call.
   */
  record PageBatch(int count, long[] entries, byte[] data, int dataOffset)
      implements CheckpointRecord {

    public long pfn(int i) {
      return entries[i] & CheckpointFormat.PFN_MASK;
    }

    public boolean isZero(int i) {
      return (entries[i] & CheckpointFormat.PAGE_ZERO) != 0;
    }
  }

  /** A chunk of a hypervisor's own stream (libxl), carried as is. */
  record Opaque(byte[] data, int length) implements CheckpointRecord {}

  /** Marks the end of a pre-copy round. */
  record RoundEnd(int round, long pages) implements CheckpointRecord {}

  /**
   * The last record; the reader has already checked byte count and seal.
   *
   * @param formatVersion the stream's format: it says how the content digest is made (v2: a
   *     {@link PageTree} root for memory pages; v1: the SHA-256 of the whole memory)
   * @param seal v2: SHA-256 of the HEADER's body; v1: SHA-256 of the stream
   * @param contentDigest the 32-byte digest, in hex, the receiver must reproduce
   */
  record End(int formatVersion, long streamBytes, String seal, String contentDigest)
      implements CheckpointRecord {}
}
