"""Writes the Rust parity fixture for the shipped model on *this* CPU.

ONNX Runtime picks its int8 GEMM kernel by CPU features, and the kernels round differently: on a
CPU with AVX-512 VNNI the probabilities of the shipped model differ from those of
tests/fixtures/models/reference.jsonl (made on an earlier machine without VNNI, where the AVX2 or AVX-512BW kernels ran) by up to 0.047 (measured
2026-11-28 on an AMD EPYC with AVX-512 VNNI, Python onnxruntime 1.31.1; Rust gives the same numbers as
Python on one machine). tests/model.rs reads the fixture of the kernel path it runs on.

    python reference_fixture.py --out ../../tests/fixtures/models/reference.x86-vnni.jsonl

On a VNNI machine the AVX2 fixture comes from the same script under user-mode QEMU presenting a Haswell CPU
(Debian's qemu-user; reproduced the committed reference.jsonl exactly, 2026-12-04):

    qemu-x86_64 -cpu Haswell "$(command -v python)" reference_fixture.py --out ../../tests/fixtures/models/reference.jsonl
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
