"""Trains the entity head on frozen features (numpy only, seeded).

Head: per token x_t = [standardised hidden state(s) of the chosen layer(s), one-hot token_case (optional)];
z_t = W_prev x_{t-1} + W_cur x_t + W_next x_{t+1} + b (a Conv1D of width 3, zero at the window's ends),
ReLU, then a linear layer to len(LABELS) logits, softmax. Adam, cross-entropy, minibatches of tokens.
Writes out/heads/{tag}.npz (weights, standardisation, config) and prints dev span metrics.
"""
import argparse
import json
import os
import time

import numpy as np

from common import CATEGORIES, LABELS, N_CASE, OUT, decode, encode, load_jsonl, tokenizer
from metrics import score


def load(name, layers):
    """Feature columns of the given layers from out/feat/{name}*.npz (features.py --suffix groups)."""
    import glob
    parts, meta = [], None
    for path in sorted(glob.glob(os.path.join(OUT, "feat", f"{name}.npz")) +
                       glob.glob(os.path.join(OUT, "feat", f"{name}_*.npz"))):
        d = np.load(path)
        have = list(d["layers"])
        meta = meta or (d["case"], d["y"], d["bounds"])
        for k in layers:
            if k in have and not any(k == q for q, _ in parts):
                parts.append((k, d["X"][:, 384 * have.index(k):384 * (have.index(k) + 1)]))
    X = np.concatenate([x for k in layers for q, x in parts if q == k], axis=1)
    return (X,) + meta


def neighbours(bounds, n):
    start = np.zeros(n, dtype=bool)
    end = np.zeros(n, dtype=bool)
    start[bounds[:-1]] = True
    end[bounds[1:] - 1] = True
    return ~start, ~end  # has_prev, has_next


class Head:
    def __init__(self, d_in, hidden, ctx, rng):
        self.ctx = ctx
        k = 3 if ctx else 1
        self.W1 = (rng.standard_normal((k * d_in, hidden)) * np.sqrt(2.0 / (k * d_in))).astype(np.float32)
        self.b1 = np.zeros(hidden, np.float32)
        self.W2 = (rng.standard_normal((hidden, len(LABELS))) * np.sqrt(1.0 / hidden)).astype(np.float32)
        self.b2 = np.zeros(len(LABELS), np.float32)

    def params(self):
        return [self.W1, self.b1, self.W2, self.b2]

    def forward(self, A):
        H = A @ self.W1 + self.b1
        R = np.maximum(H, 0)
        Z = R @ self.W2 + self.b2
        Z -= Z.max(1, keepdims=True)
        P = np.exp(Z)
        P /= P.sum(1, keepdims=True)
        return H, R, P


def inputs(X, case, idx, has_prev, has_next, mean, std, use_case, ctx):
    def feat(j, valid=None):
        x = (X[j].astype(np.float32) - mean) / std
        if use_case:
            x = np.concatenate([x, np.eye(N_CASE, dtype=np.float32)[case[j]]], 1)
        if valid is not None:
            x *= valid[:, None]
        return x
    if not ctx:
        return feat(idx)
    n = len(X)
    return np.concatenate([feat(np.maximum(idx - 1, 0), has_prev[idx]), feat(idx),
                           feat(np.minimum(idx + 1, n - 1), has_next[idx])], 1)


def predict(head, X, case, bounds, mean, std, use_case, ctx, bs=8192):
    hp, hn = neighbours(bounds, len(X))
    out = np.zeros((len(X), len(LABELS)), np.float32)
    for s in range(0, len(X), bs):
        idx = np.arange(s, min(s + bs, len(X)))
        out[idx] = head.forward(inputs(X, case, idx, hp, hn, mean, std, use_case, ctx))[2]
    return out


def dev_spans(P, bounds, rows, tok, thresholds, decoder=decode):
    gold, pred = [], []
    for k, r in enumerate(rows):
        ids, offs, toks, _ = encode(tok, r["text"])
        n = bounds[k + 1] - bounds[k] - 2
        p = P[bounds[k] + 1: bounds[k] + 1 + n]
        pred.append([(c, a, b) for c, a, b, _ in decoder(p, offs[:n], toks[:n], thresholds, text=r["text"])])
        gold.append([(c, a, b) for a, b, c in r["spans"] if c])
    return gold, pred


def choose_thresholds(P, bounds, rows, tok, grid=np.arange(0.3, 0.96, 0.05), decoder=decode):
    """Per category: the threshold with the best overlap F1 on dev (ADDR and LOC judged separately)."""
    best = {}
    spans_all = {}
    for t in grid:
        g, p = dev_spans(P, bounds, rows, tok, {c: float(t) for c in CATEGORIES}, decoder)
        spans_all[round(float(t), 2)] = score(g, p, CATEGORIES)
    for c in CATEGORIES:
        t, m = max(spans_all.items(), key=lambda kv: (kv[1][c]["overlap_f1"], kv[0]))
        best[c] = t
    return best, spans_all


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", nargs="+", type=int, default=[5])
    ap.add_argument("--case", type=int, default=1)
    ap.add_argument("--ctx", type=int, default=1)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--epochs", type=float, default=4)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--bs", type=int, default=512)
    ap.add_argument("--wd", type=float, default=1e-5)
    ap.add_argument("--o-weight", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-train", type=int, default=0, help="subsample train tokens (0 = all)")
    ap.add_argument("--tag", default=None)
    args = ap.parse_args()
    tag = args.tag or f"L{'-'.join(map(str, args.layers))}_c{args.case}_x{args.ctx}_h{args.hidden}_s{args.seed}"
    rng = np.random.default_rng(args.seed)
    X, case, y, bounds = load("train", args.layers)
    hp, hn = neighbours(bounds, len(X))
    mean = X[y >= 0].astype(np.float32).mean(0)
    std = X[y >= 0].astype(np.float32).std(0) + 1e-3
    idx_all = np.where(y >= 0)[0]
    if args.max_train:
        idx_all = rng.choice(idx_all, min(args.max_train, len(idx_all)), replace=False)
    d_in = X.shape[1] + (N_CASE if args.case else 0)
    head = Head(d_in, args.hidden, args.ctx, rng)
    cw = np.ones(len(LABELS), np.float32)
    cw[0] = args.o_weight
    m = [np.zeros_like(p) for p in head.params()]
    v = [np.zeros_like(p) for p in head.params()]
    steps = int(args.epochs * len(idx_all) / args.bs)
    t0, step = time.time(), 0
    b1, b2, eps = 0.9, 0.999, 1e-8
    while step < steps:
        perm = rng.permutation(idx_all)
        for s in range(0, len(perm) - args.bs + 1, args.bs):
            if step >= steps:
                break
            idx = perm[s:s + args.bs]
            A = inputs(X, case, idx, hp, hn, mean, std, args.case, args.ctx)
            H, R, P = head.forward(A)
            yy = y[idx].astype(np.int64)
            w = cw[yy]
            G = P.copy()
            G[np.arange(len(idx)), yy] -= 1
            G *= (w / w.sum())[:, None]
            gW2 = R.T @ G
            gb2 = G.sum(0)
            dR = G @ head.W2.T
            dR[H <= 0] = 0
            gW1 = A.T @ dR
            gb1 = dR.sum(0)
            lr = args.lr * min(1.0, (step + 1) / 200) * (0.5 * (1 + np.cos(np.pi * step / steps)))
            for i, (p, g) in enumerate(zip(head.params(), [gW1, gb1, gW2, gb2])):
                if p.ndim == 2:
                    g = g + args.wd * p
                m[i] = b1 * m[i] + (1 - b1) * g
                v[i] = b2 * v[i] + (1 - b2) * g * g
                mh = m[i] / (1 - b1 ** (step + 1))
                vh = v[i] / (1 - b2 ** (step + 1))
                p -= (lr * mh / (np.sqrt(vh) + eps)).astype(np.float32)
            step += 1
            if step % 500 == 0:
                loss = -np.log(P[np.arange(len(idx)), yy] + 1e-9).mean()
                print(f"step {step}/{steps} loss {loss:.4f} {time.time() - t0:.0f}s", flush=True)
    os.makedirs(os.path.join(OUT, "heads"), exist_ok=True)
    Xd, cd, yd, bd = load("dev", args.layers)
    Pd = predict(head, Xd, cd, bd, mean, std, args.case, args.ctx)
    rows = load_jsonl(os.path.join(OUT, "data", "dev.jsonl"))
    tok = tokenizer()
    th, grid = choose_thresholds(Pd, bd, rows, tok)
    g, p = dev_spans(Pd, bd, rows, tok, th)
    dev = score(g, p, CATEGORIES)
    mask = yd >= 0
    acc = float((Pd[mask].argmax(1) == yd[mask]).mean())
    np.savez(os.path.join(OUT, "heads", f"{tag}.npz"), W1=head.W1, b1=head.b1, W2=head.W2, b2=head.b2,
             mean=mean, std=std, config=json.dumps({**vars(args), "tag": tag, "thresholds": th, "d_in": d_in}))
    by_src = {}
    for src in sorted(set(r["source"] for r in rows)):
        keep = [i for i, r in enumerate(rows) if r["source"] == src]
        by_src[src] = {c: m["overlap_f1"] for c, m in score([g[i] for i in keep], [p[i] for i in keep],
                                                              CATEGORIES).items() if m["n_gold"]}
    res = {"tag": tag, "token_acc": round(acc, 4), "thresholds": th, "dev": dev, "dev_overlap_f1_by_source": by_src,
           "dev_at_0.5": grid[0.5], "train_s": round(time.time() - t0)}
    with open(os.path.join(OUT, "heads", f"{tag}.json"), "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps({"tag": tag, "acc": acc, "th": th,
                      "dev_overlap_f1": {c: dev[c]["overlap_f1"] for c in CATEGORIES},
                      "dev_exact_f1": {c: dev[c]["exact_f1"] for c in CATEGORIES}, "by_source": by_src}), flush=True)


if __name__ == "__main__":
    main()
