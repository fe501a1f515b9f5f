#!/usr/bin/env bash
# Builds the Warden container image with podman, from this machine's own
# files: no base image, no registry. The image is `FROM scratch` plus the
# release binary, libonnxruntime (the pinned PyPI build, next to the binary,
# where Warden looks for it) and the shared libraries both link against,
# copied from the build machine (Debian). The model and default policies are
# embedded in the binary.
#
#   deploy/image/build.sh            # builds localhost/warden:<version>
#   deploy/image/smoke.sh            # runs it and checks health + one ScoreInput
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
ORT=$(sed -n '/\[package.metadata.onnxruntime\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
TAG=${TAG:-localhost/warden:$VERSION}

cargo build --release --locked
BIN=target/release/warden
LIB=${ORT_DYLIB_PATH:-${ONNXRUNTIME_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/warden}/onnxruntime-$ORT/libonnxruntime.so.$ORT}
[ -f "$LIB" ] || { echo "build.sh: $LIB not found (cargo build fetches it)" >&2; exit 1; }

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
ROOT=$STAGE/rootfs
install -D -m 0755 "$BIN" "$ROOT/usr/local/bin/warden"
install -D -m 0644 "$LIB" "$ROOT/usr/local/bin/libonnxruntime.so.$ORT"
# Every shared library the binary and the runtime load, and the loader.
for f in "$BIN" "$LIB"; do
  ldd "$f" | awk '/=> \// {print $3} /^\s*\/lib/ {print $1}'
done | sort -u | while read -r so; do
  install -D -m 0755 "$(readlink -f "$so")" "$ROOT$so"
done
# A non-root user, the data dir (a volume in Kubernetes) and /tmp.
mkdir -p "$ROOT/etc" "$ROOT/var/lib/warden" "$ROOT/tmp" "$ROOT/proc"
echo "warden:x:65532:65532:warden:/var/lib/warden:/nonexistent" > "$ROOT/etc/passwd"
echo "warden:x:65532:" > "$ROOT/etc/group"
chown -R 0:0 "$ROOT"
chown 65532:65532 "$ROOT/var/lib/warden" "$ROOT/tmp"
cp deploy/image/Containerfile "$STAGE/Containerfile"
podman build --quiet --tag "$TAG" --file "$STAGE/Containerfile" "$STAGE"
echo "$TAG"
