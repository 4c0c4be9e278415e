package io.poolmig.hypervisor.sim;

import io.poolmig.hypervisor.StateFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.Collection;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The domain records of a simulated host as parsed from their {@code domain.json} files, reused
 * while the file on disk is the one that was parsed. The files stay the truth: every read checks
 * the file's identity, size and modification time (one {@code stat}) and parses it again when
 * any differs. A record is always replaced by writing a new file and renaming it over the old one,
 * so a change made by another process (a CLI {@code save}) is a new file here.
 *
 * <p>Why: a host's guest ticks and every activity list its domains; parsing every record each time
 * cost a pool of fifty hosts a fifth of its CPU.
 *
 * <p>Hazard: a file system may give a freed inode to the next file, within one tick of its coarse
 * clock, with the same size. Writes of this process therefore {@link #forget} the file they
 * replace, so its next read parses it; only a writer in another process relies on the check.
 */
final class ParsedRecords {

  private record Parsed(Object fileKey, FileTime modified, long size, SimDomainRecord record) {
    boolean describes(BasicFileAttributes a) {
      return a.size() == size && a.lastModifiedTime().equals(modified)
          && java.util.Objects.equals(a.fileKey(), fileKey);
    }
  }

  private final ConcurrentHashMap<Path, Parsed> parsed = new ConcurrentHashMap<>();

  /** The record in {@code file}, or empty if there is none (being created or removed). */
  Optional<SimDomainRecord> read(Path file) throws IOException {
    BasicFileAttributes seen;
    try {
      seen = Files.readAttributes(file, BasicFileAttributes.class);
    } catch (NoSuchFileException e) {
      parsed.remove(file);
      return Optional.empty();
    }
    Parsed p = parsed.get(file);
    if (p != null && p.describes(seen)) {
      return Optional.of(p.record());
    }
    // Read after the stat: if the file changes in between, what is kept is newer than what the
    // attributes describe, and the next read parses it again.
    Optional<SimDomainRecord> r = StateFiles.readJson(file, SimDomainRecord.class);
    if (r.isPresent()) {
      parsed.put(file, new Parsed(seen.fileKey(), seen.lastModifiedTime(), seen.size(), r.get()));
    } else {
      parsed.remove(file);
    }
    return r;
  }

  /** {@code file} was written or removed by this process: its next read parses it. */
  void forget(Path file) {
    parsed.remove(file);
  }

  /** Drops what was kept of files under {@code dir} other than {@code present}. */
  void retainUnder(Path dir, Collection<Path> present) {
    parsed.keySet().removeIf(f -> f.startsWith(dir) && !present.contains(f));
  }
}
