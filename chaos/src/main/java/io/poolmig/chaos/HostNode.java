package io.poolmig.chaos;

import java.nio.file.Path;

/**
 * One simulated host of the pool: its state directory, its worker process, the fixed loopback
 * port its receive endpoint listens on, the relay that port is advertised through (peers
 * stream checkpoints to the relay, never to the endpoint directly), and the relay its worker
 * reaches Temporal through (so one host can be cut off the control plane alone).
 */
record HostNode(String name, Path stateDir, int listenPort, Relay relay, Relay temporalRelay,
    WorkerNode worker) {

  @Override
  public String toString() {
    return name;
  }
}
