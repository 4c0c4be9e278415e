package io.poolmig.stream;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 helpers: the one digest poolmig uses for streams and memory. */
public final class Sha256 {

  private Sha256() {}

  public static MessageDigest newDigest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime provides SHA-256", e);
    }
  }

  public static String hex(byte[] digest) {
    return HexFormat.of().formatHex(digest);
  }

  /** Digest of the first {@code length} bytes of a file (missing tail bytes count as zeros). */
  public static String ofFile(Path file, long length) throws IOException {
    MessageDigest md = newDigest();
    ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long pos = 0;
      while (pos < length) {
        buffer.clear();
        buffer.limit((int) Math.min(buffer.capacity(), length - pos));
        int n = ch.read(buffer, pos);
        if (n < 0) {
          break;
        }
        buffer.flip();
        md.update(buffer);
        pos += n;
      }
      byte[] zeros = new byte[1 << 16];
      while (pos < length) {
        int n = (int) Math.min(zeros.length, length - pos);
        md.update(zeros, 0, n);
        pos += n;
      }
    }
    return hex(md.digest());
  }

  public static String of(InputStream in) throws IOException {
    MessageDigest md = newDigest();
    byte[] buffer = new byte[1 << 16];
    for (int n; (n = in.read(buffer)) > 0; ) {
      md.update(buffer, 0, n);
    }
    return hex(md.digest());
  }
}
