package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Checks that the repository's {@code docker-compose.yml} is accepted by docker-compose and has the
 * production shape: PostgreSQL, Temporal, the Temporal UI, one control worker and at least three
 * host workers that reach each other by service name.
 *
 * <p>The compose file is resolved with {@code docker-compose config} when that binary is on the
 * PATH, so anchors, merge keys and variables are expanded exactly as docker-compose does it;
 * otherwise the raw file is read, with anchors and merge keys expanded here.
 */
class DockerComposeFileTest {

  private static final String COMPOSE_FILE = "docker-compose.yml";
  private static final String DOCKER_COMPOSE = "docker-compose";
  private static final String INSTALL_HINT = "apt-get install docker-compose";
  private static final long TIMEOUT_SECONDS = 120;

  private static final Set<String> REQUIRED_SERVICES =
      new LinkedHashSet<>(List.of("postgres", "temporal", "temporal-ui", "control"));
  private static final String TEMPORAL_SERVICE = "temporal";
  private static final String POSTGRES_SERVICE = "postgres";
  private static final int MIN_HOST_WORKERS = 3;

  /** [jdbc:]postgresql://[USER[:PASSWORD]@]HOST[:PORT][,...]/DATABASE[?params] */
  private static final Pattern POSTGRES_URL =
      Pattern.compile(
          "(?:jdbc:)?postgres(?:ql)?://(?:[^@/]*@)?"
              + "([^:/,?]+)(?::(\\d+))?(?:,[^/]*)?/([^?]*)(?:\\?.*)?");

  private static Path composeFile;
  private static Optional<Path> dockerCompose;

  /** The compose model, resolved by docker-compose when possible. */
  private static JsonNode model;

  /** Where {@link #model} came from, for failure messages. */
  private static String modelSource;

  @BeforeAll
  static void load() throws Exception {
    composeFile = findComposeFile();
    dockerCompose = findOnPath(DOCKER_COMPOSE);
    if (dockerCompose.isPresent()) {
      Result resolved = run(dockerCompose.get().toString(), "-f", composeFile.toString(), "config");
      if (resolved.exitCode() != 0) {
        fail(
            String.format(
                "%s exited %d, so the compose file cannot be resolved:%n%s",
                commandLine("config"), resolved.exitCode(), resolved.stderr()));
      }
      model = readYaml(resolved.stdout());
      modelSource = "`" + DOCKER_COMPOSE + " config` of " + composeFile;
    } else {
      model = readYaml(Files.readString(composeFile, StandardCharsets.UTF_8));
      modelSource = composeFile + " (raw; " + DOCKER_COMPOSE + " is not installed)";
    }
    if (!model.path("services").isObject()) {
      fail(modelSource + " has no `services` mapping");
    }
  }

  // ---------------------------------------------------------------------------------------
  // (a) docker-compose accepts the file
  // ---------------------------------------------------------------------------------------

  @Test
  void dockerComposeAcceptsTheFile() throws Exception {
    if (dockerCompose.isEmpty()) {
      String message =
          String.format(
              "`%s` was not found on PATH (%s); install it with `%s`",
              DOCKER_COMPOSE, System.getenv("PATH"), INSTALL_HINT);
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        fail(message + ". CI must provide it, so this is a failure there.");
      }
      Assumptions.abort(message + " to run this check.");
    }
    Result result =
        run(dockerCompose.get().toString(), "-f", composeFile.toString(), "config", "-q");
    assertEquals(
        0,
        result.exitCode(),
        () ->
            commandLine("config", "-q")
                + " rejected the file:\n"
                + result.stderr()
                + result.stdout());
  }

  // ---------------------------------------------------------------------------------------
  // (b) production shape
  // ---------------------------------------------------------------------------------------

  @Test
  void definesTheInfrastructureAndControlServices() {
    Set<String> present = serviceNames();
    Set<String> missing = new LinkedHashSet<>(REQUIRED_SERVICES);
    missing.removeAll(present);
    assertTrue(
        missing.isEmpty(),
        () -> modelSource + " lacks the service(s) " + missing + "; it defines " + present);

    List<String> control = command(service("control"));
    assertTrue(
        !control.isEmpty() && control.get(0).equals("worker") && control.contains("--control"),
        () -> "service `control` must run `worker --control`, but its command is " + control);
  }

  @Test
  void hasAtLeastThreeDistinctHostWorkersThatAdvertiseTheirOwnServiceName() {
    Map<String, List<String>> hosts = hostWorkers();
    assertTrue(
        hosts.size() >= MIN_HOST_WORKERS,
        () ->
            String.format(
                "expected at least %d host workers (services running `worker --host NAME ...`),"
                    + " found %d: %s",
                MIN_HOST_WORKERS, hosts.size(), hosts.keySet()));

    List<String> problems = new ArrayList<>();
    Map<String, String> serviceByHostName = new HashMap<>();
    for (Map.Entry<String, List<String>> entry : hosts.entrySet()) {
      String service = entry.getKey();
      List<String> command = entry.getValue();

      String hostName = option(command, "--host").orElse("");
      if (hostName.isEmpty()) {
        problems.add(service + ": `--host` has no value in " + command);
      } else {
        String previous = serviceByHostName.putIfAbsent(hostName, service);
        if (previous != null) {
          problems.add(service + ": `--host " + hostName + "` is also used by service " + previous);
        }
      }

      Optional<String> advertise = option(command, "--advertise");
      if (advertise.isEmpty()) {
        problems.add(
            service
                + ": no `--advertise ADDR:PORT`, so its peers cannot reach it; command "
                + command);
      } else {
        String advertisedHost = hostPart(advertise.get());
        if (!advertisedHost.equals(service)) {
          problems.add(
              String.format(
                  "%s: `--advertise %s` names `%s`, but peers reach this worker under its"
                      + " service name `%s`",
                  service, advertise.get(), advertisedHost, service));
        }
      }
    }
    assertTrue(
        problems.isEmpty(),
        () -> "host workers in " + modelSource + ":\n  " + String.join("\n  ", problems));
  }

  @Test
  void eachHostWorkerKeepsItsStateInItsOwnNamedVolume() {
    Set<String> declaredVolumes = fieldNames(model.path("volumes"));
    List<String> problems = new ArrayList<>();
    Map<String, String> serviceByVolume = new HashMap<>();
    for (Map.Entry<String, List<String>> entry : hostWorkers().entrySet()) {
      String service = entry.getKey();
      Optional<String> stateDir = option(entry.getValue(), "--state-dir");
      if (stateDir.isEmpty()) {
        problems.add(service + ": no `--state-dir` in " + entry.getValue());
        continue;
      }
      Optional<String> volume = namedVolumeAt(service(service), stateDir.get());
      if (volume.isEmpty()) {
        problems.add(
            String.format(
                "%s: no named volume is mounted at its state dir %s, so its simulated domains"
                    + " would not survive a restart",
                service, stateDir.get()));
        continue;
      }
      if (!declaredVolumes.contains(volume.get())) {
        problems.add(
            service + ": volume `" + volume.get() + "` is not declared under top-level `volumes`");
      }
      String previous = serviceByVolume.putIfAbsent(volume.get(), service);
      if (previous != null) {
        problems.add(service + ": shares state volume `" + volume.get() + "` with " + previous);
      }
    }
    assertTrue(
        problems.isEmpty(),
        () -> "host worker state in " + modelSource + ":\n  " + String.join("\n  ", problems));
  }

  @Test
  void poolmigServicesAreBuiltFromThisRepositoryAndShareTemporalAndDatabase() {
    Map<String, JsonNode> poolmig = poolmigServices();
    assertTrue(
        poolmig.containsKey("control"),
        () ->
            "service `control` does not run `worker`; poolmig services found: " + poolmig.keySet());

    Path repoRoot = composeFile.getParent();
    List<String> problems = new ArrayList<>();
    Map<String, Set<String>> servicesByTemporalAddress = new LinkedHashMap<>();
    Map<String, Set<String>> servicesByDbUrl = new LinkedHashMap<>();

    for (Map.Entry<String, JsonNode> entry : poolmig.entrySet()) {
      String service = entry.getKey();
      JsonNode definition = entry.getValue();

      Optional<String> context = buildContext(definition);
      if (context.isEmpty()) {
        problems.add(service + ": has no `build`; it must be built from this repository");
      } else if (!repoRoot.resolve(context.get()).toAbsolutePath().normalize().equals(repoRoot)) {
        problems.add(
            service + ": builds from `" + context.get() + "`, not from the repository root");
      }

      Map<String, String> env = environment(definition);

      String temporal = env.get("POOLMIG_TEMPORAL_ADDRESS");
      if (temporal == null || temporal.isBlank()) {
        problems.add(service + ": POOLMIG_TEMPORAL_ADDRESS is not set");
      } else {
        servicesByTemporalAddress.computeIfAbsent(temporal, k -> new TreeSet<>()).add(service);
        if (!hostPart(temporal).equals(TEMPORAL_SERVICE)) {
          problems.add(
              String.format(
                  "%s: POOLMIG_TEMPORAL_ADDRESS=%s does not point at the `%s` service",
                  service, temporal, TEMPORAL_SERVICE));
        }
      }

      String dbUrl = env.get("POOLMIG_DB_URL");
      if (dbUrl == null || dbUrl.isBlank()) {
        problems.add(service + ": POOLMIG_DB_URL is not set");
      } else {
        servicesByDbUrl.computeIfAbsent(dbUrl, k -> new TreeSet<>()).add(service);
        Matcher m = POSTGRES_URL.matcher(dbUrl);
        if (!m.matches()) {
          problems.add(service + ": POOLMIG_DB_URL=" + dbUrl + " is not a jdbc:postgresql:// URL");
        } else if (!m.group(1).equals(POSTGRES_SERVICE)) {
          problems.add(
              String.format(
                  "%s: POOLMIG_DB_URL=%s does not point at the `%s` service",
                  service, dbUrl, POSTGRES_SERVICE));
        } else if (m.group(3).isEmpty()) {
          problems.add(service + ": POOLMIG_DB_URL=" + dbUrl + " names no database");
        }
      }
    }
    if (servicesByTemporalAddress.size() > 1) {
      problems.add(
          "the poolmig services disagree on POOLMIG_TEMPORAL_ADDRESS: "
              + servicesByTemporalAddress);
    }
    if (servicesByDbUrl.size() > 1) {
      problems.add(
          "the poolmig services disagree on POOLMIG_DB_URL (one audit store): " + servicesByDbUrl);
    }
    assertTrue(
        problems.isEmpty(),
        () ->
            String.format(
                "poolmig services %s in %s:%n  %s",
                poolmig.keySet(), modelSource, String.join("\n  ", problems)));
  }

  @Test
  void temporalDependsOnPostgres() {
    JsonNode dependsOn = service(TEMPORAL_SERVICE).path("depends_on");
    Set<String> dependencies = dependsOn.isArray() ? textValues(dependsOn) : fieldNames(dependsOn);
    assertTrue(
        dependencies.contains(POSTGRES_SERVICE),
        () ->
            String.format(
                "service `%s` must depend on `%s`, but its depends_on is %s",
                TEMPORAL_SERVICE, POSTGRES_SERVICE, dependencies));
  }

  // ---------------------------------------------------------------------------------------
  // Reading the compose model
  // ---------------------------------------------------------------------------------------

  private static Set<String> serviceNames() {
    return fieldNames(model.path("services"));
  }

  private static JsonNode service(String name) {
    JsonNode service = model.path("services").path(name);
    if (!service.isObject()) {
      fail(
          String.format(
              "service `%s` is not defined in %s; services: %s",
              name, modelSource, serviceNames()));
    }
    return service;
  }

  /** Services that run the poolmig CLI's {@code worker} subcommand, by name. */
  private static Map<String, JsonNode> poolmigServices() {
    Map<String, JsonNode> result = new LinkedHashMap<>();
    for (String name : serviceNames()) {
      List<String> command = command(model.path("services").path(name));
      if (!command.isEmpty() && command.get(0).equals("worker")) {
        result.put(name, model.path("services").path(name));
      }
    }
    return result;
  }

  /** Services that run {@code worker --host NAME ...}, with their commands. */
  private static Map<String, List<String>> hostWorkers() {
    Map<String, List<String>> result = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> entry : poolmigServices().entrySet()) {
      List<String> command = command(entry.getValue());
      if (command.stream().anyMatch(a -> a.equals("--host") || a.startsWith("--host="))) {
        result.put(entry.getKey(), command);
      }
    }
    return result;
  }

  /** A service's command as a list of words; a string command is split on whitespace. */
  private static List<String> command(JsonNode service) {
    JsonNode command = service.path("command");
    if (command.isArray()) {
      return new ArrayList<>(textList(command));
    }
    if (command.isTextual() && !command.asText().isBlank()) {
      return Arrays.asList(command.asText().trim().split("\\s+"));
    }
    return List.of();
  }

  /** The value of {@code --name VALUE} or {@code --name=VALUE}. */
  private static Optional<String> option(List<String> command, String name) {
    for (int i = 0; i < command.size(); i++) {
      String word = command.get(i);
      if (word.equals(name)) {
        return i + 1 < command.size() ? Optional.of(command.get(i + 1)) : Optional.of("");
      }
      if (word.startsWith(name + "=")) {
        return Optional.of(word.substring(name.length() + 1));
      }
    }
    return Optional.empty();
  }

  /** The environment of a service, from either the mapping or the {@code KEY=VALUE} list form. */
  private static Map<String, String> environment(JsonNode service) {
    JsonNode env = service.path("environment");
    Map<String, String> result = new LinkedHashMap<>();
    if (env.isObject()) {
      env.properties()
          .forEach(
              e -> result.put(e.getKey(), e.getValue().isNull() ? null : e.getValue().asText()));
    } else if (env.isArray()) {
      for (String item : textList(env)) {
        int eq = item.indexOf('=');
        if (eq < 0) {
          result.put(item, null);
        } else {
          result.put(item.substring(0, eq), item.substring(eq + 1));
        }
      }
    }
    return result;
  }

  private static Optional<String> buildContext(JsonNode service) {
    JsonNode build = service.path("build");
    if (build.isTextual()) {
      return Optional.of(build.asText());
    }
    if (build.isObject()) {
      return Optional.of(build.path("context").asText("."));
    }
    return Optional.empty();
  }

  /** The named volume (not a bind mount) mounted at {@code target} in a service, if any. */
  private static Optional<String> namedVolumeAt(JsonNode service, String target) {
    for (JsonNode mount : service.path("volumes")) {
      String source;
      String mountTarget;
      if (mount.isTextual()) {
        String[] parts = mount.asText().split(":");
        if (parts.length < 2) {
          continue; // anonymous volume
        }
        source = parts[0];
        mountTarget = parts[1];
      } else {
        if (!mount.path("type").asText("volume").equals("volume")) {
          continue;
        }
        source = mount.path("source").asText("");
        mountTarget = mount.path("target").asText("");
      }
      boolean bind = source.startsWith("/") || source.startsWith(".") || source.startsWith("~");
      if (!bind && !source.isEmpty() && trimSlash(mountTarget).equals(trimSlash(target))) {
        return Optional.of(source);
      }
    }
    return Optional.empty();
  }

  private static String trimSlash(String path) {
    return path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
  }

  /** The host of {@code HOST:PORT} (or of a bare {@code HOST}). */
  private static String hostPart(String address) {
    int colon = address.lastIndexOf(':');
    return colon < 0 ? address : address.substring(0, colon);
  }

  private static Set<String> fieldNames(JsonNode node) {
    Set<String> names = new LinkedHashSet<>();
    if (node.isObject()) {
      node.properties().forEach(e -> names.add(e.getKey()));
    }
    return names;
  }

  private static Set<String> textValues(JsonNode array) {
    return new LinkedHashSet<>(textList(array));
  }

  private static List<String> textList(JsonNode array) {
    List<String> values = new ArrayList<>();
    array.forEach(v -> values.add(v.asText()));
    return values;
  }

  // ---------------------------------------------------------------------------------------
  // YAML: Jackson's YAML parser, with anchors, aliases and merge keys ("<<") expanded
  // ---------------------------------------------------------------------------------------

  /**
   * Reads YAML into a tree. Jackson's YAML tree reader keeps an alias as the anchor's name and a
   * merge key as an ordinary field, so the tree is built here from the parser's tokens: an alias is
   * replaced by a copy of the node anchored under its name, and {@code <<} merges the fields of the
   * aliased mapping(s) that the mapping does not set itself.
   */
  static JsonNode readYaml(String yaml) throws IOException {
    YAMLMapper mapper = new YAMLMapper();
    try (YAMLParser parser = mapper.getFactory().createParser(yaml)) {
      if (parser.nextToken() == null) {
        return mapper.getNodeFactory().missingNode();
      }
      return readNode(parser, mapper.getNodeFactory(), new HashMap<>());
    }
  }

  private static JsonNode readNode(
      YAMLParser parser, JsonNodeFactory nodes, Map<String, JsonNode> anchors) throws IOException {
    if (parser.isCurrentAlias()) {
      String name = parser.getText();
      JsonNode anchored = anchors.get(name);
      if (anchored == null) {
        throw new IOException(
            String.format(
                "YAML alias *%s at %s refers to no anchored mapping or sequence",
                name, parser.currentLocation()));
      }
      return anchored.deepCopy();
    }
    String anchor = parser.getObjectId(); // the anchor (&name) of a mapping or sequence
    JsonToken token = parser.currentToken();
    JsonNode node;
    switch (token) {
      case START_OBJECT:
        {
          ObjectNode object = nodes.objectNode();
          List<JsonNode> merged = new ArrayList<>();
          while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String field = parser.currentName();
            parser.nextToken();
            JsonNode value = readNode(parser, nodes, anchors);
            if (field.equals("<<")) {
              if (value.isArray()) {
                value.forEach(merged::add);
              } else {
                merged.add(value);
              }
            } else {
              object.set(field, value);
            }
          }
          for (JsonNode source : merged) {
            if (!source.isObject()) {
              throw new IOException("YAML merge key `<<` needs a mapping, got " + source);
            }
            for (Map.Entry<String, JsonNode> f : source.properties()) {
              if (!object.has(f.getKey())) {
                object.set(f.getKey(), f.getValue().deepCopy());
              }
            }
          }
          node = object;
          break;
        }
      case START_ARRAY:
        {
          ArrayNode array = nodes.arrayNode();
          while (parser.nextToken() != JsonToken.END_ARRAY) {
            array.add(readNode(parser, nodes, anchors));
          }
          node = array;
          break;
        }
      case VALUE_NULL:
        node = nodes.nullNode();
        break;
      case VALUE_TRUE:
      case VALUE_FALSE:
        node = nodes.booleanNode(token == JsonToken.VALUE_TRUE);
        break;
      default:
        // Numbers stay text: the checks compare words, and "5432:5432" must not turn numeric.
        node = nodes.textNode(parser.getText());
        break;
    }
    if (anchor != null) {
      anchors.put(anchor, node);
    }
    return node;
  }

  // ---------------------------------------------------------------------------------------
  // Locating files and running docker-compose
  // ---------------------------------------------------------------------------------------

  /** Walks up from the working directory to the first directory holding docker-compose.yml. */
  private static Path findComposeFile() {
    Path start = Path.of("").toAbsolutePath().normalize();
    for (Path dir = start; dir != null; dir = dir.getParent()) {
      Path candidate = dir.resolve(COMPOSE_FILE);
      if (Files.isRegularFile(candidate)) {
        return candidate;
      }
    }
    return fail("no " + COMPOSE_FILE + " in " + start + " or any directory above it");
  }

  private static Optional<Path> findOnPath(String program) {
    String path = System.getenv("PATH");
    if (path == null) {
      return Optional.empty();
    }
    return Arrays.stream(path.split(Pattern.quote(File.pathSeparator)))
        .filter(dir -> !dir.isEmpty())
        .map(dir -> Path.of(dir, program))
        .filter(p -> Files.isRegularFile(p) && Files.isExecutable(p))
        .findFirst();
  }

  /** How a docker-compose run on the compose file reads, for messages. */
  private static String commandLine(String... args) {
    return "`" + DOCKER_COMPOSE + " -f " + composeFile + " " + String.join(" ", args) + "`";
  }

  private record Result(int exitCode, String stdout, String stderr) {}

  private static Result run(String... command) throws IOException, InterruptedException {
    Path out = Files.createTempFile("compose-out", ".txt");
    Path err = Files.createTempFile("compose-err", ".txt");
    try {
      Process process =
          new ProcessBuilder(command)
              .directory(composeFile.getParent().toFile())
              .redirectOutput(out.toFile())
              .redirectError(err.toFile())
              .start();
      process.getOutputStream().close();
      if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        fail(String.join(" ", command) + " did not finish within " + TIMEOUT_SECONDS + "s");
      }
      return new Result(process.exitValue(), Files.readString(out), Files.readString(err));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }
}
