#!/bin/sh
# Creates the namespace the roles use once the server answers: run by the
# temporal-create-namespace container. Idempotent. (The roles add the
# saga's search attributes themselves.)
set -eu
ns=${NAMESPACE:-default}
addr=${TEMPORAL_ADDRESS:-temporal:7233}
until temporal operator cluster health --address "$addr" >/dev/null 2>&1; do sleep 2; done
temporal operator namespace describe -n "$ns" --address "$addr" >/dev/null 2>&1 ||
  temporal operator namespace create -n "$ns" --address "$addr"
