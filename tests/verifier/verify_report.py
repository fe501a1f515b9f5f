#!/usr/bin/env python3
"""Independent check of a Warden compliance report and its evidence bundle.

    python3 tests/verifier/verify_report.py REPORT_DIR [--public-key PEM]

REPORT_DIR is what `warden report --out` wrote: report.json, report.html and
evidence/. Uses the RFC 9162 and C2SP code of verify_log.py (written from
the specifications, not from Warden's Rust) and nothing of Warden's own.

Checks:
  1. every file's SHA-256 against evidence/MANIFEST.json, and the two
     reports' hashes against it;
  2. each checkpoint: the Ed25519 signature over its note with the public
     key (by default evidence/public-key.pem; pass the key you obtained
     independently with --public-key), and its key id;
  3. an RFC 9162 consistency proof between each pair of successive
     checkpoints, so they are all views of one append-only log;
  4. the checkpoints are in order (sizes and times) and the latest was
     signed after the period ended (or when the report was made), so every
     record of the period lies under it;
  5. report_record.json: the leaf hash of its exact bytes, its inclusion in
     the latest checkpoint, that it is a `report_generated` record for this
     framework and period, and that it holds report.json's SHA-256;
  6. negative checks: a changed byte in report.json, a changed proof hash
     and a checkpoint signed by another key must each be caught.

Ends with exactly `verifier: N passed, M failed`; exit status 0 iff M == 0.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import verify_log as v  # noqa: E402  (same directory)


def sha(b: bytes) -> str:
    return "sha256:" + hashlib.sha256(b).hexdigest()


def rfc3339_seconds(s: str) -> int:
    parsed = v.parse_rfc3339(s)
    if parsed is None:
        raise ValueError(f"not RFC 3339: {s!r}")
    return parsed[0]


def checkpoint_ok(cp: dict, pub, raw_pub: bytes) -> str | None:
    from cryptography.exceptions import InvalidSignature
    note = cp["note"].encode()
    try:
        pub.verify(base64.b64decode(cp["signature"]), note)
    except (InvalidSignature, ValueError):
        return "signature does not verify"
    lines = cp["note"].split("\n")
    if lines[0] != cp["origin"] or int(lines[1]) != cp["tree_size"]:
        return "note does not match its fields"
    if base64.b64decode(lines[2]) != bytes.fromhex(cp["root"]):
        return "note root differs from the root field"
    if v.c2sp_key_hash(cp["origin"], raw_pub).hex() != cp["key_id"]:
        return "key id is not the C2SP hash of this key"
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report_dir")
    ap.add_argument("--public-key", help="PEM public key (default: evidence/public-key.pem)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    res = v.Results(args.verbose)
    root = Path(args.report_dir)
    ev = root / "evidence"
    from cryptography.hazmat.primitives import serialization

    manifest = json.loads((ev / "MANIFEST.json").read_text())
    report_json = (root / "report.json").read_bytes()
    report_html = (root / "report.html").read_bytes()
    report = json.loads(report_json)

    # 1. Digests.
    res.check("manifest.report.json", manifest["report"]["report.json"] == sha(report_json))
    res.check("manifest.report.html", manifest["report"]["report.html"] == sha(report_html))
    for name, digest in manifest["files"].items():
        res.check(f"manifest.{name}", sha((ev / name).read_bytes()) == digest, "digest differs")

    # 2. Checkpoints and their signatures.
    pub = v.load_public_key(args.public_key or str(ev / "public-key.pem"))
    raw_pub = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    cps = [json.loads(l)["checkpoint"] for l in (ev / "checkpoints.jsonl").read_text().splitlines() if l]
    res.check("checkpoints.present", len(cps) >= 1, "no checkpoint")
    bad = [(c["tree_size"], p) for c in cps if (p := checkpoint_ok(c, pub, raw_pub))]
    res.check("checkpoints.signatures", not bad, f"{bad[:3]}")

    # 3. Consistency between successive checkpoints.
    proofs = [json.loads(l) for l in (ev / "consistency_proofs.jsonl").read_text().splitlines() if l]
    res.check("consistency.count", len(proofs) == len(cps) - 1, f"{len(proofs)} proofs, {len(cps)} checkpoints")
    failed = []
    for a, b, p in zip(cps, cps[1:], proofs):
        hashes = [bytes.fromhex(h) for h in p["hashes"]]
        if (p["first_size"], p["second_size"]) != (a["tree_size"], b["tree_size"]) or not v.verify_consistency(
            a["tree_size"], b["tree_size"], bytes.fromhex(a["root"]), bytes.fromhex(b["root"]), hashes
        ):
            failed.append((a["tree_size"], b["tree_size"]))
    res.check("consistency.proofs", not failed, f"{failed[:3]}")

    # 4. Order and coverage: one append-only sequence, and the latest
    # checkpoint signed after the period ended (or at generation, for a
    # period that had not), so every record of the period is under it.
    start, end = rfc3339_seconds(report["period"]["from"]), rfc3339_seconds(report["period"]["to"])
    times = [rfc3339_seconds(c["time"]) for c in cps]
    sizes = [c["tree_size"] for c in cps]
    res.check("checkpoints.ordered", times == sorted(times) and sizes == sorted(sizes))
    res.check("period.start", times[0] <= start or sizes[0] <= 1 or times[0] < end, f"first checkpoint {cps[0]['time']}")
    generated = rfc3339_seconds(report["generated_at"])
    res.check("period.end_covered", times[-1] >= min(end, generated), f"latest checkpoint {cps[-1]['time']}")

    # 5. The report's own record.
    rr = json.loads((ev / "report_record.json").read_text())
    entry = base64.b64decode(rr["entry_b64"])
    leaf = v.leaf_hash(entry)
    latest = cps[-1]
    res.check("record.leaf_hash", leaf.hex() == rr["leaf_hash"])
    path = [bytes.fromhex(h) for h in rr["inclusion_proof"]["hashes"]]
    res.check("record.inclusion", rr["inclusion_proof"]["tree_size"] == latest["tree_size"] and v.verify_inclusion(
        rr["leaf_index"], latest["tree_size"], leaf, path, bytes.fromhex(latest["root"])))
    record = json.loads(entry)
    body = record.get("body", {})
    res.check("record.kind", record.get("kind") == "report_generated", record.get("kind", ""))
    res.check("record.framework", body.get("framework") == report["framework"]["id"])
    res.check("record.period", (body.get("from"), body.get("to")) == (report["period"]["from"], report["period"]["to"]))
    res.check("record.report_sha256", body.get("report_sha256") == sha(report_json))
    res.check("record.html_sha256", body.get("html_sha256") == sha(report_html))
    res.check("record.statuses", body.get("statuses") == {c["id"]: c["status"] for c in report["clauses"]})

    # 6. What must be caught.
    tampered = bytearray(report_json)
    tampered[len(tampered) // 2] ^= 1
    res.check("negative.report_changed", sha(bytes(tampered)) != body.get("report_sha256"))
    if path:
        res.check("negative.proof_changed", not v.verify_inclusion(
            rr["leaf_index"], latest["tree_size"], leaf, [v.flip_bit(path[0])] + path[1:], bytes.fromhex(latest["root"])))
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    other = Ed25519PrivateKey.generate()
    forged = dict(latest, signature=base64.b64encode(other.sign(latest["note"].encode())).decode())
    res.check("negative.other_key", checkpoint_ok(forged, pub, raw_pub) is not None)
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
