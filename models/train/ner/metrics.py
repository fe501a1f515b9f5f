"""Span-level precision / recall / F1, exact and overlap, per category."""
from collections import defaultdict


def overlaps(a, b):
    return a[0] < b[1] and b[0] < a[1]


def score(gold, pred, cats, merge=None):
    """gold, pred: lists (one per document) of (cat, start, end). merge maps a category to another before
    matching (e.g. {"ADDR": "LOC"}). Returns {cat: {n_gold, n_pred, exact_p/r/f, overlap_p/r/f}}."""
    merge = merge or {}
    c = defaultdict(lambda: defaultdict(int))
    for g, p in zip(gold, pred):
        g = [(merge.get(x[0], x[0]), x[1], x[2]) for x in g]
        p = [(merge.get(x[0], x[0]), x[1], x[2]) for x in p]
        gs, ps = set(g), set(p)
        for cat in cats:
            gc = [x for x in g if x[0] == cat]
            pc = [x for x in p if x[0] == cat]
            c[cat]["n_gold"] += len(gc)
            c[cat]["n_pred"] += len(pc)
            c[cat]["exact_tp_p"] += sum(1 for x in pc if x in gs)
            c[cat]["exact_tp_r"] += sum(1 for x in gc if x in ps)
            c[cat]["ov_tp_p"] += sum(1 for x in pc if any(overlaps(x[1:], y[1:]) for y in gc))
            c[cat]["ov_tp_r"] += sum(1 for x in gc if any(overlaps(x[1:], y[1:]) for y in pc))
    out = {}
    for cat in cats:
        d = c[cat]
        r = {"n_gold": d["n_gold"], "n_pred": d["n_pred"]}
        for k, tp_p, tp_r in (("exact", "exact_tp_p", "exact_tp_r"), ("overlap", "ov_tp_p", "ov_tp_r")):
            p = d[tp_p] / d["n_pred"] if d["n_pred"] else 0.0
            rc = d[tp_r] / d["n_gold"] if d["n_gold"] else 0.0
            r[f"{k}_p"], r[f"{k}_r"] = round(p, 4), round(rc, 4)
            r[f"{k}_f1"] = round(2 * p * rc / (p + rc), 4) if p + rc else 0.0
        out[cat] = r
    return out
