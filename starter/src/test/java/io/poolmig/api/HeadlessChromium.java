package io.poolmig.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * Debian's Chromium, headless, driven over the DevTools protocol (a WebSocket, JSON commands):
 * navigate, evaluate script, type, wait for a condition, take a screenshot. Script errors on the
 * page are collected so a test can demand there were none.
 *
 * <p>Started with the flags that keep it off the network (no background connections, updates or
 * sync) and with a fresh profile that is deleted on {@link #close()}. The executable is {@code
 * $POOLMIG_CHROMIUM}, else {@code /usr/bin/chromium}; {@code ./test} installs Debian's package.
 */
final class HeadlessChromium implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration START = Duration.ofSeconds(60);
  private static final Duration COMMAND = Duration.ofSeconds(30);

  private final Process process;
  private final Path profile;
  private final WebSocket socket;
  private final AtomicInteger ids = new AtomicInteger();
  private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
  private final List<String> pageErrors = new ArrayList<>();

  private HeadlessChromium(Process process, Path profile, WebSocket socket) {
    this.process = process;
    this.profile = profile;
    this.socket = socket;
  }

  static Path executable() {
    String configured = System.getenv("POOLMIG_CHROMIUM");
    Path exe = Path.of(configured == null || configured.isBlank() ? "/usr/bin/chromium"
        : configured);
    if (!Files.isExecutable(exe)) {
      throw new IllegalStateException(exe + " is not there: the page test needs Chromium "
          + "(./test installs Debian's chromium; or set POOLMIG_CHROMIUM)");
    }
    return exe;
  }

  static HeadlessChromium start(int width, int height) throws Exception {
    Path profile = Files.createTempDirectory("poolmig-chromium");
    List<String> command = new ArrayList<>(List.of(executable().toString(), "--headless",
        "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-extensions",
        "--hide-scrollbars", "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0", "--user-data-dir=" + profile,
        "--window-size=" + width + "," + height));
    if ("root".equals(System.getProperty("user.name"))) {
      command.add("--no-sandbox"); // Chromium refuses to run its sandbox as root
    }
    command.add("about:blank");
    Process process = new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(profile.resolve("chromium.log").toFile())
        .start();
    try {
      Path portFile = profile.resolve("DevToolsActivePort");
      Instant deadline = Instant.now().plus(START);
      while (!Files.exists(portFile) || Files.readAllLines(portFile).size() < 2) {
        if (!process.isAlive() || Instant.now().isAfter(deadline)) {
          throw new IllegalStateException("Chromium did not open its DevTools port: "
              + Files.readString(profile.resolve("chromium.log")));
        }
        Thread.sleep(50);
      }
      int port = Integer.parseInt(Files.readAllLines(portFile).get(0).trim());
      HttpClient http = HttpClient.newHttpClient();
      JsonNode targets = JSON.readTree(http.send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + port + "/json/list")).build(),
          HttpResponse.BodyHandlers.ofString()).body());
      String pageSocket = null;
      for (JsonNode t : targets) {
        if ("page".equals(t.get("type").asText())) {
          pageSocket = t.get("webSocketDebuggerUrl").asText();
        }
      }
      if (pageSocket == null) {
        throw new IllegalStateException("Chromium has no page to drive: " + targets);
      }
      Listener listener = new Listener();
      WebSocket socket = http.newWebSocketBuilder().buildAsync(URI.create(pageSocket), listener)
          .get(COMMAND.toSeconds(), TimeUnit.SECONDS);
      HeadlessChromium browser = new HeadlessChromium(process, profile, socket);
      listener.browser = browser;
      browser.send("Runtime.enable", JSON.createObjectNode());
      browser.send("Page.enable", JSON.createObjectNode());
      return browser;
    } catch (Exception e) {
      process.destroyForcibly();
      deleteTree(profile);
      throw e;
    }
  }

  /** Receives the protocol's messages: answers complete their command, errors are kept. */
  private static final class Listener implements WebSocket.Listener {
    volatile HeadlessChromium browser;
    private final StringBuilder partial = new StringBuilder();

    @Override
    public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
      partial.append(data);
      if (last) {
        String message = partial.toString();
        partial.setLength(0);
        try {
          browser.received(JSON.readTree(message));
        } catch (IOException e) {
          throw new IllegalStateException("DevTools sent what is not JSON: " + message, e);
        }
      }
      ws.request(1);
      return null;
    }
  }

  private void received(JsonNode message) {
    if (message.has("id")) {
      CompletableFuture<JsonNode> answer = pending.remove(message.get("id").asInt());
      if (answer != null) {
        answer.complete(message);
      }
    } else if ("Runtime.exceptionThrown".equals(message.path("method").asText())) {
      synchronized (pageErrors) {
        pageErrors.add(message.at("/params/exceptionDetails").toString());
      }
    }
  }

  /** Sends a command and waits for its result. */
  JsonNode send(String method, ObjectNode params) throws Exception {
    int id = ids.incrementAndGet();
    CompletableFuture<JsonNode> answer = new CompletableFuture<>();
    pending.put(id, answer);
    ObjectNode command = JSON.createObjectNode().put("id", id).put("method", method);
    command.set("params", params);
    socket.sendText(JSON.writeValueAsString(command), true).get(COMMAND.toSeconds(),
        TimeUnit.SECONDS);
    JsonNode reply = answer.get(COMMAND.toSeconds(), TimeUnit.SECONDS);
    if (reply.has("error")) {
      throw new IllegalStateException(method + " failed: " + reply.get("error"));
    }
    return reply.get("result");
  }

  void navigate(String url) throws Exception {
    send("Page.navigate", JSON.createObjectNode().put("url", url));
  }

  /** The value of a script expression (a promise is awaited). */
  JsonNode evaluate(String expression) throws Exception {
    JsonNode result = send("Runtime.evaluate", JSON.createObjectNode()
        .put("expression", expression).put("returnByValue", true).put("awaitPromise", true));
    if (result.has("exceptionDetails")) {
      throw new IllegalStateException(expression + " threw: " + result.get("exceptionDetails"));
    }
    return result.at("/result/value");
  }

  /** Waits until {@code condition} is true on the page; fails with {@code what} if it never is. */
  void waitFor(String what, String condition, Duration timeout) throws Exception {
    Instant deadline = Instant.now().plus(timeout);
    while (true) {
      JsonNode value;
      try {
        value = evaluate("Boolean(" + condition + ")");
      } catch (IllegalStateException e) {
        value = null; // the page may still be loading
      }
      if (value != null && value.asBoolean()) {
        return;
      }
      if (Instant.now().isAfter(deadline)) {
        throw new AssertionError("the page never showed " + what + " (" + condition + "); it "
            + "says: " + evaluate("document.body ? document.body.innerText.slice(0, 2000) : ''")
            + "; script errors: " + pageErrors());
      }
      Thread.sleep(50);
    }
  }

  /** Focuses the element and types {@code text} as a user would, replacing what it held. */
  void type(String selector, String text) throws Exception {
    evaluate("(() => { const e = document.querySelector(" + JSON.writeValueAsString(selector)
        + "); e.focus(); e.select(); })()");
    send("Input.insertText", JSON.createObjectNode().put("text", text));
  }

  /** Clicks the element's centre with the mouse. */
  void click(String selector) throws Exception {
    JsonNode box = evaluate("(() => { const r = document.querySelector("
        + JSON.writeValueAsString(selector) + ").getBoundingClientRect();"
        + " return [r.x + r.width / 2, r.y + r.height / 2]; })()");
    for (String type : List.of("mousePressed", "mouseReleased")) {
      send("Input.dispatchMouseEvent", JSON.createObjectNode().put("type", type)
          .put("x", box.get(0).asDouble()).put("y", box.get(1).asDouble())
          .put("button", "left").put("clickCount", 1));
    }
  }

  /** A PNG of the whole page. */
  void screenshot(Path file) throws Exception {
    JsonNode shot = send("Page.captureScreenshot", JSON.createObjectNode()
        .put("format", "png").put("captureBeyondViewport", true));
    Files.createDirectories(file.getParent());
    Files.write(file, Base64.getDecoder().decode(shot.get("data").asText()));
  }

  List<String> pageErrors() {
    synchronized (pageErrors) {
      return List.copyOf(pageErrors);
    }
  }

  @Override
  public void close() throws Exception {
    try {
      socket.abort();
    } finally {
      process.destroy();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      try {
        deleteTree(profile);
      } catch (IOException e) {
        // a temporary profile left behind harms nothing
      }
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (java.nio.file.NoSuchFileException e) {
      // gone already
    }
  }
}
