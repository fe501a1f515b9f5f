#!/usr/bin/env bash
# What the test suite needs besides Rust: the Python example client's
# packages and kubernetes-validate (PyPI), and Debian's Chromium, which the
# compliance tests use to render the HTML report to PDF and PNG.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install -q -r examples/python/requirements.txt -r deploy/requirements.txt

if ! command -v chromium >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    # Package lists may be missing or stale on a fresh machine.
    $sudo apt-get install -y -q chromium || { $sudo apt-get update -q && $sudo apt-get install -y -q chromium; }
fi
chromium --version
