#!/usr/bin/env bash
# Stages the image's root filesystem into ROOT: the warden binary, the ONNX
# Runtime library beside it (where Warden looks for it), every shared library
# both load with the loader (copied from this machine, Debian), a non-root
# user, the data dir and /tmp. deploy/image/build.sh builds the image from it
# and scripts/sbom.py describes it; tests/supply_chain.rs stages one too.
#
#   deploy/image/stage.sh ROOT BINARY LIBONNXRUNTIME
set -euo pipefail
if [ $# -ne 3 ]; then echo "usage: stage.sh ROOT BINARY LIBONNXRUNTIME" >&2; exit 2; fi
for f in "$2" "$3"; do [ -f "$f" ] || { echo "stage.sh: $f not found" >&2; exit 1; }; done
ROOT=$(realpath -m "$1") BIN=$(realpath "$2") LIB=$(realpath "$3")
cd "$(dirname "$0")/../.."
ORT=$(sed -n '/\[package.metadata.onnxruntime\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)

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
