"""Writes the evaluation sets exactly as data.py builds them (injection eval, BIPIA indirect,
XSTest) as JSONL files {id, text, label, source}, for the Rust side's rules / model / both
comparison (`cargo run --release --example classifier_eval`). Needs only the standard library:
the training-time augmentation module is not used for evaluation sets.

    python3 models/train/eval_sets.py --data ../shared/data --out /tmp/warden-eval
"""
import argparse
import json
import os
import random
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.modules.setdefault("augment", types.ModuleType("augment"))  # training-only helpers
import data  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(HERE, "../../../shared/data"))
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    ev = data.build_evals(args.data, random.Random(data.SEED))
    for name in ["injection_eval", "bipia_indirect", "xstest"]:
        with open(os.path.join(args.out, f"{name}.jsonl"), "w", encoding="utf-8") as f:
            for r in ev[name]:
                f.write(json.dumps({k: r[k] for k in ("id", "text", "label", "source")}, ensure_ascii=False) + "\n")
        print(name, len(ev[name]))


if __name__ == "__main__":
    main()
