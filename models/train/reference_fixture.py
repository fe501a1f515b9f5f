"""Writes the Rust parity fixture for the shipped model on *this* CPU.

ONNX Runtime picks its int8 GEMM kernel by CPU features. The shipped model is quantised with reduce_range
(7-bit weights, export.py), and then the VNNI and AVX2 kernels give the same numbers (2026-12-05: largest
difference 1e-6 over the 12 reference texts, native on an AMD EPYC with AVX-512 VNNI against user-mode QEMU
presenting a Haswell CPU), so one fixture, tests/fixtures/models/reference.jsonl, holds for both. The
earlier model, quantised without it, differed by up to 0.047 and needed a fixture per kernel path.

    python reference_fixture.py --out /tmp/ref-native.jsonl
    qemu-x86_64 -cpu Haswell "$(command -v python)" reference_fixture.py --out /tmp/ref-avx2.jsonl
"""
import argparse
import json
import os

from evaluate import reference

HERE = os.path.dirname(os.path.abspath(__file__))
DEST = os.path.join(HERE, "..", "warden-minilm")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    th = json.load(open(os.path.join(DEST, "manifest.json")))["thresholds"]
    rows = reference(os.path.join(DEST, "model.int8.onnx"), os.path.join(DEST, "tokenizer.json"), th, args.out)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
