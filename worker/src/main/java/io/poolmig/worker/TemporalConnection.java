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
    WorkflowServiceStubs stubs;
    try {
      stubs = WorkflowServiceStubs.newConnectedServiceStubs(
          WorkflowServiceStubsOptions.newBuilder().setTarget(address).build(),
          Duration.ofSeconds(10));
    } catch (RuntimeException e) {
      throw new TemporalUnavailableException("cannot reach Temporal at " + address + " ("
          + rootMessage(e) + "): start `poolmig dev` or set " + ENV_ADDRESS, e);
    }
    WorkflowClient client = WorkflowClient.newInstance(stubs,
        WorkflowClientOptions.newBuilder().setNamespace(namespace).build());
    return new TemporalConnection(address, stubs, client, null);
  }

  /**
   * A connection over {@code channel} (a server in this process, say), known to users as
   * {@code address}. Closing the connection shuts the channel down.
   */
  public static TemporalConnection over(io.grpc.ManagedChannel channel, String address,
      String namespace) {
    WorkflowServiceStubs stubs = WorkflowServiceStubs.newServiceStubs(
        WorkflowServiceStubsOptions.newBuilder().setChannel(channel).build());
    WorkflowClient client = WorkflowClient.newInstance(stubs,
        WorkflowClientOptions.newBuilder().setNamespace(namespace).build());
    return new TemporalConnection(address, stubs, client, channel);
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
