#!/bin/sh
# Creates (or upgrades) Temporal's two PostgreSQL schemas: run by the
# temporal-admin-tools container before the server starts. Idempotent.
set -eu
tool() { temporal-sql-tool --plugin postgres12 --ep postgresql -p 5432 -u temporal --pw temporal "$@"; }
for db in temporal:temporal temporal_visibility:visibility; do
  name=${db%%:*} schema=${db##*:}
  tool --db "$name" create || true # exists already after the first start
  tool --db "$name" setup-schema -v 0.0 || true
  tool --db "$name" update-schema -d "/etc/temporal/schema/postgresql/v12/$schema/versioned"
done
