package io.poolmig.stream;

/**
 * What a {@link CheckpointReader} accepts before it calls a stream oversized, validated once.
 *
 * <p>Every record is bounded by {@code maxRecordBytes}, but a sender could still send records
 * forever: an endless run of ROUND_END markers, or page batches re-sending the same pages. So the
 * whole stream is bounded too, by the memory its HEADER announces: {@link #maxStreamBytes} is
 * {@code memoryPasses × memory + fixedAllowanceBytes}. With the defaults, 16 passes and 64 MiB:
 *
 * <ul>
 *   <li>the simulated host sends its memory at most {@code SaveRequest.maxRounds} times (8 by
 *       default, at most {@code SaveRequest.MAX_ROUNDS} = 15), each page costing 8 bytes of batch
 *       entry on top of its 4096: 15 full passes stay under 15.1 × memory;
 *   <li>libxl's own stream, carried as OPAQUE records, also sends memory once per pre-copy
 *       iteration plus once after the pause (libxc stops after a few iterations), and adds what
 *       lies outside the announced memory: its page records' framing, the device model's state,
 *       video RAM. The passes are covered by the factor, the rest by the fixed allowance, which
 *       also pays for the preamble, the HEADER and END of a tiny VM.
 * </ul>
 *
 * <p>A legitimate stream therefore never comes near the cap, and a hostile one costs the receiver
 * at most that much reading, hashing and writing before it is refused.
 *
 * @param maxRecordBytes largest record body, inflated or not (at most 1 GiB)
 * @param maxHeaderBytes largest HEADER JSON (at most 1 GiB)
 * @param maxMemoryBytes largest VM the header may announce
 * @param memoryPasses how many times its announced memory a whole stream may carry
 * @param fixedAllowanceBytes what a whole stream may carry beyond {@code memoryPasses} × memory;
 *     at least enough for the preamble, the largest HEADER and END
 * @param maxRoundMarkers most ROUND_END records a stream may carry
 */
public record StreamLimits(int maxRecordBytes, int maxHeaderBytes, long maxMemoryBytes,
    int memoryPasses, long fixedAllowanceBytes, int maxRoundMarkers) {

  /** Default total-length factor: see the class comment for why 16 passes is ample. */
  public static final int DEFAULT_MEMORY_PASSES = 16;
  /** Default allowance beyond the passes: libxl's non-memory state, preamble, HEADER, END. */
  public static final long DEFAULT_FIXED_ALLOWANCE_BYTES = 64L << 20;
  /**
   * Default cap on ROUND_END markers: a stream carries one per round, at most
   * {@code SaveRequest.MAX_ROUNDS}; four times that leaves room without admitting a flood.
   */
  public static final int DEFAULT_MAX_ROUND_MARKERS = 64;

  private static final int MAX_BUFFER_BYTES = 1 << 30;

  public static final StreamLimits DEFAULT = new StreamLimits(16 << 20, 1 << 20, 1L << 40);

  public StreamLimits {
    // A stream must at least be able to end, and a buffer of the limit's size must be allocatable
    // with its padding: no int overflow anywhere in the reader.
    if (maxRecordBytes < CheckpointFormat.END_BODY_BYTES || maxRecordBytes > MAX_BUFFER_BYTES) {
      throw new IllegalArgumentException("maxRecordBytes must be between "
          + CheckpointFormat.END_BODY_BYTES + " and " + MAX_BUFFER_BYTES + ", was "
          + maxRecordBytes);
    }
    if (maxHeaderBytes < 2 || maxHeaderBytes > MAX_BUFFER_BYTES) {
      throw new IllegalArgumentException("maxHeaderBytes must be between 2 and "
          + MAX_BUFFER_BYTES + ", was " + maxHeaderBytes);
    }
    if (maxMemoryBytes < CheckpointFormat.PAGE_SIZE) {
      throw new IllegalArgumentException("maxMemoryBytes must be at least one page, was "
          + maxMemoryBytes);
    }
    if (memoryPasses < 1) {
      throw new IllegalArgumentException("memoryPasses must be at least 1, was " + memoryPasses);
    }
    long framing = CheckpointFormat.PREAMBLE_BYTES + 2L * CheckpointFormat.RECORD_HEADER_BYTES
        + maxHeaderBytes + CheckpointFormat.ALIGNMENT + CheckpointFormat.END_BODY_BYTES;
    if (fixedAllowanceBytes < framing) {
      throw new IllegalArgumentException("fixedAllowanceBytes must cover the preamble, the "
          + "largest HEADER and END (" + framing + " bytes), was " + fixedAllowanceBytes);
    }
    // The cap of the largest VM must be a long: the reader compares offsets against it.
    if (maxMemoryBytes > (Long.MAX_VALUE - fixedAllowanceBytes) / memoryPasses) {
      throw new IllegalArgumentException("memoryPasses × maxMemoryBytes + fixedAllowanceBytes "
          + "overflows: " + memoryPasses + " × " + maxMemoryBytes + " + " + fixedAllowanceBytes);
    }
    if (maxRoundMarkers < 1) {
      throw new IllegalArgumentException("maxRoundMarkers must be at least 1, was "
          + maxRoundMarkers);
    }
  }

  /** The default stream-length and round caps, with other record, header and memory limits. */
  public StreamLimits(int maxRecordBytes, int maxHeaderBytes, long maxMemoryBytes) {
    this(maxRecordBytes, maxHeaderBytes, maxMemoryBytes, DEFAULT_MEMORY_PASSES,
        DEFAULT_FIXED_ALLOWANCE_BYTES, DEFAULT_MAX_ROUND_MARKERS);
  }

  /**
   * The most bytes, preamble to END inclusive, a stream announcing {@code memoryBytes} may carry.
   *
   * @throws IllegalArgumentException if {@code memoryBytes} is outside 1..{@link #maxMemoryBytes}
   */
  public long maxStreamBytes(long memoryBytes) {
    if (memoryBytes < 1 || memoryBytes > maxMemoryBytes) {
      throw new IllegalArgumentException("memory of " + memoryBytes + " bytes is outside 1.."
          + maxMemoryBytes);
    }
    return memoryPasses * memoryBytes + fixedAllowanceBytes;
  }

  /** The same limits with another cap on the whole stream. */
  public StreamLimits withStreamCap(int memoryPasses, long fixedAllowanceBytes) {
    return new StreamLimits(maxRecordBytes, maxHeaderBytes, maxMemoryBytes, memoryPasses,
        fixedAllowanceBytes, maxRoundMarkers);
  }

  /** The same limits with another cap on ROUND_END markers. */
  public StreamLimits withMaxRoundMarkers(int markers) {
    return new StreamLimits(maxRecordBytes, maxHeaderBytes, maxMemoryBytes, memoryPasses,
        fixedAllowanceBytes, markers);
  }
}
