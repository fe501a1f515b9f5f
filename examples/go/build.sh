#!/usr/bin/env bash
# Builds the example client without the network: generates the stubs, then
# compiles in GOPATH mode against the Go packages Debian installs under
# /usr/share/gocode (golang-google-grpc-dev, golang-google-protobuf-dev,
# golang-google-genproto-dev), the way Debian builds Go programs. With a
# module proxy at hand, `go mod tidy && go build` works as well.
#
#   examples/go/build.sh OUT   # writes the binary to OUT
set -euo pipefail

HERE="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
OUT="$(realpath -m "${1:?usage: build.sh OUT}")"
"$HERE/generate.sh"

GOPATH_DIR="$(mktemp -d)"
trap 'rm -rf "$GOPATH_DIR"' EXIT
mkdir -p "$GOPATH_DIR/src"
ln -s "$HERE" "$GOPATH_DIR/src/warden"
cd "$GOPATH_DIR/src/warden"
GO111MODULE=off GOPROXY=off GOFLAGS= GOPATH="$GOPATH_DIR:/usr/share/gocode" go build -o "$OUT" .
