package io.poolmig.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The audit page in headless Chromium against the API on the real PostgreSQL: it lists the
 * migrations, its filters narrow the table as they are typed, a row opens its timeline, the jobs
 * tab sums a job up, the activity tab draws its charts, a wrong token asks for the right one.
 * Screenshots go to {@code target/audit-page/}.
 */
class AuditPageBrowserTest {

  private static final String TOKEN = "page-token-0123456789abcdef";
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final Path SHOTS = Path.of("target", "audit-page");
  static AuditTrailFixture trail;
  static AuditApi api;
  static HeadlessChromium browser;

  @BeforeAll
  static void open() throws Exception {
    trail = new AuditTrailFixture();
    api = AuditApi.start(new InetSocketAddress("127.0.0.1", 0), trail.db.db, ApiToken.of(TOKEN));
    browser = HeadlessChromium.start(1400, 900);
  }

  @AfterAll
  static void close() throws Exception {
    try {
      if (browser != null) {
        browser.close();
      }
    } finally {
      if (api != null) {
        api.close();
      }
      if (trail != null) {
        trail.close();
      }
    }
  }

  private static final String ROWS = "document.querySelectorAll('#migration-table tbody tr')";

  /** Loads the page afresh (a new document, not a jump within the last one) with a token. */
  private static void openPage(String token) throws Exception {
    browser.navigate("about:blank");
    browser.waitFor("a blank page", "location.href === 'about:blank'", WAIT);
    browser.navigate(api.pageUrl() + "#token=" + token);
    browser.waitFor("the page", "document.readyState === 'complete' && "
        + "document.title === 'poolmig audit'", WAIT);
  }

  @Test
  void theTableFiltersATimelineOpensJobsSumUpChartsDraw() throws Exception {
    openPage(TOKEN);
    browser.waitFor("four migrations", ROWS + ".length === 4", WAIT);
    assertEquals("cache-1", browser.evaluate(ROWS + "[0].cells[1].textContent").asText(),
        "newest first");
    assertEquals("", browser.evaluate("location.hash").asText(),
        "the token leaves the address bar");

    browser.type("#migration-filters input[name=host]", "host-b");
    browser.waitFor("the two migrations of host-b", ROWS + ".length === 2", WAIT);
    assertEquals("db-1 web-1", browser.evaluate("Array.from(" + ROWS
        + ").map(r => r.cells[1].textContent).join(' ')").asText());

    browser.type("#migration-filters input[name=host]", "");
    browser.evaluate("(() => { const s = document.querySelector("
        + "'#migration-filters select[name=status]'); s.value = 'rolled_back';"
        + " s.dispatchEvent(new Event('change', {bubbles: true})); })()");
    browser.waitFor("the rolled-back migration alone",
        ROWS + ".length === 1 && " + ROWS + "[0].cells[1].textContent === 'web-2'", WAIT);

    browser.evaluate("(() => { const s = document.querySelector("
        + "'#migration-filters select[name=status]'); s.value = '';"
        + " s.dispatchEvent(new Event('change', {bubbles: true})); })()");
    browser.type("#migration-filters input[name=vm]", "web-1");
    browser.waitFor("web-1 alone", ROWS + ".length === 1 && " + ROWS
        + "[0].cells[1].textContent === 'web-1'", WAIT);
    browser.click("#migration-table tbody tr");
    browser.waitFor("web-1's timeline",
        "document.querySelectorAll('#timeline tbody tr').length === 4", WAIT);
    assertEquals("2000 ms", browser.evaluate("document.querySelectorAll('#timeline tbody tr')[3]"
        + ".cells[4].textContent").asText(), "how long the stream step took");
    browser.screenshot(SHOTS.resolve("migrations.png"));

    browser.click("nav button[data-tab=jobs]");
    browser.waitFor("three jobs",
        "document.querySelectorAll('#job-table tbody tr').length === 3", WAIT);
    browser.evaluate("(() => { const s = document.querySelector("
        + "'#job-filters select[name=kind]'); s.value = 'evacuate';"
        + " s.dispatchEvent(new Event('change', {bubbles: true})); })()");
    browser.waitFor("the evacuation alone",
        "document.querySelectorAll('#job-table tbody tr').length === 1", WAIT);
    browser.click("#job-table tbody tr");
    browser.waitFor("the evacuation's summary",
        "!document.querySelector('#job-detail').hidden", WAIT);
    String summary = browser.evaluate("document.querySelector('#job-detail').innerText")
        .asText();
    assertTrue(summary.contains("70.0 s"), "makespan: " + summary);
    assertTrue(summary.contains("target host-c refused the checkpoint"), summary);
    assertTrue(summary.contains("pause by alice@ops-1 (db role postgres) (too slow)"), summary);
    browser.screenshot(SHOTS.resolve("jobs.png"));

    browser.click("nav button[data-tab=activity]");
    browser.waitFor("bars per host",
        "document.querySelectorAll('#chart-hosts rect').length === 6", WAIT);
    browser.waitFor("bars per hour",
        "document.querySelectorAll('#chart-count rect').length > 0", WAIT);
    browser.screenshot(SHOTS.resolve("activity.png"));

    assertEquals(java.util.List.of(), browser.pageErrors(), "script errors on the page");
    assertTrue(Files.size(SHOTS.resolve("migrations.png")) > 10_000);
  }

  @Test
  void aWrongTokenAsksForTheRightOne() throws Exception {
    openPage("not-the-token-at-all");
    browser.waitFor("the token form", "!document.querySelector('#login').hidden", WAIT);
    assertTrue(browser.evaluate("document.querySelector('#status').textContent").asText()
        .contains("bearer token"));
    browser.type("#token", TOKEN);
    browser.click("#login button");
    browser.waitFor("the migrations", ROWS + ".length === 4", WAIT);
  }
}
