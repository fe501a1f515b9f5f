"""Latency of several graphs on the same inputs, interleaved in one run (the order alternates every round), with
the server's session settings (1 intra-op thread by default: `model.intra_threads`).

  latency.py --graph bare=out/base.int8.onnx --graph conv=OLD.onnx --graph int8=../../warden-minilm/model.int8.onnx

The first graph is the baseline of the ratios. A graph without an `entities` output is run for the other outputs only.
Prints one JSON line per shape (p10/p50/p90/p99 ms and the p50 ratio against the baseline); --json writes them all.
"""
import argparse
import json
import os
import time

import numpy as np

from check_graph import OLD_OUT, feeds
from common import REPO, load_jsonl, tokenizer
from infer import session


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--graph", action="append", required=True, help="NAME=PATH, the first is the baseline")
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    graphs = []
    for g in args.graph:
        name, sep, path = g.partition("=")
        if not sep or not os.path.exists(path):
            raise SystemExit(f"latency: --graph wants NAME=PATH of an existing file, got {g!r}")
        s = session(path, args.threads)
        outs = [o.name for o in s.get_outputs()]
        graphs.append((name, s, [o for o in OLD_OUT + ["entities"] if o in outs],
                       "token_case" in [i.name for i in s.get_inputs()]))
    tok = tokenizer()
    texts = [r["text"] for r in load_jsonl(os.path.join(REPO, "tests", "fixtures", "models", "reference.jsonl"))]
    long_text = " ".join(texts) * 10
    results = []
    for seq, n in ((32, args.runs), (128, args.runs), (256, args.runs // 2), (512, args.runs // 4)):
        ids, mask, case = feeds(tok, [long_text] if seq > 64 else texts[:1], pad_to=min(seq, 256))
        if seq > 256:  # two full windows, as the server runs a 512-token text: batch 2 x 256
            ids, mask, case = (np.repeat(a, 2, axis=0) for a in (ids, mask, case))
        mask[:] = 1
        times = {name: [] for name, *_ in graphs}
        for i in range(n + 5):
            for name, s, outs, cased in (graphs if i % 2 else graphs[::-1]):
                feed = {"input_ids": ids, "attention_mask": mask}
                if cased:
                    feed["token_case"] = case
                t0 = time.perf_counter()
                s.run(outs, feed)
                if i >= 5:
                    times[name].append((time.perf_counter() - t0) * 1000)
        base = np.percentile(times[graphs[0][0]], 50)
        row = {"tokens": seq, "runs": n, "threads": args.threads,
               "ms": {k: {f"p{q}": round(float(np.percentile(v, q)), 3) for q in (10, 50, 90, 99)} for k, v in times.items()},
               "p50_vs_" + graphs[0][0]: {k: round(float(np.percentile(v, 50) / base - 1), 4) for k, v in times.items()}}
        print(json.dumps(row), flush=True)
        results.append(row)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
