"""Dev-only comparison of decoding rules for a trained head (thresholds re-chosen on dev for each)."""
import json
import os
import sys

import numpy as np

import common
from common import CATEGORIES, OUT, load_jsonl, tokenizer
from metrics import score
from train_head import Head, choose_thresholds, dev_spans, load, predict


def main(head_path):
    h = np.load(head_path)
    cfg = json.loads(str(h["config"]))
    head = Head.__new__(Head)
    head.W1, head.b1, head.W2, head.b2 = h["W1"], h["b1"], h["W2"], h["b2"]
    X, case, y, b = load("dev", cfg["layers"])
    P = predict(head, X, case, b, h["mean"], h["std"], cfg["case"], cfg["ctx"])
    rows = load_jsonl(os.path.join(OUT, "data", "dev.jsonl"))
    tok = tokenizer()
    for name, dec in (("v1 argmax of the 9 labels (the layer comparison used it)", common.decode_v1),
                      ("v2 category sums + leading trim (shipped)", common.decode),
                      ("v2 trimming both ends", lambda *a, **k: common.decode(*a, **k, trim="both")),
                      ("v2 no trim", lambda *a, **k: common.decode(*a, **k, trim="none")),
                      ("v2 trim leading only", lambda *a, **k: common.decode(*a, **k, trim="lead"))):
        th, _ = choose_thresholds(P, b, rows, tok, decoder=dec)
        g, p = dev_spans(P, b, rows, tok, th, dec)
        m = score(g, p, CATEGORIES)
        print(name, th, {c: (m[c]["overlap_f1"], m[c]["exact_f1"]) for c in CATEGORIES}, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
