package io.poolmig.hypervisor;

import io.poolmig.stream.Json;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Small JSON state files that a crash never leaves half-written: written to a sibling and renamed
 * over the old one.
 */
public final class StateFiles {

  private StateFiles() {}

  public static void writeJson(Path file, Object value) throws IOException {
    writeThrough(file.resolveSibling(file.getFileName() + ".tmp"), file, value);
  }

  /** Like {@link #writeJson}, readable and writable by the owner only, from the first byte. */
  public static void writePrivateJson(Path file, Object value) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.deleteIfExists(tmp);
    try {
      Files.createFile(tmp, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
          java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
    } catch (UnsupportedOperationException e) {
      Files.createFile(tmp); // not a POSIX file system: its own access rules apply
    }
    writeThrough(tmp, file, value);
  }

  private static void writeThrough(Path tmp, Path file, Object value) throws IOException {
    try {
      Files.write(tmp, Json.write(value));
      replace(tmp, file);
    } catch (IOException e) {
      discard(tmp, e);
      throw e;
    }
  }

  /** A failed write leaves no partial sibling to take the room a retry needs. */
  private static void discard(Path tmp, IOException failure) {
    try {
      Files.deleteIfExists(tmp);
    } catch (IOException e) {
      failure.addSuppressed(e);
    }
  }

  private static void replace(Path tmp, Path file) throws IOException {
    try {
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /** The file's value, or empty if the file does not exist (being created or removed). */
  public static <T> Optional<T> readJson(Path file, Class<T> type) throws IOException {
    try {
      return Optional.of(Json.MAPPER.readValue(file.toFile(), type));
    } catch (NoSuchFileException | java.io.FileNotFoundException e) {
      return Optional.empty();
    }
  }

  public static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new HypervisorException("cannot delete " + dir + ": " + e, e);
    }
  }
}
