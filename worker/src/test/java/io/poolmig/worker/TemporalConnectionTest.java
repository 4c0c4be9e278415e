package io.poolmig.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.temporal.api.namespace.v1.NamespaceInfo;
import io.temporal.api.workflowservice.v1.DescribeNamespaceRequest;
import io.temporal.api.workflowservice.v1.DescribeNamespaceResponse;
import io.temporal.api.workflowservice.v1.GetSystemInfoRequest;
import io.temporal.api.workflowservice.v1.GetSystemInfoResponse;
import io.temporal.api.workflowservice.v1.WorkflowServiceGrpc;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.serviceclient.WorkflowServiceStubsOptions;
import java.io.IOException;
import java.net.ServerSocket;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** What a connection says before anything runs: nobody listens, or the namespace is wrong. */
class TemporalConnectionTest {

  /** A frontend that knows one namespace, as a real server answers DescribeNamespace. */
  private static final class OneNamespace extends WorkflowServiceGrpc.WorkflowServiceImplBase {
    /** The SDK asks for the server's capabilities before its first call. */
    @Override
    public void getSystemInfo(GetSystemInfoRequest request,
        StreamObserver<GetSystemInfoResponse> response) {
      response.onNext(GetSystemInfoResponse.getDefaultInstance());
      response.onCompleted();
    }

    @Override
    public void describeNamespace(DescribeNamespaceRequest request,
        StreamObserver<DescribeNamespaceResponse> response) {
      if (!"default".equals(request.getNamespace())) {
        response.onError(Status.NOT_FOUND.withDescription("Namespace " + request.getNamespace()
            + " is not found.").asRuntimeException());
        return;
      }
      response.onNext(DescribeNamespaceResponse.newBuilder().setNamespaceInfo(
          NamespaceInfo.newBuilder().setName("default")).build());
      response.onCompleted();
    }
  }

  @Test
  void aNamespaceTheServerDoesNotKnowIsRefusedByName() throws IOException {
    String name = "frontend-" + UUID.randomUUID();
    Server server = InProcessServerBuilder.forName(name).addService(new OneNamespace()).build()
        .start();
    ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
    WorkflowServiceStubs stubs = WorkflowServiceStubs.newServiceStubs(
        WorkflowServiceStubsOptions.newBuilder().setChannel(channel).build());
    try {
      TemporalConnection.requireNamespace(stubs, "default", "temporal:7233");
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> TemporalConnection.requireNamespace(stubs, "defualt", "temporal:7233"));
      assertEquals("namespace 'defualt' does not exist on Temporal at temporal:7233: check "
          + "POOLMIG_TEMPORAL_NAMESPACE (`temporal operator namespace list` shows the "
          + "namespaces)", e.getMessage());
    } finally {
      stubs.shutdownNow();
      channel.shutdownNow();
      server.shutdownNow();
    }
  }

  @Test
  void anAddressWhereNobodyListensIsReportedAtOnce() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    long t0 = System.nanoTime();
    TemporalConnection.TemporalUnavailableException e = assertThrows(
        TemporalConnection.TemporalUnavailableException.class,
        () -> TemporalConnection.connect("127.0.0.1:" + port, "default"));
    assertTrue(e.getMessage().startsWith("cannot reach Temporal at 127.0.0.1:" + port),
        e.getMessage());
    assertTrue(System.nanoTime() - t0 < TemporalConnection.PROBE_TIMEOUT.toNanos() * 2,
        "one refused connect, not gRPC's retries");
  }
}
