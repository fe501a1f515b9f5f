"""Checks a graph with the entity head against the shipped one:
  1. identity: every old output (injection, document, toxicity, topic, embedding) is bit-identical on the texts of
     tests/fixtures/models/reference.jsonl (batch 1, and all texts padded into one batch), with and without
     token_case fed; and equal to the fixture's stored numbers as the fixture states them;
  2. latency: old vs new graph on the same inputs in one run, interleaved, 2 threads: p50/p90/p99 ms.
"""
import argparse
import json
import os
import time

import numpy as np

from common import CLS, SEP, MODEL_DIR, REPO, encode, load_jsonl, tokenizer
from infer import session

OLD_OUT = ["injection", "document", "toxicity", "topic", "embedding"]


def feeds(tok, texts, pad_to=None):
    enc = [encode(tok, t) for t in texts]
    L = max(len(e[0]) for e in enc) + 2 if pad_to is None else pad_to
    ids = np.zeros((len(texts), L), np.int64)
    mask = np.zeros_like(ids)
    case = np.zeros_like(ids)
    for b, (i, _, _, c) in enumerate(enc):
        i, c = i[:L - 2], c[:L - 2]
        ids[b, :len(i) + 2] = [CLS] + i + [SEP]
        mask[b, :len(i) + 2] = 1
        case[b, 1:len(c) + 1] = c
    return ids, mask, case


def identity(old, new, tok, texts):
    worst = 0
    ok = True
    for batch in [[t] for t in texts] + [texts]:
        ids, mask, case = feeds(tok, batch)
        a = old.run(OLD_OUT, {"input_ids": ids, "attention_mask": mask})
        for with_case in (True, False):
            f = {"input_ids": ids, "attention_mask": mask}
            if with_case:
                f["token_case"] = case
            b = new.run(OLD_OUT + ["entities"], f)
            for x, y in zip(a, b[:5]):
                if not np.array_equal(x, y):
                    ok = False
                    worst = max(worst, float(np.abs(x - y).max()))
            ent = b[5]
            assert ent.shape == ids.shape + (9,), ent.shape
            assert np.allclose(ent.sum(-1), 1, atol=1e-5)
    return ok, worst


def bench(old, new, tok, texts, n, batch, seq):
    ids, mask, case = feeds(tok, texts[:batch], pad_to=seq)
    mask[:] = 1
    fo = {"input_ids": ids, "attention_mask": mask}
    fn = dict(fo, token_case=case)
    for _ in range(5):
        old.run(OLD_OUT, fo)
        new.run(OLD_OUT + ["entities"], fn)
    to, tn = [], []
    for i in range(n):
        order = [(old, OLD_OUT, fo, to), (new, OLD_OUT + ["entities"], fn, tn)]
        if i % 2:
            order.reverse()
        for s, outs, f, acc in order:
            t0 = time.perf_counter()
            s.run(outs, f)
            acc.append((time.perf_counter() - t0) * 1000)
    pct = lambda a: {f"p{q}": round(float(np.percentile(a, q)), 3) for q in (0, 10, 50, 90, 99)}
    po, pn = pct(to), pct(tn)
    return {"batch": batch, "seq": seq, "runs": n, "old_ms": po, "new_ms": pn,
            "p50_increase": round(pn["p50"] / po["p50"] - 1, 4), "mean_increase": round(np.mean(tn) / np.mean(to) - 1, 4),
            "min_increase": round(pn["p0"] / po["p0"] - 1, 4), "p10_increase": round(pn["p10"] / po["p10"] - 1, 4)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", default=os.path.join(MODEL_DIR, "model.int8.onnx"))
    ap.add_argument("--new", required=True)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    tok = tokenizer()
    texts = [r["text"] for r in load_jsonl(os.path.join(REPO, "tests", "fixtures", "models", "reference.jsonl"))]
    old, new = session(args.old), session(args.new)
    ok, worst = identity(old, new, tok, texts)
    print("old outputs bit-identical:", ok, "max abs diff", worst, flush=True)
    long_text = " ".join(texts) * 10
    res = {"identical": ok, "max_abs_diff": worst, "latency": []}
    for batch, seq, n in ((1, 32, args.runs), (1, 128, args.runs), (1, 256, args.runs // 2), (8, 256, args.runs // 8)):
        r = bench(old, new, tok, [long_text] * batch if seq > 64 else texts, n, batch, seq)
        print(json.dumps(r), flush=True)
        res["latency"].append(r)
    if args.json:
        json.dump(res, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
