package io.poolmig.worker;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.UUID;

/**
 * The identity of a host worker's state directory: a random id written on its first start and
 * read on every later one, so that a restart of the same worker (same state, same domains) is
 * told apart from a second worker started under the same host name with other state.
 */
final class WorkerInstance {

  static final String FILE = "worker-instance";

  private WorkerInstance() {}

  static String of(Path stateDir) {
    Path file = stateDir.resolve(FILE);
    try {
      Files.createDirectories(stateDir);
      if (!Files.exists(file)) {
        // Written whole under a temporary name, then linked into place: a crash leaves no
        // empty identity, and of two first starts racing one id wins and both read it.
        Path draft = Files.createTempFile(stateDir, FILE, ".new");
        try {
          Files.writeString(draft, UUID.randomUUID() + "\n", StandardCharsets.US_ASCII,
              StandardOpenOption.SYNC);
          Files.createLink(file, draft);
        } catch (FileAlreadyExistsException e) {
          // the other start won
        } finally {
          Files.deleteIfExists(draft);
        }
      }
      return Files.readString(file, StandardCharsets.US_ASCII).strip();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read or create the worker identity " + file, e);
    }
  }
}
