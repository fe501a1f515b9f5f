#!/usr/bin/env bash
# Replaces the RustSec advisory database vendored in security/advisory-db/
# with the one at SRC: a snapshot directory that carries its own SNAPSHOT file
# (as ../shared/security/advisory-db/ does), or a git clone of
# github.com/RustSec/advisory-db (SNAPSHOT is then written from its HEAD).
# Run scripts/cargo-deny.sh afterwards and commit both together.
#
#   scripts/refresh-advisory-db.sh ../shared/security/advisory-db
set -euo pipefail
if [ $# -ne 1 ] || [ ! -d "$1/crates" ] || [ ! -f "$1/LICENSE.txt" ]; then
    echo "usage: refresh-advisory-db.sh SRC (a RustSec advisory-db with crates/ and LICENSE.txt)" >&2
    exit 2
fi
src=$(realpath "$1")
cd "$(dirname "$0")/.."
if [ -d "$src/.git" ]; then
    snapshot="snapshot $(git -C "$src" rev-parse HEAD) ($(git -C "$src" show -s --format=%cs HEAD))"
elif [ -f "$src/SNAPSHOT" ]; then
    snapshot=$(cat "$src/SNAPSHOT")
else
    echo "refresh-advisory-db.sh: $src is neither a git clone nor has a SNAPSHOT file" >&2
    exit 2
fi
new=security/advisory-db.new
rm -rf "$new"
mkdir -p "$new"
cp -R "$src/crates" "$src/rust" "$src/LICENSE.txt" "$src/README.md" "$new/"
echo "$snapshot" > "$new/SNAPSHOT"
chmod -R u+w "$new"
rm -rf security/advisory-db
mv "$new" security/advisory-db
echo "security/advisory-db: $snapshot"
