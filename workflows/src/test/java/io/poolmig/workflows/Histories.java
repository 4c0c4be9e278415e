package io.poolmig.workflows;

import io.temporal.common.WorkflowExecutionHistory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** The recorded workflow histories the replay tests read, in {@code src/test/resources}. */
final class Histories {

  private static final Path FIXTURE_DIR = Path.of("src", "test", "resources", "histories");

  private Histories() {}

  /** Records {@code history} as the fixture {@code name} (run from the module's directory). */
  static void write(String name, WorkflowExecutionHistory history) throws IOException {
    Files.createDirectories(FIXTURE_DIR);
    Files.writeString(FIXTURE_DIR.resolve(name), history.toJson(true) + "\n",
        StandardCharsets.UTF_8);
  }

  static WorkflowExecutionHistory read(String fixture) throws IOException {
    try (InputStream in = Histories.class.getClassLoader()
        .getResourceAsStream("histories/" + fixture)) {
      if (in == null) {
        throw new IllegalStateException("missing fixture histories/" + fixture
            + ": regenerate with -Dpoolmig.regenerateHistories=true");
      }
      return WorkflowExecutionHistory.fromJson(
          new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
  }
}
