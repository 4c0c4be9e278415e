#!/bin/sh
# Registers the Temporal namespace the poolmig workers use. Run by the one-shot
# temporal-create-namespace service (image temporalio/admin-tools) once the temporal service is
# healthy; registering needs a running frontend, so this cannot be part of the schema setup that
# the server waits for. A namespace that exists is left as it is, so it runs at every `up`.
set -eu

address=${TEMPORAL_ADDRESS:?}
namespace=${NAMESPACE:-default}
retention=${NAMESPACE_RETENTION:-24h}
attempts=${ATTEMPTS:-60}

# retry WHAT COMMAND...: runs COMMAND until it succeeds, 2 s apart, at most $attempts times.
retry() {
  what=$1
  shift
  n=1
  until "$@"; do
    if [ "$n" -ge "$attempts" ]; then
      echo "$what: still failing after $n attempts" >&2
      return 1
    fi
    n=$((n + 1))
    sleep 2
  done
}

exists() {
  temporal operator namespace describe --namespace "$namespace" --address "$address" \
    >/dev/null 2>&1
}

# Registers the namespace unless it exists (also when a previous attempt did register it).
register() {
  exists || temporal operator namespace create --namespace "$namespace" \
    --retention "$retention" --address "$address"
}

retry "cluster health of $address" temporal operator cluster health --address "$address"
if exists; then
  echo "namespace $namespace exists"
  exit 0
fi
retry "registering namespace $namespace" register
retry "describing namespace $namespace" exists
echo "namespace $namespace registered (retention $retention)"
