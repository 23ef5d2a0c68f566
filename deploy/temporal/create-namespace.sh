#!/bin/sh
# Creates the namespace the roles use once the server answers, and the
# saga's search attributes (what `ordersaga setup` registers; the roles only
# check them): run by the temporal-create-namespace container. Idempotent.
set -eu
ns=${NAMESPACE:-default}
addr=${TEMPORAL_ADDRESS:-temporal:7233}
until temporal operator cluster health --address "$addr" >/dev/null 2>&1; do sleep 2; done
temporal operator namespace describe -n "$ns" --address "$addr" >/dev/null 2>&1 ||
  temporal operator namespace create -n "$ns" --address "$addr"
for sa in OrderId CustomerId SagaStatus ClientId; do
  temporal operator search-attribute list -n "$ns" --address "$addr" | grep -qw "$sa" ||
    temporal operator search-attribute create -n "$ns" --address "$addr" --name "$sa" --type Keyword
done
