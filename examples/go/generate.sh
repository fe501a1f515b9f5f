#!/usr/bin/env bash
# Generates the Go stubs for the Warden protos into ./gen/go/warden/v1/ (next
# to this script; git-ignored), with protoc, protoc-gen-go and
# protoc-gen-go-grpc (Debian: protobuf-compiler, protoc-gen-go,
# protoc-gen-go-grpc). Runnable from any working directory.
set -euo pipefail

HERE="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
PROTO_ROOT="$(cd -- "$HERE/../../proto" && pwd)"
for tool in protoc protoc-gen-go protoc-gen-go-grpc; do
    command -v "$tool" >/dev/null || { echo "generate.sh: $tool not found (see README.md)" >&2; exit 1; }
done

rm -rf "$HERE/gen"
mkdir -p "$HERE/gen"
# go_package in every file is "warden/gen/go/warden/v1;wardenv1"; this module
# is "warden", so module=warden puts the files in ./gen/go/warden/v1/.
cd "$PROTO_ROOT"
protoc -I "$PROTO_ROOT" \
    --go_out="$HERE" --go_opt=module=warden \
    --go-grpc_out="$HERE" --go-grpc_opt=module=warden \
    warden/v1/*.proto
echo "generate.sh: stubs written to $HERE/gen/go/warden/v1/" >&2
