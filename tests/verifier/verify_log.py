#!/usr/bin/env python3
"""Independent verifier for Warden's tamper-evident audit log.

    python3 tests/verifier/verify_log.py --target 127.0.0.1:50051 \\
        --public-key /path/to/signing-key.pem
    python3 tests/verifier/verify_log.py --data-dir /var/lib/warden \\
        --public-key public-key.pem [--witness-vkey VKEY]

Uses only gRPC responses (warden.v1.AuditService), or offline the files on
disk, and the log's public key.
The Merkle tree algorithms are written from RFC 9162 (Certificate
Transparency v2), section 2.1, and the checkpoint / signed-note formats from
the C2SP tlog-checkpoint and signed-note specifications. Nothing here is
derived from Warden's Rust implementation: the point is to have a second,
independent implementation that must agree with the server.

Checks:
  1. checkpoint: Ed25519 signature over `note`, note fields vs message
     fields, key_id == C2SP key hash, signed_note well-formed and its
     embedded signature valid and equal to `signature`;
  2. records 0..tree_size-1 from Tail: sequence / leaf_index continuity,
     leaf_hash == SHA-256(0x00 || canonical_entry), the canonical JSON parses
     and its seq / id / kind agree with the record;
  3. the Merkle tree head recomputed from the leaf hashes == checkpoint root;
  4. inclusion proofs (all leaves, or a sample of 200 incl. first and last)
     verified per RFC 9162 2.1.3.2, and equal to PATH from 2.1.3.1;
  5. consistency proofs from sizes {1, 2, n/2, n-1, n} to n verified per
     RFC 9162 2.1.4.2 against roots computed here, and equal to PROOF from
     2.1.4.1;
  6. negative checks the verifier must reject: flipped bits in proofs, wrong
     leaf indices, a checkpoint note with a changed size, a signature by a
     different key, and more.
Before talking to the server it self-tests its RFC 9162 code on synthetic
trees (and published test-vector roots).

Offline, `--data-dir DIR` (instead of --target) checks the log on disk under
DIR/audit: every segment (leaf hash, hash chain, sequence, record fields;
retired segments through their seal and leaf hashes), every checkpoint in
checkpoints.jsonl (signature, note, signed time, key id, root == MTH of the
records), the timeliness rule (records signed within W = interval + grace of
being written, unless a crash tail or an accepted one; no record written long
after the last signature), and with --witness-vkey the witness's cosigned
note under audit/witness/, whose tree the records must reproduce. See
tests/verifier/README.md.

Prints one line per failed check (`FAIL <check>: <detail>`) and ends with
exactly `verifier: N passed, M failed`. Exit status 0 iff M == 0.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import os
import random
import re
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY_DIR = (HERE / ".." / ".." / "examples" / "python").resolve()
# The generated stubs import each other as `from warden.v1 import common_pb2`,
# so the directory holding the generated `warden/` package goes first.
sys.path.insert(0, str(PY_DIR))

STUB_FILES = [
    PY_DIR / "warden" / "__init__.py",
    PY_DIR / "warden" / "v1" / "__init__.py",
    PY_DIR / "warden" / "v1" / "common_pb2.py",
    PY_DIR / "warden" / "v1" / "audit_pb2.py",
    PY_DIR / "warden" / "v1" / "audit_pb2_grpc.py",
]

HASH_LEN = 32
SIG_LEN = 64
SAMPLE = 200


# --------------------------------------------------------------------------
# RFC 9162 section 2.1: Merkle hash trees (SHA-256)
# --------------------------------------------------------------------------

def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(entry: bytes) -> bytes:
    """MTH({d(0)}) = HASH(0x00 || d(0))."""
    return sha256(b"\x00" + entry)


def node_hash(left: bytes, right: bytes) -> bytes:
    """HASH(0x01 || MTH(left) || MTH(right))."""
    return sha256(b"\x01" + left + right)


EMPTY_ROOT = sha256(b"")  # MTH({}) = HASH()


def split_point(n: int) -> int:
    """k: the largest power of two smaller than n (n > 1)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


class Tree:
    """The leaf hashes of a log plus a memo of subtree hashes.

    A subtree hash depends only on the leaves in its range, so one memo
    serves the trees of every prefix size."""

    def __init__(self, leaf_hashes: list[bytes]):
        self.leaves = leaf_hashes
        self._memo: dict[tuple[int, int], bytes] = {}

    def mth(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) per RFC 9162 2.1.1."""
        n = hi - lo
        if n == 0:
            return EMPTY_ROOT
        if n == 1:
            return self.leaves[lo]
        key = (lo, hi)
        h = self._memo.get(key)
        if h is None:
            k = split_point(n)
            h = node_hash(self.mth(lo, lo + k), self.mth(lo + k, hi))
            self._memo[key] = h
        return h

    def root(self, size: int) -> bytes:
        return self.mth(0, size)

    def path(self, m: int, size: int) -> list[bytes]:
        """PATH(m, D[size]) per RFC 9162 2.1.3.1 (the expected inclusion proof)."""
        return self._path(m, 0, size)

    def _path(self, m: int, lo: int, hi: int) -> list[bytes]:
        n = hi - lo
        if n <= 1:
            return []  # PATH(0, {d(0)}) = {}
        k = split_point(n)
        if m < k:
            return self._path(m, lo, lo + k) + [self.mth(lo + k, hi)]
        return self._path(m - k, lo + k, hi) + [self.mth(lo, lo + k)]

    def proof(self, m: int, size: int) -> list[bytes]:
        """PROOF(m, D[size]) per RFC 9162 2.1.4.1 (the expected consistency proof)."""
        return self._subproof(m, 0, size, True)

    def _subproof(self, m: int, lo: int, hi: int, b: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if b else [self.mth(lo, hi)]
        k = split_point(n)
        if m <= k:
            return self._subproof(m, lo, lo + k, b) + [self.mth(lo + k, hi)]
        return self._subproof(m - k, lo + k, hi, False) + [self.mth(lo, lo + k)]


def verify_inclusion(leaf_index: int, tree_size: int, hash_: bytes,
                     inclusion_path: list[bytes], root_hash: bytes) -> bool:
    """RFC 9162 2.1.3.2, step by step."""
    if any(len(p) != HASH_LEN for p in inclusion_path) or len(hash_) != HASH_LEN:
        return False
    # 1. leaf_index >= tree_size: discard the proof.
    if leaf_index >= tree_size:
        return False
    # 2.
    fn = leaf_index
    sn = tree_size - 1
    # 3.
    r = hash_
    # 4.
    for p in inclusion_path:
        # a.
        if sn == 0:
            return False
        # b.
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        # c.
        fn >>= 1
        sn >>= 1
    # 5.
    return sn == 0 and r == root_hash


def verify_consistency(first: int, second: int, first_hash: bytes,
                       second_hash: bytes, consistency_path: list[bytes]) -> bool:
    """RFC 9162 2.1.4.2, step by step.

    The RFC algorithm covers 0 < first < second. first == second has the
    empty proof (SUBPROOF(m, D[m], true) = {}), and is consistent iff the
    two tree heads are equal; first == 0 is not a meaningful proof here and
    is rejected."""
    if any(len(c) != HASH_LEN for c in consistency_path):
        return False
    if len(first_hash) != HASH_LEN or len(second_hash) != HASH_LEN:
        return False
    if first == second and first > 0:
        return not consistency_path and first_hash == second_hash
    if not 0 < first < second:
        return False
    path = list(consistency_path)
    # 1.
    if not path:
        return False
    # 2.
    if first & (first - 1) == 0:
        path.insert(0, first_hash)
    # 3.
    fn = first - 1
    sn = second - 1
    # 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = path[0]
    # 6.
    for c in path[1:]:
        # a.
        if sn == 0:
            return False
        # b.
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        # c.
        fn >>= 1
        sn >>= 1
    # 7.
    return fr == first_hash and sr == second_hash and sn == 0


def flip_bit(b: bytes, bit: int = 0) -> bytes:
    out = bytearray(b)
    out[bit // 8 % len(out)] ^= 1 << (bit % 8)
    return bytes(out)


# Roots of the first 1..8 leaves of the well-known CT Merkle test inputs.
TEST_VECTOR_LEAVES = [
    b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)), bytes(range(0x60, 0x70)),
]
TEST_VECTOR_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def naive_mth(leaves: list[bytes]) -> bytes:
    """MTH written directly from the RFC's recursive definition (no memo)."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = split_point(n)
    return node_hash(naive_mth(leaves[:k]), naive_mth(leaves[k:]))


def self_test(max_size: int = 33) -> list[str]:
    """Exercise the RFC code above on synthetic trees; returns problems."""
    problems: list[str] = []
    tv = Tree([leaf_hash(d) for d in TEST_VECTOR_LEAVES])
    for i, want in enumerate(TEST_VECTOR_ROOTS, start=1):
        if tv.root(i).hex() != want:
            problems.append(f"test-vector root of size {i} is {tv.root(i).hex()}, want {want}")
    if Tree([]).root(0) != bytes.fromhex(
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"):
        problems.append("empty tree root is not SHA-256 of the empty string")
    leaves = [leaf_hash(b"leaf %d" % i) for i in range(max_size)]
    t = Tree(leaves)
    for n in range(1, max_size + 1):
        root = t.root(n)
        if root != naive_mth(leaves[:n]):
            problems.append(f"memoized MTH differs from the definition at size {n}")
        for m in range(n):
            p = t.path(m, n)
            if not verify_inclusion(m, n, leaves[m], p, root):
                problems.append(f"valid inclusion proof ({m}, {n}) rejected")
            if verify_inclusion(m, n, leaves[(m + 1) % max_size], p, root):
                problems.append(f"inclusion ({m}, {n}) accepted with the wrong leaf")
            for j in range(len(p)):
                bad = p[:j] + [flip_bit(p[j], 8 * j + 3)] + p[j + 1:]
                if verify_inclusion(m, n, leaves[m], bad, root):
                    problems.append(f"inclusion ({m}, {n}) accepted with hash {j} flipped")
            for w in range(n + 1):
                if w != m and verify_inclusion(w, n, leaves[m], p, root):
                    problems.append(f"inclusion ({m}, {n}) accepted as index {w}")
            if verify_inclusion(m, n, leaves[m], p + [root], root):
                problems.append(f"inclusion ({m}, {n}) accepted with an extra hash")
            if p and verify_inclusion(m, n, leaves[m], p[:-1], root):
                problems.append(f"inclusion ({m}, {n}) accepted with a hash missing")
        for m in range(1, n + 1):
            p = t.proof(m, n)
            if not verify_consistency(m, n, t.root(m), root, p):
                problems.append(f"valid consistency proof ({m}, {n}) rejected")
            if m < n:
                for j in range(len(p)):
                    bad = p[:j] + [flip_bit(p[j], 8 * j + 5)] + p[j + 1:]
                    if verify_consistency(m, n, t.root(m), root, bad):
                        problems.append(f"consistency ({m}, {n}) accepted with hash {j} flipped")
                if verify_consistency(m, n, t.root(m + 1), root, p):
                    problems.append(f"consistency ({m}, {n}) accepted with a wrong first root")
                if verify_consistency(m, n, t.root(m), flip_bit(root), p):
                    problems.append(f"consistency ({m}, {n}) accepted with a wrong second root")
    return problems


# --------------------------------------------------------------------------
# C2SP tlog-checkpoint / signed-note
# --------------------------------------------------------------------------

RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:[Zz]|([+-])(\d{2}):(\d{2}))$")
DECIMAL = re.compile(r"^(0|[1-9][0-9]*)$")
EM_DASH = "\u2014"


def parse_rfc3339(s: str) -> tuple[int, int, int] | None:
    """-> (unix seconds, nanos, number of fraction digits) or None."""
    import calendar
    m = RFC3339.match(s)
    if not m:
        return None
    y, mo, d, h, mi, sec = (int(x) for x in m.group(1, 2, 3, 4, 5, 6))
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h <= 23 and mi <= 59 and sec <= 60):
        return None
    frac = m.group(7) or ""
    nanos = int(frac.ljust(9, "0")) if frac else 0
    secs = calendar.timegm((y, mo, d, h, mi, sec, 0, 0, 0))
    if m.group(8):
        off = int(m.group(9)) * 3600 + int(m.group(10)) * 60
        secs -= off if m.group(8) == "+" else -off
    return secs, nanos, len(frac)


def c2sp_key_hash(origin: str, raw_pub: bytes) -> bytes:
    """Key hash: SHA-256(key name || 0x0A || 0x01 (Ed25519) || public key)[:4]."""
    return sha256(origin.encode() + b"\n" + b"\x01" + raw_pub)[:4]


@dataclass(frozen=True)
class CheckpointView:
    origin: str
    tree_size: int
    root_hash: bytes
    ts_seconds: int
    ts_nanos: int
    signature: bytes
    key_id: str
    note: bytes
    signed_note: str


def checkpoint_problems(cp: CheckpointView, pub) -> dict[str, str]:
    """All the ways `cp` fails to be a valid checkpoint signed by `pub`.

    Returns {check name: problem}; an empty dict means the checkpoint is valid."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization

    raw_pub = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    out: dict[str, str] = {}

    # Signature over exactly `note`.
    if len(cp.signature) != SIG_LEN:
        out["signature"] = f"signature is {len(cp.signature)} bytes, want {SIG_LEN}"
    else:
        try:
            pub.verify(cp.signature, cp.note)
        except InvalidSignature:
            out["signature"] = "Ed25519 signature over note does not verify with the public key"

    # Note body: "<origin>\n<size>\n<base64 root>\ntime <RFC 3339>\n".
    problems = []
    try:
        text = cp.note.decode("utf-8")
    except UnicodeDecodeError:
        text = None
        problems.append("note is not UTF-8")
    if text is not None:
        if not text.endswith("\n"):
            problems.append("note does not end with a newline")
        lines = text[:-1].split("\n") if text.endswith("\n") else text.split("\n")
        if len(lines) < 3:
            problems.append(f"note has {len(lines)} lines, want at least 3")
        else:
            if lines[0] != cp.origin:
                problems.append(f"note origin {lines[0]!r} != origin {cp.origin!r}")
            if not lines[0]:
                problems.append("empty origin")
            if not DECIMAL.match(lines[1]):
                problems.append(f"note size {lines[1]!r} is not a decimal number")
            elif int(lines[1]) != cp.tree_size:
                problems.append(f"note size {lines[1]} != tree_size {cp.tree_size}")
            try:
                root = base64.b64decode(lines[2], validate=True)
                if base64.b64encode(root).decode() != lines[2]:
                    problems.append("note root hash is not canonical base64")
                if len(root) != HASH_LEN:
                    problems.append(f"note root hash is {len(root)} bytes, want {HASH_LEN}")
                elif root != cp.root_hash:
                    problems.append(f"note root {root.hex()} != root_hash {cp.root_hash.hex()}")
            except (binascii.Error, ValueError):
                problems.append(f"note root {lines[2]!r} is not standard base64")
            if any(line == "" for line in lines[3:]):
                problems.append("note has an empty extension line")
            times = [line[5:] for line in lines[3:] if line.startswith("time ")]
            if len(times) != 1:
                problems.append(f"note has {len(times)} 'time' lines, want 1")
            else:
                t = parse_rfc3339(times[0])
                if t is None:
                    problems.append(f"note time {times[0]!r} is not RFC 3339")
                else:
                    secs, nanos, digits = t
                    want = cp.ts_nanos - cp.ts_nanos % (10 ** (9 - digits))
                    if (secs, nanos) != (cp.ts_seconds, want):
                        problems.append(f"note time {times[0]} != timestamp "
                                        f"{cp.ts_seconds}.{cp.ts_nanos:09d}")
    if len(cp.root_hash) != HASH_LEN:
        problems.append(f"root_hash is {len(cp.root_hash)} bytes, want {HASH_LEN}")
    if problems:
        out["note fields"] = "; ".join(problems)

    # key_id: hex of the C2SP key hash.
    key_hash = c2sp_key_hash(cp.origin, raw_pub)
    if cp.key_id != key_hash.hex():
        out["key_id"] = f"key_id {cp.key_id!r} != C2SP key hash {key_hash.hex()!r}"

    # signed_note: note, blank line, "— <origin> <base64(key hash || sig)>\n" lines.
    problems = []
    if text is None:
        problems.append("note is not UTF-8")
    elif not cp.signed_note:
        problems.append("signed_note is empty")
    elif not cp.signed_note.startswith(text + "\n"):
        problems.append("signed_note does not start with note followed by a blank line")
    else:
        sig_block = cp.signed_note[len(text) + 1:]
        if not sig_block.endswith("\n") or sig_block == "\n":
            problems.append("signature block missing or not newline-terminated")
        else:
            found = None
            for line in sig_block[:-1].split("\n"):
                m = re.fullmatch(EM_DASH + r" (\S+) (\S+)", line)
                if not m:
                    problems.append(f"malformed signature line {line!r}")
                    continue
                try:
                    blob = base64.b64decode(m.group(2), validate=True)
                except (binascii.Error, ValueError):
                    problems.append(f"signature line base64 invalid: {line!r}")
                    continue
                if m.group(1) == cp.origin and blob[:4] == key_hash:
                    found = blob
            if found is None:
                problems.append(f"no signature line for key {cp.origin} {key_hash.hex()}")
            elif len(found) != 4 + SIG_LEN:
                problems.append(f"signature line carries {len(found)} bytes, want {4 + SIG_LEN}")
            else:
                sig = found[4:]
                try:
                    pub.verify(sig, text.encode("utf-8"))
                except InvalidSignature:
                    problems.append("signed_note's embedded signature does not verify")
                if sig != cp.signature:
                    problems.append("signed_note's embedded signature != signature field")
    if problems:
        out["signed_note"] = "; ".join(problems)
    return out


def signed_note_for(text: str, origin: str, key_hash: bytes, sig: bytes) -> str:
    return (text + "\n" + EM_DASH + " " + origin + " "
            + base64.b64encode(key_hash + sig).decode() + "\n")


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------

class Results:
    def __init__(self, verbose: bool):
        self.passed = 0
        self.failed = 0
        self.verbose = verbose

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        if ok:
            self.passed += 1
            if self.verbose:
                print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}: {detail}" if detail else f"FAIL {name}", flush=True)
        return ok

    def summary(self) -> int:
        print(f"verifier: {self.passed} passed, {self.failed} failed")
        return 0 if self.failed == 0 else 1


PROTO_DIR = (HERE / ".." / ".." / "proto" / "warden" / "v1").resolve()


def stubs_state() -> str | None:
    """None if the stubs are usable, else why they must be (re)generated:
    missing, or older than a .proto (generated before the proto changed, e.g.
    without Checkpoint.signed_note)."""
    if not all(p.exists() for p in STUB_FILES):
        return "missing"
    protos = list(PROTO_DIR.glob("*.proto"))
    if protos:
        newest_proto = max(p.stat().st_mtime for p in protos)
        oldest_stub = min(p.stat().st_mtime for p in STUB_FILES)
        if newest_proto > oldest_stub:
            return "older than the .proto files"
    return None


def ensure_stubs(res: Results) -> bool:
    why = stubs_state()
    if why is None:
        return True
    print(f"verifier: stubs {why}, running generate.sh", file=sys.stderr)
    env = dict(os.environ, PYTHON=sys.executable)
    try:
        subprocess.run(["bash", str(PY_DIR / "generate.sh")], check=True, env=env,
                       stdout=sys.stderr)
    except subprocess.CalledProcessError as e:
        res.check("stubs", False, f"generate.sh failed (exit {e.returncode}); install deps with "
                  f"{sys.executable} -m pip install -r {PY_DIR / 'requirements.txt'}")
        return False
    missing = [str(p) for p in STUB_FILES if not p.exists()]
    return res.check("stubs", not missing, f"generate.sh did not produce {', '.join(missing)}")


def stub_fields_ok(res: Results, audit_pb2) -> bool:
    """The fields this verifier reads must exist in the generated messages."""
    need = {
        "Checkpoint": ["origin", "tree_size", "root_hash", "timestamp", "signature",
                       "key_id", "note", "signed_note"],
        "AuditRecord": ["record_id", "sequence", "kind", "canonical_entry",
                        "leaf_index", "leaf_hash"],
        "InclusionProof": ["leaf_index", "tree_size", "hashes"],
        "ConsistencyProof": ["first_size", "second_size", "hashes"],
    }
    missing = [f"{m}.{f}" for m, fs in need.items() for f in fs
               if f not in getattr(audit_pb2, m).DESCRIPTOR.fields_by_name]
    return res.check("stubs have the fields the verifier reads", not missing,
                     f"missing {', '.join(missing)}; regenerate with {PY_DIR / 'generate.sh'}")


def der_read(buf: bytes, pos: int) -> tuple[int, bytes, int]:
    """One DER TLV at pos -> (tag, value, next pos). Definite lengths only."""
    if pos + 2 > len(buf):
        raise ValueError("truncated DER")
    tag, first = buf[pos], buf[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        nbytes = first & 0x7F
        if nbytes == 0 or nbytes > 4 or pos + nbytes > len(buf):
            raise ValueError("bad DER length")
        length = int.from_bytes(buf[pos:pos + nbytes], "big")
        pos += nbytes
    if pos + length > len(buf):
        raise ValueError("truncated DER value")
    return tag, buf[pos:pos + length], pos + length


def ed25519_from_one_asymmetric_key(der: bytes):
    """Ed25519 private key from an RFC 5958 OneAsymmetricKey (PKCS#8 v2).

    cryptography >= 45 rejects version 1 (v2) PKCS#8 documents
    (pyca/cryptography#15631), which is what ring-style Ed25519 keys are:
      SEQUENCE { INTEGER 1, SEQUENCE { OID 1.3.101.112 },
                 OCTET STRING { OCTET STRING seed(32) },
                 [1] IMPLICIT BIT STRING publicKey OPTIONAL }
    (RFC 8410 section 7). Parse it here; the public key, when present, must
    match the one derived from the seed."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    tag, body, end = der_read(der, 0)
    if tag != 0x30 or end != len(der):
        raise ValueError("not a single DER SEQUENCE")
    tag, version, pos = der_read(body, 0)
    if tag != 0x02 or version not in (b"\x00", b"\x01"):
        raise ValueError("bad PKCS#8 version")
    tag, alg, pos = der_read(body, pos)
    if tag != 0x30 or alg != b"\x06\x03\x2b\x65\x70":
        raise ValueError("algorithm is not Ed25519 (1.3.101.112)")
    tag, priv, pos = der_read(body, pos)
    t2, seed, e2 = der_read(priv, 0) if tag == 0x04 else (None, b"", 0)
    if tag != 0x04 or t2 != 0x04 or e2 != len(priv) or len(seed) != 32:
        raise ValueError("privateKey is not OCTET STRING { OCTET STRING (32 bytes) }")
    key = Ed25519PrivateKey.from_private_bytes(seed)
    while pos < len(body):
        tag, value, pos = der_read(body, pos)
        if tag == 0xA0:  # [0] attributes: ignored
            continue
        if tag == 0x81 and version == b"\x01":  # [1] publicKey
            derived = key.public_key().public_bytes(serialization.Encoding.Raw,
                                                    serialization.PublicFormat.Raw)
            if value != b"\x00" + derived:
                raise ValueError("embedded publicKey does not match the private key")
            continue
        raise ValueError(f"unexpected field tag 0x{tag:02x} in OneAsymmetricKey")
    return key


def checked_public_key(path: str, res: "Results"):
    """The log's public key and its raw bytes, or None (recorded as a failed
    check) when it cannot be read."""
    from cryptography.hazmat.primitives import serialization
    try:
        pub = load_public_key(path)
    except (OSError, ValueError, TypeError) as e:
        res.check("public key", False, str(e))
        return None
    return pub, pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def load_public_key(path: str):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey, Ed25519PublicKey)
    data = Path(path).read_bytes()
    if b"PRIVATE KEY" in data:
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except ValueError as e:
            m = re.search(rb"-----BEGIN PRIVATE KEY-----(.*?)-----END PRIVATE KEY-----",
                          data, re.S)
            if not m:
                raise
            try:
                key = ed25519_from_one_asymmetric_key(base64.b64decode(b"".join(m.group(1).split())))
            except (ValueError, binascii.Error) as e2:
                raise ValueError(f"{path}: {e}; PKCS#8 v2 fallback: {e2}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path}: not an Ed25519 private key ({type(key).__name__})")
        return key.public_key()
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path}: not an Ed25519 public key ({type(key).__name__})")
    return key


# --------------------------------------------------------------------------
# Offline mode: a log directory on disk
# --------------------------------------------------------------------------

CHAIN_DOMAIN = b"warden.chain.v2\0"
SEGMENT_NAME = re.compile(r"^([0-9]{20})\.(jsonl|seal|leaves)$")
LINE_TAIL = re.compile(
    rb',"leaf":"([0-9a-f]{64})","prev":"([0-9a-f]{64})","hash":"([0-9a-f]{64})"\}$')
ACCEPTED_KIND = "unsigned_tail_accepted"
COSIGNATURE_V1 = 0x04
SECOND = 1_000_000_000
MS = 1_000_000


def chain_hash(prev: bytes, leaf: bytes) -> bytes:
    """hash = SHA-256("warden.chain.v2\\0" || prev || leaf)."""
    return sha256(CHAIN_DOMAIN + prev + leaf)


def rfc3339_nanos(s: str, utc_only: bool = False) -> int | None:
    """Unix nanoseconds of an RFC 3339 time, or None."""
    if utc_only and not s.endswith("Z"):
        return None
    t = parse_rfc3339(s)
    if t is None:
        return None
    return t[0] * SECOND + t[1]


def fmt_nanos(n: int) -> str:
    import datetime
    dt = datetime.datetime.fromtimestamp(n // SECOND, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{n % SECOND:09d}Z"


def no_dupes(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError(f"duplicate keys {sorted(k for k in set(keys) if keys.count(k) > 1)}")
    return dict(pairs)


@dataclass
class DiskLog:
    leaves: list[bytes]
    times: list[int | None]     # recorded_at in unix nanos; None when retired
    kinds: list[str | None]
    torn_bytes: int = 0


def read_segments(seg_dir: Path, res: Results) -> DiskLog | None:
    """Every segment in order: records checked one by one (leaf, chain, seq,
    fields), retired segments through their seal and leaves."""
    log = DiskLog([], [], [])
    if not seg_dir.is_dir():
        res.check("segments directory", False, f"{seg_dir} does not exist")
        return None
    by_first: dict[int, dict[str, Path]] = {}
    strays = []
    for p in sorted(seg_dir.iterdir()):
        m = SEGMENT_NAME.match(p.name)
        if not m:
            strays.append(p.name)
            continue
        by_first.setdefault(int(m.group(1)), {})[m.group(2)] = p
    res.check("segments directory holds only segments", not strays,
              f"unexpected files {strays[:5]}")
    firsts = sorted(by_first)
    prev = bytes(HASH_LEN)
    seq = 0
    for idx, first in enumerate(firsts):
        files = by_first[first]
        last_segment = idx == len(firsts) - 1
        name = f"segment {first:020d}"
        if not res.check(f"{name} starts at the next sequence", first == seq,
                         f"first sequence {first}, want {seq} (records missing or duplicated)"):
            return None
        if "jsonl" in files:
            seq, prev = read_jsonl(files["jsonl"], name, seq, prev, last_segment, log, res)
            if seq is None:
                return None
            if "seal" in files:
                res.check(f"{name} has a seal or records, not both", False,
                          "both .jsonl and .seal present")
        elif "seal" in files:
            seq, prev = read_seal(files, name, first, prev, log, res)
            if seq is None:
                return None
        else:
            res.check(f"{name} has records", False, "only a .leaves file, no .jsonl or .seal")
            return None
    return log


def read_seal(files: dict[str, Path], name: str, first: int, prev: bytes,
              log: DiskLog, res: Results) -> tuple[int | None, bytes]:
    try:
        seal = json.loads(files["seal"].read_text(encoding="utf-8"), object_pairs_hook=no_dupes)
        records = seal["records"]
        last_chain = bytes.fromhex(seal["last_chain"])
        ok = (isinstance(records, int) and records > 0 and seal["first_seq"] == first
              and len(last_chain) == HASH_LEN)
        detail = "" if ok else f"first_seq {seal.get('first_seq')!r}, records {records!r}, last_chain"
    except (OSError, ValueError, KeyError, TypeError) as e:
        ok, detail = False, f"{type(e).__name__}: {e}"
    if not res.check(f"{name} seal", ok, detail):
        return None, prev
    leaves_path = files.get("leaves")
    data = leaves_path.read_bytes() if leaves_path else b""
    if not res.check(f"{name} leaves", len(data) == HASH_LEN * records,
                     f"{len(data)} bytes of leaf hashes, want {HASH_LEN} x {records}"):
        return None, prev
    for i in range(records):
        log.leaves.append(data[i * HASH_LEN:(i + 1) * HASH_LEN])
        log.times.append(None)
        log.kinds.append(None)
    # The chain cannot be recomputed across retired records; it goes on from last_chain.
    return first + records, last_chain


def read_jsonl(path: Path, name: str, seq: int, prev: bytes, last_segment: bool,
               log: DiskLog, res: Results) -> tuple[int | None, bytes]:
    data = path.read_bytes()
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    if tail:
        if last_segment:
            log.torn_bytes = len(tail)
            print(f"info: torn write: the last {len(tail)} bytes of {path.name} are not a "
                  f"whole line (never acknowledged), ignored")
        else:
            res.check(f"{name} ends with a whole line", False,
                      f"{len(tail)} bytes without a newline in a segment that is not the last")
            return None, prev
    bad: list[tuple[str, str]] = []
    for n, line in enumerate(lines):
        where = f"record {seq} ({path.name} line {n + 1})"
        m = LINE_TAIL.search(line)
        if not line.startswith(b'{"record":') or not m:
            res.check(f"{where} line format", False,
                      'not {"record":...,"leaf":"<hex>","prev":"<hex>","hash":"<hex>"}')
            return None, prev
        raw = line[len(b'{"record":'):m.start()]
        leaf, lprev, lhash = (bytes.fromhex(g.decode()) for g in m.groups())
        mine = leaf_hash(raw)
        problems = []
        if leaf != mine:
            problems.append(f"leaf {leaf.hex()} != SHA-256(0x00||record) {mine.hex()}: modified")
        if lprev != prev:
            problems.append(f"prev {lprev.hex()} != the previous record's hash {prev.hex()}")
        want = chain_hash(prev, mine)
        if lhash != want:
            problems.append(f"hash {lhash.hex()} != chain hash {want.hex()}")
        try:
            obj = json.loads(raw.decode("utf-8"), object_pairs_hook=no_dupes)
            if not isinstance(obj, dict):
                raise ValueError(f"top level is {type(obj).__name__}, not an object")
        except (UnicodeDecodeError, ValueError) as e:
            obj = None
            problems.append(f"record is not a JSON object: {e}")
        t = None
        kind = None
        if obj is not None:
            if obj.get("v") != 2:
                problems.append(f"v {obj.get('v')!r}, want 2")
            if obj.get("seq") != seq or isinstance(obj.get("seq"), bool):
                problems.append(f"seq {obj.get('seq')!r}, want {seq}")
            if not isinstance(obj.get("id"), str) or not obj.get("id"):
                problems.append(f"id {obj.get('id')!r} is not a non-empty string")
            kind = obj.get("kind")
            if not isinstance(kind, str) or not kind:
                problems.append(f"kind {kind!r} is not a non-empty string")
            at = obj.get("recorded_at")
            t = rfc3339_nanos(at, utc_only=True) if isinstance(at, str) else None
            if t is None:
                problems.append(f"recorded_at {at!r} is not an RFC 3339 UTC time")
            missing = [f for f in ("attributes", "categories", "body") if f not in obj]
            if missing:
                problems.append(f"no {', '.join(missing)}")
        if problems:
            bad.append((where, "; ".join(problems)))
        log.leaves.append(mine)  # the hash computed here, never the stored one
        log.times.append(t)
        log.kinds.append(kind if isinstance(kind, str) else None)
        prev = lhash  # a bad record is reported once, not again by every one after it
        seq += 1
    for where, detail in bad:
        res.check(where, False, detail)
    res.check(f"{name}: {len(lines)} records (leaf, chain, seq, fields)", not bad,
              f"{len(bad)} bad records")
    return seq, prev


@dataclass
class DiskCheckpoint:
    line: int
    origin: str
    tree_size: int
    root: bytes
    time: int   # the signed time (from the note), unix nanos
    note: bytes


def read_checkpoints(path: Path, pub, raw_pub: bytes, tree: Tree,
                     res: Results) -> list[DiskCheckpoint]:
    """Every checkpoint in checkpoints.jsonl, each checked on its own (signature,
    note vs fields, key id, root vs the records) and against the one before
    (sizes never decrease); returns the valid ones in order."""
    if not path.exists():
        print(f"info: {path} does not exist: no record is signed")
        return []
    out: list[DiskCheckpoint] = []
    origin = None
    last_size = 0
    n = len(tree.leaves)
    text = path.read_bytes()
    lines = text.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    else:
        res.check("checkpoints.jsonl ends with a whole line", False,
                  f"the last {len(lines[-1])} bytes are not a whole line")
        lines.pop()
    for i, line in enumerate(lines, start=1):
        name = f"checkpoint line {i}"
        try:
            o = json.loads(line.decode("utf-8"), object_pairs_hook=no_dupes)
            cp = CheckpointView(
                origin=o["origin"], tree_size=o["tree_size"], root_hash=bytes.fromhex(o["root"]),
                ts_seconds=o["unix_nanos"] // SECOND, ts_nanos=o["unix_nanos"] % SECOND,
                signature=base64.b64decode(o["signature"], validate=True), key_id=o["key_id"],
                note=o["note"].encode("utf-8"), signed_note="")
            if not (isinstance(cp.tree_size, int) and cp.tree_size >= 0
                    and isinstance(o["unix_nanos"], int) and isinstance(o["time"], str)):
                raise ValueError("tree_size / unix_nanos not integers or time not a string")
        except (UnicodeDecodeError, ValueError, KeyError, TypeError, binascii.Error) as e:
            res.check(f"{name} parses", False, f"{type(e).__name__}: {e}")
            continue
        name = f"checkpoint {cp.tree_size} (line {i})"
        found = checkpoint_problems(cp, pub)
        found.pop("signed_note", None)  # not stored on disk
        # The signed time: exactly unix_nanos, and the `time` field.
        times = [ln[5:] for ln in cp.note.decode("utf-8", "replace").split("\n")
                 if ln.startswith("time ")]
        signed = rfc3339_nanos(times[0]) if len(times) == 1 else None
        if signed is None or signed != o["unix_nanos"] or o["time"] != times[0]:
            found["time"] = (f"signed time {times[:1]} vs unix_nanos {o['unix_nanos']} "
                             f"and time {o['time']!r}")
        for check in ("signature", "note fields", "key_id", "time"):
            res.check(f"{name} {check}", check not in found, found.get(check, ""))
        if found:
            continue
        if origin is None:
            origin = cp.origin
        res.check(f"{name} origin", cp.origin == origin,
                  f"origin {cp.origin!r}, earlier checkpoints {origin!r}")
        if not res.check(f"{name} size <= records", cp.tree_size <= n,
                         f"tree_size {cp.tree_size}, but the log has {n} records: "
                         f"records were removed"):
            continue
        res.check(f"{name} root == MTH of the first {cp.tree_size} records",
                  tree.root(cp.tree_size) == cp.root_hash,
                  f"signed root {cp.root_hash.hex()}, computed {tree.root(cp.tree_size).hex()}: "
                  f"records were changed")
        res.check(f"{name} size does not decrease", cp.tree_size >= last_size,
                  f"tree_size {cp.tree_size} after {last_size}")
        last_size = max(last_size, cp.tree_size)
        out.append(DiskCheckpoint(i, cp.origin, cp.tree_size, cp.root_hash, signed, cp.note))
    return out


def timeliness(log: DiskLog, cps: list[DiskCheckpoint], w: int, h: int, res: Results) -> None:
    """Records must be signed within W of being written; gaps in the signing
    are explained only by a crash (a tail of at most W) or an operator's
    acceptance on the record. Times in nanoseconds."""
    idle = h + w if h > 0 else None
    n = len(log.times)

    def last_signature_before(first_seq: int, oldest: int) -> DiskCheckpoint | None:
        cands = [c for c in cps if c.tree_size <= first_seq and c.time <= oldest]
        return max(cands, key=lambda c: c.time) if cands else None

    def idle_check(name: str, first_seq: int, oldest: int) -> None:
        if idle is None:
            return
        s = last_signature_before(first_seq, oldest)
        if s is not None:
            res.check(name, oldest - s.time <= idle,
                      f"record {first_seq} written {(oldest - s.time) / SECOND:.3f}s after "
                      f"checkpoint {s.tree_size} ({fmt_nanos(s.time)}), more than the idle bound "
                      f"{idle / SECOND:.3f}s: written long after the last signature: "
                      f"records added after the fact")

    prev = 0
    accepted = 0
    for c in cps:
        if c.tree_size <= prev:
            continue
        seqs = [s for s in range(prev, c.tree_size) if log.times[s] is not None]
        late = [s for s in seqs if c.time - log.times[s] > w]
        name = f"checkpoint {c.tree_size} signed records {prev}..{c.tree_size - 1} in time"
        if not late:
            res.check(name, True)
        elif log.kinds[c.tree_size - 1] == ACCEPTED_KIND:
            accepted += len(late)
            print(f"info: {len(late)} records signed late by checkpoint {c.tree_size} were "
                  f"accepted by the operator (record {c.tree_size - 1} is {ACCEPTED_KIND})")
            res.check(name + " (accepted)", True)
        else:
            oldest = min(log.times[s] for s in late)
            newest = max(log.times[s] for s in seqs)
            res.check(name, newest - oldest <= w,
                      f"records {late[0]}..{late[-1]} ({fmt_nanos(oldest)} on) were signed only by "
                      f"checkpoint {c.tree_size} at {fmt_nanos(c.time)}, and span "
                      f"{(newest - oldest) / SECOND:.3f}s > window {w / SECOND:.3f}s: "
                      f"signed late: checkpoints missing or records added")
            idle_check(f"checkpoint {c.tree_size}: late records follow a signature", late[0], oldest)
        prev = c.tree_size
    if accepted:
        print(f"info: {accepted} records accepted unsigned")

    tail = [s for s in range(prev, n) if log.times[s] is not None]
    if n > prev:
        print(f"info: {n - prev} records unsigned (after checkpoint {prev})")
    if tail:
        oldest = min(log.times[s] for s in tail)
        newest = max(log.times[s] for s in tail)
        res.check(f"unsigned tail {prev}..{n - 1} is a crash tail", newest - oldest <= w,
                  f"records {prev}..{n - 1} are covered by no checkpoint and span "
                  f"{(newest - oldest) / SECOND:.3f}s > window {w / SECOND:.3f}s: "
                  f"checkpoints missing or records added")
        idle_check(f"unsigned tail {prev}..{n - 1} follows a signature", tail[0], oldest)


def parse_vkey(text: str) -> tuple[str, bytes, object]:
    """`<name>+<hex key id>+<base64(0x04 || key)>` -> (name, key id, public key)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    parts = text.split("+", 2)  # the name has no "+"; the base64 key may
    if len(parts) != 3 or not parts[0]:
        raise ValueError(f"vkey {text!r} is not <name>+<key id>+<key>")
    name, hid, b64 = parts
    try:
        kid = bytes.fromhex(hid)
        blob = base64.b64decode(b64, validate=True)
    except (ValueError, binascii.Error) as e:
        raise ValueError(f"vkey {text!r}: {e}") from None
    if len(kid) != 4 or len(blob) != 33 or blob[0] != COSIGNATURE_V1:
        raise ValueError(f"vkey {text!r} is not a cosignature/v1 (0x04) Ed25519 key")
    want = sha256(name.encode() + b"\n" + blob).hex()[:8]
    if hid != want:
        raise ValueError(f"vkey {text!r}: key id {hid} != SHA-256(name || \\n || key)[:4] {want}")
    return name, kid, Ed25519PublicKey.from_public_bytes(blob[1:])


def split_signed_note(text: str) -> tuple[str, list[tuple[str, bytes]]]:
    """C2SP signed-note: body, a blank line, signature lines `— <name> <base64>`."""
    idx = text.rfind("\n\n")
    if idx < 0 or not text.endswith("\n"):
        raise ValueError("no blank line between body and signatures, or no final newline")
    body, sigs = text[:idx + 1], text[idx + 2:-1].split("\n")
    out = []
    for line in sigs:
        m = re.fullmatch(EM_DASH + r" (\S+) (\S+)", line)
        if not m:
            raise ValueError(f"malformed signature line {line!r}")
        out.append((m.group(1), base64.b64decode(m.group(2), validate=True)))
    return body, out


def check_witness(vkey: str, wdir: Path, pub, raw_pub: bytes, tree: Tree,
                  res: Results) -> None:
    from cryptography.exceptions import InvalidSignature
    try:
        wname, kid, wpub = parse_vkey(vkey)
    except ValueError as e:
        res.check("witness vkey", False, str(e))
        return
    path = wdir / f"{kid.hex()}.note"
    name = f"witness {wname} note"
    if not res.check(f"{name} present", path.exists(),
                     f"{path} does not exist: nothing cosigned by {wname} to compare the log with"):
        return
    try:
        body, sigs = split_signed_note(path.read_text(encoding="utf-8"))
        lines = body[:-1].split("\n")
        origin = lines[0]
        size = int(lines[1]) if DECIMAL.match(lines[1]) else None
        root = base64.b64decode(lines[2], validate=True)
        if size is None or len(root) != HASH_LEN:
            raise ValueError(f"bad size {lines[1]!r} or root")
    except (OSError, UnicodeDecodeError, ValueError, IndexError, binascii.Error) as e:
        res.check(f"{name} parses", False, f"{type(e).__name__}: {e}")
        return
    # The log's own signature.
    log_hash = c2sp_key_hash(origin, raw_pub)
    ok = False
    for n_, blob in sigs:
        if n_ == origin and blob[:4] == log_hash and len(blob) == 4 + SIG_LEN:
            try:
                pub.verify(blob[4:], body.encode())
                ok = True
            except InvalidSignature:
                pass
    res.check(f"{name} carries the log's signature", ok,
              f"no valid signature by {origin} {log_hash.hex()}")
    # The witness's cosignature (cosignature/v1).
    cos = None
    for n_, blob in sigs:
        if n_ == wname and blob[:4] == kid and len(blob) == 4 + 8 + SIG_LEN:
            ts = int.from_bytes(blob[4:12], "big")
            msg = f"cosignature/v1\ntime {ts}\n".encode() + body.encode()
            try:
                wpub.verify(blob[12:], msg)
                cos = ts
            except InvalidSignature:
                pass
    res.check(f"{name} carries a valid cosignature", cos is not None,
              f"no valid cosignature/v1 by {wname} {kid.hex()}")
    n = len(tree.leaves)
    if not res.check(f"{name}: the witness's size {size} <= records", size <= n,
                     f"{wname} cosigned size {size}, but the log has {n} records: "
                     f"records were removed"):
        return
    res.check(f"{name}: root of size {size} reproduced by the records", tree.root(size) == root,
              f"{wname} cosigned root {root.hex()}, the records give {tree.root(size).hex()}: "
              f"records were changed")
    if cos is not None:
        print(f"info: witness {wname} cosigned size {size} at {cos}")


def offline(args: argparse.Namespace, res: Results) -> int:
    """Checks a data directory: segments, checkpoints, timeliness, witness notes."""
    keys = checked_public_key(args.public_key, res)
    if keys is None:
        return res.summary()
    pub, raw_pub = keys
    audit = Path(args.data_dir) / "audit"
    log = read_segments(audit / "segments", res)
    if log is None:
        return res.summary()
    tree = Tree(log.leaves)
    cps = read_checkpoints(audit / "checkpoints.jsonl", pub, raw_pub, tree, res)
    if args.no_timeliness:
        print("info: timeliness not checked (--no-timeliness)")
    else:
        w = (args.checkpoint_interval_ms + args.checkpoint_grace_ms) * MS
        timeliness(log, cps, w, args.heartbeat_ms * MS, res)
    for vkey in args.witness_vkey:
        check_witness(vkey, audit / "witness", pub, raw_pub, tree, res)
    print(f"info: {len(log.leaves)} records, {len(cps)} valid checkpoints")
    return res.summary()


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Independent RFC 9162 verifier for Warden's audit log")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--target", help="Warden gRPC host:port (default 127.0.0.1:50051)")
    where.add_argument("--data-dir", help="offline: check the log under DIR/audit on disk")
    p.add_argument("--public-key", required=True,
                   help="PEM: SubjectPublicKeyInfo 'PUBLIC KEY' or PKCS#8 Ed25519 'PRIVATE KEY'")
    p.add_argument("--timeout", type=float, default=10.0, help="per-call deadline, seconds")
    p.add_argument("--seed", type=int, default=9162, help="seed for sampling leaves")
    p.add_argument("-v", "--verbose", action="store_true", help="also print passed checks")
    off = p.add_argument_group("offline mode (--data-dir)")
    off.add_argument("--checkpoint-interval-ms", type=int, default=2000,
                     help="the log's checkpoint interval (default 2000)")
    off.add_argument("--checkpoint-grace-ms", type=int, default=30000,
                     help="grace on top of the interval: W = interval + grace (default 30000)")
    off.add_argument("--heartbeat-ms", type=int, default=300000,
                     help="heartbeat checkpoint period, 0 = off; idle bound = heartbeat + W "
                          "(default 300000)")
    off.add_argument("--no-timeliness", action="store_true",
                     help="do not check that records were signed in time")
    off.add_argument("--witness-vkey", action="append", default=[], metavar="VKEY",
                     help="a witness verifier key <name>+<hex id>+<base64>; its note under "
                          "audit/witness/ must be cosigned and reproduced (repeatable)")
    args = p.parse_args()
    if args.data_dir is None:
        if args.target is None:
            args.target = "127.0.0.1:50051"
        offline_only = [f for f, v in (("--witness-vkey", args.witness_vkey),
                                       ("--no-timeliness", args.no_timeliness)) if v]
        if offline_only:
            p.error(f"{', '.join(offline_only)} need --data-dir")
    if min(args.checkpoint_interval_ms, args.checkpoint_grace_ms, args.heartbeat_ms) < 0:
        p.error("--checkpoint-interval-ms, --checkpoint-grace-ms, --heartbeat-ms must be >= 0")
    return args


def main() -> int:
    args = parse_args()
    res = Results(args.verbose)

    # 0. The RFC code itself, before trusting it with the server's data.
    problems = self_test()
    res.check("self-test RFC 9162 algorithms", not problems, "; ".join(problems[:5]))

    if args.data_dir is not None:
        try:
            import cryptography  # noqa: F401
        except ImportError as e:
            res.check("imports", False, f"{e}; install deps with {sys.executable} -m pip install "
                      f"-r {PY_DIR / 'requirements.txt'}")
            return res.summary()
        return offline(args, res)

    if not ensure_stubs(res):
        return res.summary()
    try:
        import grpc
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from warden.v1 import audit_pb2, audit_pb2_grpc
    except ImportError as e:
        res.check("imports", False, f"{e}; install deps with {sys.executable} -m pip install "
                  f"-r {PY_DIR / 'requirements.txt'}")
        return res.summary()
    if not stub_fields_ok(res, audit_pb2):
        return res.summary()

    keys = checked_public_key(args.public_key, res)
    if keys is None:
        return res.summary()
    pub, raw_pub = keys

    channel = grpc.insecure_channel(args.target)
    try:
        grpc.channel_ready_future(channel).result(timeout=args.timeout)
    except grpc.FutureTimeoutError:
        res.check("connect", False, f"cannot connect to {args.target} within {args.timeout}s")
        return res.summary()
    stub = audit_pb2_grpc.AuditServiceStub(channel)
    t = args.timeout

    def rpc(name, fn, *a):
        try:
            return fn(*a, timeout=t)
        except grpc.RpcError as e:
            res.check(name, False, f"RPC error {e.code().name}: {e.details()}")
            return None

    # 1. Checkpoint.
    msg = rpc("GetCheckpoint", stub.GetCheckpoint, audit_pb2.GetCheckpointRequest())
    if msg is None:
        return res.summary()
    cp = CheckpointView(
        origin=msg.origin, tree_size=msg.tree_size, root_hash=bytes(msg.root_hash),
        ts_seconds=msg.timestamp.seconds, ts_nanos=msg.timestamp.nanos,
        signature=bytes(msg.signature), key_id=msg.key_id, note=bytes(msg.note),
        signed_note=msg.signed_note)
    found = checkpoint_problems(cp, pub)
    for name in ("signature", "note fields", "key_id", "signed_note"):
        res.check(f"checkpoint {name}", name not in found, found.get(name, ""))
    n = cp.tree_size
    root = cp.root_hash

    # 2. Records 0..n-1.
    records = []
    stream = None
    try:
        stream = stub.Tail(audit_pb2.TailRequest(from_sequence=0, follow=False), timeout=t)
        if n > 0:
            for r in stream:
                records.append(r)
                if len(records) >= n:
                    break
    except grpc.RpcError as e:
        res.check("Tail", False, f"RPC error {e.code().name}: {e.details()} "
                  f"after {len(records)} records")
    finally:
        if stream is not None:
            stream.cancel()
    res.check("Tail returns tree_size records", len(records) == n,
              f"got {len(records)} records, checkpoint tree_size is {n}")

    leaves: list[bytes] = []
    for i, r in enumerate(records):
        res.check(f"record {i} sequence", r.sequence == i, f"sequence {r.sequence}, want {i}")
        res.check(f"record {i} leaf_index", r.leaf_index == i, f"leaf_index {r.leaf_index}, want {i}")
        entry = bytes(r.canonical_entry)
        lh = leaf_hash(entry)
        res.check(f"record {i} leaf_hash", bytes(r.leaf_hash) == lh,
                  f"leaf_hash {bytes(r.leaf_hash).hex()} != SHA-256(0x00||entry) {lh.hex()}")
        leaves.append(lh)  # the hash we computed, never the one we were sent

        def no_dupes(pairs):
            keys = [k for k, _ in pairs]
            if len(keys) != len(set(keys)):
                raise ValueError(f"duplicate keys {sorted(k for k in set(keys) if keys.count(k) > 1)}")
            return dict(pairs)
        try:
            obj = json.loads(entry.decode("utf-8"), object_pairs_hook=no_dupes)
            ok = isinstance(obj, dict)
            detail = "" if ok else f"top level is {type(obj).__name__}, not an object"
        except (UnicodeDecodeError, ValueError) as e:
            obj, ok, detail = None, False, str(e)
        if res.check(f"record {i} canonical_entry JSON", ok, detail):
            bad = []
            if obj.get("seq") != r.leaf_index or obj.get("seq") != r.sequence:
                bad.append(f"seq {obj.get('seq')!r} (leaf_index {r.leaf_index}, sequence {r.sequence})")
            if obj.get("id") != r.record_id:
                bad.append(f"id {obj.get('id')!r} != record_id {r.record_id!r}")
            if obj.get("kind") != r.kind:
                bad.append(f"kind {obj.get('kind')!r} != kind {r.kind!r}")
            if "v" not in obj:
                bad.append("no 'v' field")
            res.check(f"record {i} canonical_entry fields", not bad, "; ".join(bad))
    if len(leaves) != n:
        # Without every leaf nothing below can be computed independently.
        return res.summary()

    # 3. Tree head.
    tree = Tree(leaves)
    mine = tree.root(n)
    head_ok = res.check("tree head recomputed from leaves == checkpoint root", mine == root,
                        f"computed {mine.hex()}, checkpoint {root.hex()}")
    # The expected proofs (RFC 9162 2.1.3.1 / 2.1.4.1) are only meaningful
    # when the leaves we were given are the ones the checkpoint commits to.

    # 4. Inclusion proofs.
    rng = random.Random(args.seed)
    if n <= SAMPLE:
        indices = list(range(n))
    else:
        indices = sorted({0, n - 1} | set(rng.sample(range(1, n - 1), SAMPLE - 2)))
    proofs: dict[int, list[bytes]] = {}
    for i in indices:
        p = rpc(f"inclusion proof {i}", stub.GetInclusionProof,
                audit_pb2.GetInclusionProofRequest(leaf_index=i, tree_size=n))
        if p is None:
            continue
        hashes = [bytes(h) for h in p.hashes]
        proofs[i] = hashes
        res.check(f"inclusion proof {i} echoes (index, size)",
                  (p.leaf_index, p.tree_size) == (i, n),
                  f"got ({p.leaf_index}, {p.tree_size}), asked ({i}, {n})")
        res.check(f"inclusion proof {i} verifies (RFC 9162 2.1.3.2)",
                  verify_inclusion(i, n, leaves[i], hashes, root),
                  f"{len(hashes)} hashes do not lead to the checkpoint root")
        if head_ok:
            res.check(f"inclusion proof {i} == PATH({i}, D[{n}])", hashes == tree.path(i, n),
                      "differs from RFC 9162 2.1.3.1")

    # 5. Consistency proofs.
    firsts = sorted({m for m in (1, 2, n // 2, n - 1, n) if 1 <= m <= n})
    cproofs: dict[int, list[bytes]] = {}
    for m in firsts:
        p = rpc(f"consistency proof {m}->{n}", stub.GetConsistencyProof,
                audit_pb2.GetConsistencyProofRequest(first_size=m, second_size=n))
        if p is None:
            continue
        hashes = [bytes(h) for h in p.hashes]
        cproofs[m] = hashes
        res.check(f"consistency proof {m}->{n} echoes sizes",
                  (p.first_size, p.second_size) == (m, n),
                  f"got ({p.first_size}, {p.second_size}), asked ({m}, {n})")
        res.check(f"consistency proof {m}->{n} verifies (RFC 9162 2.1.4.2)",
                  verify_consistency(m, n, tree.root(m), mine, hashes),
                  f"{len(hashes)} hashes do not link MTH(D[{m}]) to MTH(D[{n}])")
        if head_ok:
            res.check(f"consistency proof {m}->{n} == PROOF({m}, D[{n}])",
                      hashes == tree.proof(m, n), "differs from RFC 9162 2.1.4.1")

    # 6. Negative checks: each forgery must be rejected.
    def reject(name: str, accepted: bool) -> None:
        res.check(f"rejects {name}", not accepted, "forgery was accepted")

    # 6a. Inclusion proof with one flipped bit (every hash of the longest proof).
    if proofs:
        i = max(proofs, key=lambda k: (len(proofs[k]), -k))
        p = proofs[i]
        if p:
            for j in range(len(p)):
                bad = p[:j] + [flip_bit(p[j], rng.randrange(HASH_LEN * 8))] + p[j + 1:]
                reject(f"inclusion proof {i} with a bit flipped in hash {j}",
                       verify_inclusion(i, n, leaves[i], bad, root))
            reject(f"inclusion proof {i} with a hash missing",
                   verify_inclusion(i, n, leaves[i], p[:-1], root))
        reject(f"inclusion proof {i} with an extra hash",
               verify_inclusion(i, n, leaves[i], p + [root], root))
        reject(f"inclusion proof {i} for a leaf with a bit flipped",
               verify_inclusion(i, n, flip_bit(leaves[i], 7), p, root))
        reject(f"inclusion proof {i} against a root with a bit flipped",
               verify_inclusion(i, n, leaves[i], p, flip_bit(root, 100)))

        # 6b. Wrong leaf index: the proof of leaf i claimed for other indices.
        wrong = [w for w in range(n + 1) if w != i]
        if len(wrong) > SAMPLE:
            wrong = sorted({n} | set(rng.sample(wrong, SAMPLE - 1)))
        accepted = [w for w in wrong if verify_inclusion(w, n, leaves[i], p, root)]
        res.check(f"rejects inclusion proof {i} at {len(wrong)} wrong leaf indices",
                  not accepted, f"accepted at indices {accepted[:10]}")
        if n >= 2:
            o = (i + 1) % n
            reject(f"inclusion proof {i} used for leaf {o}'s hash",
                   verify_inclusion(i, n, leaves[o], p, root))

    # Consistency proof with one flipped bit, or with a wrong first root.
    cm = [m for m in cproofs if m < n and cproofs[m]]
    if cm:
        m = max(cm, key=lambda k: len(cproofs[k]))
        p = cproofs[m]
        for j in range(len(p)):
            bad = p[:j] + [flip_bit(p[j], rng.randrange(HASH_LEN * 8))] + p[j + 1:]
            reject(f"consistency proof {m}->{n} with a bit flipped in hash {j}",
                   verify_consistency(m, n, tree.root(m), mine, bad))
        reject(f"consistency proof {m}->{n} with a wrong first root",
               verify_consistency(m, n, tree.root(m + 1), mine, p))
        reject(f"consistency proof {m}->{n} with a wrong first size",
               verify_consistency(m + 1, n, tree.root(m), mine, p))

    # 6c. Checkpoint note with a changed size (and matching fields, so only the
    #     signature can catch it), and with a changed root.
    text = cp.note.decode("utf-8", errors="replace")
    lines = text.split("\n")
    if len(lines) >= 4 and DECIMAL.match(lines[1]):
        forged = "\n".join([lines[0], str(int(lines[1]) + 1)] + lines[2:])
        fcp = replace(cp, tree_size=cp.tree_size + 1, note=forged.encode(),
                      signed_note=signed_note_for(forged, cp.origin,
                                                  c2sp_key_hash(cp.origin, raw_pub), cp.signature))
        fp = checkpoint_problems(fcp, pub)
        res.check("rejects checkpoint note with a changed size",
                  "signature" in fp and "signed_note" in fp,
                  f"problems found: {fp or 'none'}")
        fp = checkpoint_problems(replace(cp, note=forged.encode()), pub)
        res.check("rejects checkpoint note whose size differs from tree_size",
                  "signature" in fp and "note fields" in fp, f"problems found: {fp or 'none'}")
        other_root = flip_bit(cp.root_hash, 1)
        forged = "\n".join(lines[:2] + [base64.b64encode(other_root).decode()] + lines[3:])
        fp = checkpoint_problems(replace(cp, root_hash=other_root, note=forged.encode()), pub)
        res.check("rejects checkpoint note with a changed root", "signature" in fp,
                  f"problems found: {fp or 'none'}")
    else:
        res.check("rejects checkpoint note with a changed size", False,
                  "note too malformed to forge")

    # 6d. Signature by a different key.
    other = Ed25519PrivateKey.generate()
    other_pub_raw = other.public_key().public_bytes(serialization.Encoding.Raw,
                                                    serialization.PublicFormat.Raw)
    osig = other.sign(cp.note)
    fcp = replace(cp, signature=osig,
                  signed_note=signed_note_for(text, cp.origin,
                                              c2sp_key_hash(cp.origin, raw_pub), osig))
    fp = checkpoint_problems(fcp, pub)
    res.check("rejects checkpoint signed by a different key",
              "signature" in fp and "signed_note" in fp, f"problems found: {fp or 'none'}")
    fcp = replace(cp, signature=osig,
                  key_id=c2sp_key_hash(cp.origin, other_pub_raw).hex(),
                  signed_note=signed_note_for(text, cp.origin,
                                              c2sp_key_hash(cp.origin, other_pub_raw), osig))
    fp = checkpoint_problems(fcp, pub)
    res.check("rejects checkpoint fully re-signed by a different key",
              "signature" in fp and "key_id" in fp and "signed_note" in fp,
              f"problems found: {fp or 'none'}")
    fp = checkpoint_problems(cp, other.public_key())
    res.check("rejects genuine checkpoint under a different public key",
              "signature" in fp and "key_id" in fp, f"problems found: {fp or 'none'}")

    channel.close()
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
