"""Contamination check: how much of the evaluation files do the hand-written generators reproduce?

For every eval row, the share of its word 5-grams (character 5-grams in Chinese and Japanese) that
also occur in some generated training row (compose.py attacks and benign pairs, augment.py templates
as data.py wrote them to out/data/injection_train.jsonl with an `aug:` source). Reports exact
duplicates, rows with any shared 5-gram, and rows of which half or more of the 5-grams are shared,
per eval source. Reading the eval file here changes nothing that is trained; it only tells whether a
generator copied eval text.

    python overlap.py [--data out/data]
"""
import argparse
import json
import os
import re
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))


def grams(text, n=5):
    # a CJK character is a word of its own (Chinese has no spaces: run 8 added a Chinese set)
    w = re.findall(r"[\u3040-\u30ff\u4e00-\u9fff]|[^\W\u3040-\u30ff\u4e00-\u9fff]+", text.lower())
    return {" ".join(w[i:i + n]) for i in range(len(w) - n + 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(HERE, "out", "data"))
    args = ap.parse_args()
    train = [json.loads(l) for l in open(os.path.join(args.data, "injection_train.jsonl"), encoding="utf-8")]
    gen = [r["text"] for r in train if r["source"].startswith("aug:")]
    gen_texts = {t.strip().lower() for t in gen}
    bank = set()
    for t in gen:
        bank |= grams(t)
    ev = [json.loads(l) for l in open(os.path.join(args.data, "eval_injection_eval.jsonl"), encoding="utf-8")]
    per = defaultdict(lambda: {"rows": 0, "exact": 0, "any_5gram": 0, "half_5grams": 0})
    for r in ev:
        p = per[(r["source"], r["label"])]
        p["rows"] += 1
        p["exact"] += r["text"].strip().lower() in gen_texts
        g = grams(r["text"])
        if g:
            shared = len(g & bank) / len(g)
            p["any_5gram"] += shared > 0
            p["half_5grams"] += shared >= 0.5
    out = {f"{s} label={l}": v for (s, l), v in sorted(per.items())}
    print(json.dumps({"generated_rows": len(gen), "eval": out}, indent=1))


if __name__ == "__main__":
    main()
