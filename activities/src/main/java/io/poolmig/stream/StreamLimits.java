package io.poolmig.stream;

/**
 * What a reader accepts before it calls a stream oversized.
 *
 * @param maxRecordBytes largest record body
 * @param maxHeaderBytes largest HEADER JSON
 * @param maxMemoryBytes largest VM the header may announce
 */
public record StreamLimits(int maxRecordBytes, int maxHeaderBytes, long maxMemoryBytes) {

  public static final StreamLimits DEFAULT =
      new StreamLimits(16 << 20, 1 << 20, 1L << 40);
}
