#!/usr/bin/env bash
# What the test suite needs besides Rust: the Python example client's
# packages and kubernetes-validate (PyPI); Debian's Chromium, which renders
# the compliance report to PDF and PNG and runs the console's end-to-end
# tests; and playwright-core from npm (it drives that Chromium; no browser
# download).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install -q -r examples/python/requirements.txt -r deploy/requirements.txt

sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
if ! command -v chromium >/dev/null 2>&1; then
    # Package lists may be missing or stale on a fresh machine.
    $sudo apt-get install -y -q chromium || { $sudo apt-get update -q && $sudo apt-get install -y -q chromium; }
fi
chromium --version

if ! command -v npm >/dev/null 2>&1; then
    $sudo apt-get install -y -q nodejs npm || { $sudo apt-get update -q && $sudo apt-get install -y -q nodejs npm; }
fi
npm ci --prefix tests/e2e --no-audit --no-fund --loglevel=error
