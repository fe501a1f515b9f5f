#!/usr/bin/env bash
# Builds the Warden container image with podman, from this machine's own
# files: no base image, no registry. The image is `FROM scratch` plus the
# release binary, libonnxruntime (the pinned PyPI build, next to the binary,
# where Warden looks for it) and the shared libraries both link against,
# copied from the build machine (Debian). The model and default policies are
# embedded in the binary.
#
#   deploy/image/build.sh            # builds localhost/warden:<version>,
#                                    # its SBOM in target/sbom/ (scripts/sbom.py)
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
deploy/image/stage.sh "$STAGE/rootfs" "$BIN" "$LIB"
# The image's SBOM (and the binary's), from the files just staged.
python3 scripts/sbom.py --rootfs "$STAGE/rootfs" --image "$TAG" --out target/sbom >&2
cp deploy/image/Containerfile "$STAGE/Containerfile"
podman build --quiet --tag "$TAG" --file "$STAGE/Containerfile" "$STAGE"
echo "$TAG"
