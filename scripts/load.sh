#!/usr/bin/env bash
# Builds the release server and the load generator (examples/load/) and runs
# one of its commands; the generator starts the servers it measures on
# loopback ports of their own.
#
#   scripts/load.sh table                      # docs/benchmarks.md's load table, capacity with and without the model
#   scripts/load.sh soak --rate 70 --seconds 1200 --outage-at 480 --outage-for 240
#   scripts/load.sh scale --instances 1,4,16,32 --seconds 60
#   scripts/load.sh run --addr 127.0.0.1:50051 --pid "$(pidof warden)" --rate 50 --seconds 60
#
# `soak` and `scale` ship into PostgreSQL on 127.0.0.1:5432 (database test,
# user postgres, trust) and NATS JetStream on 127.0.0.1:4222 (--postgres,
# --nats move them), each run into a schema and a stream of its own that it
# drops afterwards (--keep leaves them). Set LOAD_BIN to a directory holding
# `warden` and `load` to skip the build.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -n "${LOAD_BIN:-}" ]]; then
    warden="$LOAD_BIN/warden" load="$LOAD_BIN/load"
else
    cargo build --release --locked --bin warden --example load
    target="${CARGO_TARGET_DIR:-target}/release"
    warden="$target/warden" load="$target/examples/load"
fi
echo "uptime: $(uptime)"
if [[ "${1:-}" == "run" ]]; then
    exec "$load" "$@"
fi
exec "$load" "$@" --warden "$warden"
