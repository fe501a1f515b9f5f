#!/usr/bin/env bash
# Generates Python stubs for the Warden protos into ./warden/v1/, and for the
# google.rpc error protos into ./google/rpc/ (next to this script). Runnable
# from any working directory.
#
#   PYTHON=/path/to/python ./generate.sh   # use a specific interpreter (default: python3)
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
PROTO_ROOT="$(cd -- "$SCRIPT_DIR/../../proto" && pwd)"
OUT_DIR="$SCRIPT_DIR"
PYTHON="${PYTHON:-python3}"

if ! "$PYTHON" -c 'import grpc_tools.protoc' 2>/dev/null; then
    echo "generate.sh: grpc_tools not importable by '$PYTHON'." >&2
    echo "  install with: $PYTHON -m pip install -r $SCRIPT_DIR/requirements.txt" >&2
    exit 1
fi

# Start clean so stubs of removed protos do not linger.
rm -rf "$OUT_DIR/warden" "$OUT_DIR/google"
mkdir -p "$OUT_DIR/warden/v1"

# Paths relative to -I so grpc_tools emits `from warden.v1 import common_pb2`.
# google/protobuf/timestamp.proto is resolved from grpc_tools' bundled includes.
cd "$PROTO_ROOT"
"$PYTHON" -m grpc_tools.protoc \
    -I "$PROTO_ROOT" \
    --python_out="$OUT_DIR" \
    --grpc_python_out="$OUT_DIR" \
    --pyi_out="$OUT_DIR" \
    warden/v1/common.proto \
    warden/v1/risk.proto \
    warden/v1/audit.proto \
    warden/v1/approval.proto \
    google/rpc/status.proto \
    google/rpc/error_details.proto

# Regular packages, so `import warden.v1` works without relying on namespace
# packages (and cannot be shadowed by another `warden` on sys.path).
# `google/` stays a namespace package: protobuf's `google.protobuf` lives in
# the same namespace, in site-packages.
touch "$OUT_DIR/warden/__init__.py" "$OUT_DIR/warden/v1/__init__.py"

echo "generate.sh: stubs written to $OUT_DIR/warden/v1/"
