package io.poolmig.worker;

import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowClientOptions;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.serviceclient.WorkflowServiceStubsOptions;
import java.time.Duration;
import java.util.Map;

/**
 * How every poolmig process reaches Temporal: {@code POOLMIG_TEMPORAL_ADDRESS} (default
 * {@value #DEFAULT_ADDRESS}) and {@code POOLMIG_TEMPORAL_NAMESPACE} (default {@code default}).
 */
public final class TemporalConnection implements AutoCloseable {

  public static final String ENV_ADDRESS = "POOLMIG_TEMPORAL_ADDRESS";
  public static final String ENV_NAMESPACE = "POOLMIG_TEMPORAL_NAMESPACE";
  public static final String DEFAULT_ADDRESS = "127.0.0.1:7233";

  private final String address;
  private final WorkflowServiceStubs stubs;
  private final WorkflowClient client;
  /** A channel given to {@link #over}: the stubs do not shut down what they did not open. */
  private final io.grpc.ManagedChannel channel;

  private TemporalConnection(String address, WorkflowServiceStubs stubs, WorkflowClient client,
      io.grpc.ManagedChannel channel) {
    this.address = address;
    this.stubs = stubs;
    this.client = client;
    this.channel = channel;
  }

  public static TemporalConnection fromEnvironment(Map<String, String> env) {
    return connect(env.getOrDefault(ENV_ADDRESS, DEFAULT_ADDRESS),
        env.getOrDefault(ENV_NAMESPACE, "default"));
  }

  /**
   * Connects and checks the frontend answers within 10 s.
   *
   * @throws TemporalUnavailableException naming the address and what to do
   */
  public static TemporalConnection connect(String address, String namespace) {
    return connect(address, namespace, null);
  }

  /** {@link #connect(String, String)}, the SDK's metrics reported into {@code metrics}. */
  public static TemporalConnection connect(String address, String namespace,
      com.uber.m3.tally.Scope metrics) {
    refuseIfClosed(address);
    WorkflowServiceStubs stubs;
    try {
      WorkflowServiceStubsOptions.Builder options =
          WorkflowServiceStubsOptions.newBuilder().setTarget(address);
      if (metrics != null) {
        options.setMetricsScope(metrics);
      }
      stubs = WorkflowServiceStubs.newConnectedServiceStubs(options.build(),
          Duration.ofSeconds(10));
    } catch (RuntimeException e) {
      throw new TemporalUnavailableException("cannot reach Temporal at " + address + " ("
          + rootMessage(e) + "): start `poolmig dev` or set " + ENV_ADDRESS, e);
    }
    try {
      requireNamespace(stubs, namespace, address);
    } catch (RuntimeException e) {
      stubs.shutdownNow();
      throw e;
    }
    WorkflowClient client = WorkflowClient.newInstance(stubs,
        WorkflowClientOptions.newBuilder().setNamespace(namespace).build());
    return new TemporalConnection(address, stubs, client, null);
  }

  /**
   * A connection over {@code channel} (a server in this process, say), known to users as
   * {@code address}, the SDK's metrics reported into {@code metrics} (null: none). Closing the
   * connection shuts the channel down.
   */
  public static TemporalConnection over(io.grpc.ManagedChannel channel, String address,
      String namespace, com.uber.m3.tally.Scope metrics) {
    WorkflowServiceStubsOptions.Builder options =
        WorkflowServiceStubsOptions.newBuilder().setChannel(channel);
    if (metrics != null) {
      options.setMetricsScope(metrics);
    }
    WorkflowServiceStubs stubs = WorkflowServiceStubs.newServiceStubs(options.build());
    WorkflowClient client = WorkflowClient.newInstance(stubs,
        WorkflowClientOptions.newBuilder().setNamespace(namespace).build());
    return new TemporalConnection(address, stubs, client, channel);
  }

  /**
   * Refuses a namespace the server does not know, naming it and the variable that chose it: a
   * typo would otherwise surface as workflows that no worker ever picks up. Any other answer (the
   * namespace exists, or the server does not say) lets the connection go ahead.
   *
   * @throws IllegalArgumentException if the server says the namespace does not exist
   */
  static void requireNamespace(WorkflowServiceStubs stubs, String namespace, String address) {
    try {
      stubs.blockingStub().withDeadlineAfter(5, java.util.concurrent.TimeUnit.SECONDS)
          .describeNamespace(io.temporal.api.workflowservice.v1.DescribeNamespaceRequest
              .newBuilder().setNamespace(namespace).build());
    } catch (io.grpc.StatusRuntimeException e) {
      if (e.getStatus().getCode() == io.grpc.Status.Code.NOT_FOUND) {
        throw new IllegalArgumentException("namespace '" + namespace + "' does not exist on "
            + "Temporal at " + address + ": check " + ENV_NAMESPACE
            + " (`temporal operator namespace list` shows the namespaces)", e);
      }
    }
  }

  /** How long a plain TCP connect to the frontend may take before the address counts as dead. */
  static final Duration PROBE_TIMEOUT = Duration.ofMillis(1500);

  /**
   * A frontend that refuses connections, or does not accept one in {@link #PROBE_TIMEOUT}, is
   * reported at once: gRPC's own connect retries with backoff would take many seconds to say so.
   * Addresses that are not plain {@code host:port} (a resolver scheme) are left to gRPC.
   */
  private static void refuseIfClosed(String address) {
    int colon = address.lastIndexOf(':');
    if (colon <= 0 || address.contains("/")) {
      return;
    }
    String host = address.substring(0, colon).replace("[", "").replace("]", "");
    int port;
    try {
      port = Integer.parseInt(address.substring(colon + 1));
    } catch (NumberFormatException e) {
      return;
    }
    try (java.net.Socket probe = new java.net.Socket()) {
      probe.connect(new java.net.InetSocketAddress(host, port), (int) PROBE_TIMEOUT.toMillis());
    } catch (java.io.IOException e) {
      throw new TemporalUnavailableException("cannot reach Temporal at " + address + " ("
          + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage())
          + "): start `poolmig dev` or set " + ENV_ADDRESS, e);
    }
  }

  public String address() {
    return address;
  }

  public WorkflowClient client() {
    return client;
  }

  @Override
  public void close() {
    stubs.shutdown();
    stubs.awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
    if (channel != null) {
      channel.shutdownNow();
    }
  }

  private static String rootMessage(Throwable t) {
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return t.getMessage();
  }

  /** Temporal cannot be reached. */
  public static final class TemporalUnavailableException extends RuntimeException {
    public TemporalUnavailableException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
