package io.poolmig.stream;

/**
 * Options of a checkpoint writer, validated once.
 *
 * @param lz4 compress record bodies with LZ4 where that makes them smaller
 * @param bytesPerSecond cap on the stream's average rate, 0 for none
 */
public record StreamOptions(boolean lz4, long bytesPerSecond) {

  public static final StreamOptions DEFAULT = new StreamOptions(false, 0);

  public StreamOptions {
    if (bytesPerSecond < 0) {
      throw new IllegalArgumentException("bytesPerSecond must be >= 0, was " + bytesPerSecond);
    }
  }
}
