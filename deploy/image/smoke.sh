#!/usr/bin/env bash
# Smoke-tests the image built by build.sh: starts it, checks gRPC health and
# one call of every Score RPC with the generated Python client
# (examples/python/client.py), then stops it with SIGTERM.
#
# It first tries `podman run` (read-only root, non-root user, data dir as a
# volume). Where the OCI runtime cannot start containers (this project's
# sandboxed machines forbid setrlimit(RLIMIT_NPROC), which podman's runtimes
# always call), it runs the image's exported filesystem under chroot as
# the image's user (65532) instead: the same files, libraries and user,
# without the runtime. It says which one it used.
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
TAG=${TAG:-localhost/warden:$VERSION}
GRPC=127.0.0.1:50061 METRICS=127.0.0.1:9471 HEALTH=127.0.0.1:8091
DATA=$(mktemp -d)
chown 65532:65532 "$DATA"
ARGS=(serve --data-dir /var/lib/warden --grpc-addr $GRPC --metrics-addr $METRICS --health-addr $HEALTH)
cleanup() { podman rm -f warden-smoke >/dev/null 2>&1 || true; [ -n "${ROOT:-}" ] && { umount "$ROOT/proc" "$ROOT/var/lib/warden" 2>/dev/null || true; rm -rf "$ROOT"; }; rm -rf "$DATA"; }
trap cleanup EXIT

if podman run -d --name warden-smoke --network host --read-only --user 65532:65532 \
     -v "$DATA:/var/lib/warden" "$TAG" "${ARGS[@]}" >/dev/null 2>/tmp/warden-smoke.err; then
  MODE="podman run"
  stop() { podman stop --time 30 warden-smoke >/dev/null; }
else
  echo "smoke.sh: podman run failed: $(tail -1 /tmp/warden-smoke.err); running the image's filesystem under chroot" >&2
  podman rm -f warden-smoke >/dev/null 2>&1 || true
  ROOT=$(mktemp -d -p /var/tmp)
  podman create --name warden-smoke "$TAG" >/dev/null
  chmod 0755 "$ROOT"
  podman export warden-smoke | tar -x -C "$ROOT"
  mount --bind "$DATA" "$ROOT/var/lib/warden"
  mount -t proc proc "$ROOT/proc"   # a container runtime mounts it; Warden finds its runtime library via /proc/self/exe
  chroot --userspec=65532:65532 "$ROOT" /usr/local/bin/warden "${ARGS[@]}" 2>/tmp/warden-smoke.log &
  PID=$!
  MODE="chroot (uid 65532)"
  stop() { kill -TERM $PID; wait $PID; }
fi
for _ in $(seq 1 60); do
  python3 - <<PY 2>/dev/null && break
import socket; socket.create_connection(("127.0.0.1", ${GRPC##*:}), 1)
PY
  sleep 1
done
python3 examples/python/client.py --target $GRPC
curl -sf "http://$METRICS/metrics" | grep -q warden_build_info
stop
echo "smoke.sh: $TAG passed ($MODE): health, ScoreInput/ScoreOutput/ScoreAction, metrics, SIGTERM"
