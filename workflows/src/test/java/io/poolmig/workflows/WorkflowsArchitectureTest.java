package io.poolmig.workflows;

import static com.tngtech.archunit.base.DescribedPredicate.describe;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.belongToAnyOf;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;
import java.io.File;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The workflows module stays deterministic by construction: no JDBC, native, socket or file code,
 * no threads, and workflow implementations read neither the wall clock nor a random source.
 * Only the module's main classes are checked.
 */
class WorkflowsArchitectureTest {

  private static final String PACKAGE = "io.poolmig.workflows";

  /** Classes implementing a {@code @WorkflowInterface}, and classes nested in them (lambdas
   * compile into the class itself; anonymous and inner classes are nested). */
  static final DescribedPredicate<JavaClass> WORKFLOW_IMPLEMENTATIONS =
      describe("implement a @WorkflowInterface (or are nested in such a class)", javaClass -> {
        for (JavaClass c = javaClass; c != null; c = c.getEnclosingClass().orElse(null)) {
          if (c.getAllRawInterfaces().stream()
              .anyMatch(i -> i.isAnnotatedWith(WorkflowInterface.class))) {
            return true;
          }
        }
        return false;
      });

  static final ArchRule NO_NONDETERMINISTIC_DEPENDENCIES = noClasses()
      .that().resideInAPackage(PACKAGE + "..")
      .should().dependOnClassesThat(resideInAnyPackage(
              "java.sql..", "javax.sql..", "jnr..", "java.net..", "java.nio.channels..",
              "com.zaxxer..", "org.postgresql..")
          .or(belongToAnyOf(File.class, FileInputStream.class, FileOutputStream.class,
              Thread.class)))
      .because("workflow code must be deterministic: I/O, JDBC, native calls and threads belong"
          + " in activities (module activities), the workflows module depends on temporal-sdk"
          + " only");

  static final ArchRule NO_CLOCK_OR_RANDOMNESS_IN_WORKFLOWS = noClasses()
      .that(WORKFLOW_IMPLEMENTATIONS)
      .should().callMethod(System.class, "currentTimeMillis")
      .orShould().callMethod(System.class, "nanoTime")
      .orShould().callMethod(Instant.class, "now")
      .orShould().callConstructor(Random.class)
      .orShould().callConstructor(Random.class, long.class)
      .orShould().callMethod(Math.class, "random")
      .orShould().callMethod(UUID.class, "randomUUID")
      .orShould().callMethod(Thread.class, "sleep", long.class)
      .orShould().callMethod(Thread.class, "sleep", long.class, int.class)
      .because("a workflow replays: use Workflow.currentTimeMillis(), Workflow.newRandom(),"
          + " Workflow.randomUUID() and Workflow.sleep() instead");

  private static JavaClasses mainClasses;

  @BeforeAll
  static void importMainClasses() {
    mainClasses = new ClassFileImporter()
        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages(PACKAGE);
  }

  @Test
  void importsTheMainClassesOnly() {
    Set<String> names = new TreeSet<>();
    mainClasses.forEach(c -> names.add(c.getSimpleName()));
    assertTrue(names.containsAll(List.of("MigrateVmWorkflowImpl", "PoolInventoryWorkflowImpl",
        "ActivityStubs", "Failures")), names::toString);
    assertTrue(names.stream().noneMatch(n -> n.endsWith("Test") || n.startsWith("Fake")),
        names::toString);
  }

  @Test
  void workflowsModuleHasNoNondeterministicDependencies() {
    NO_NONDETERMINISTIC_DEPENDENCIES.check(mainClasses);
  }

  @Test
  void workflowImplementationsUseNeitherTheClockNorRandomness() {
    NO_CLOCK_OR_RANDOMNESS_IN_WORKFLOWS.check(mainClasses);

    // ... and the rule did look at the workflow implementations.
    Set<String> implementations = new TreeSet<>();
    mainClasses.that(WORKFLOW_IMPLEMENTATIONS).forEach(c -> implementations.add(c.getSimpleName()));
    assertTrue(implementations.containsAll(
        List.of("MigrateVmWorkflowImpl", "PoolInventoryWorkflowImpl")), implementations::toString);
  }

  /** The rules do catch violations: checked against deliberately bad classes. */
  @Test
  void rulesReportViolations() {
    JavaClasses bad = new ClassFileImporter().importClasses(
        ClockReadingWorkflowImpl.class, FileTouchingHelper.class);

    EvaluationResult dependencies = NO_NONDETERMINISTIC_DEPENDENCIES.evaluate(bad);
    assertTrue(dependencies.hasViolation());
    String report = String.join("\n", dependencies.getFailureReport().getDetails());
    assertTrue(report.contains("java.io.File"), report);
    assertTrue(report.contains("java.net.Socket"), report);

    EvaluationResult calls = NO_CLOCK_OR_RANDOMNESS_IN_WORKFLOWS.evaluate(bad);
    String callReport = String.join("\n", calls.getFailureReport().getDetails());
    assertTrue(callReport.contains("System.currentTimeMillis()"), callReport);
    assertTrue(callReport.contains("UUID.randomUUID()"), callReport);
    assertTrue(callReport.contains("Random.<init>()"), callReport);
    assertTrue(callReport.contains("Thread.sleep(long)"), callReport);
    assertTrue(!callReport.contains("FileTouchingHelper"), "not a workflow: " + callReport);
  }

  // ---- deliberately bad classes, only for rulesReportViolations --------------------------------

  @WorkflowInterface
  interface ClockReadingWorkflow {
    @WorkflowMethod
    String run();
  }

  static final class ClockReadingWorkflowImpl implements ClockReadingWorkflow {
    @Override
    public String run() {
      try {
        Thread.sleep(1);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return System.currentTimeMillis() + " " + UUID.randomUUID() + " " + new Random().nextInt();
    }
  }

  static final class FileTouchingHelper {
    static boolean probe() throws java.io.IOException {
      try (java.net.Socket socket = new java.net.Socket()) {
        return new File("/tmp").exists() && !socket.isConnected();
      }
    }
  }
}
