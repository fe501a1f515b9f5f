"""Frozen all-MiniLM-L6-v2 embeddings of the training texts (also the targets of the cosine
distillation regulariser in train.py) and the baseline: frozen encoder + logistic-regression heads.

Writes out/frozen_<file>.npy and out/baseline.pt (a Warden model whose heads are the LR weights,
so the same scoring / windowing code evaluates it).
"""
import argparse
import json
import os
import random
import time

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from model import Warden, load_encoder, load_tokenizer, tokenize, batches_by_length, collate, TOPICS

HERE = os.path.dirname(os.path.abspath(__file__))


def read(path):
    return [json.loads(l) for l in open(path, encoding="utf-8")]


@torch.no_grad()
def pooled_embeddings(model, encs, bs=64):
    out = np.zeros((len(encs), model.bert.config.hidden_size), dtype=np.float32)
    for ids in batches_by_length(encs, bs, random.Random(0), shuffle=False):
        inp, att = collate(encs, ids)
        out[ids] = model.encode(inp, att).numpy()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--train-max-len", type=int, default=128)
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    tok = load_tokenizer()
    model = Warden(load_encoder()).eval()
    embs = {}
    for name in ["injection_train", "toxicity_train", "topic_train"]:
        rows = read(os.path.join(args.out, "data", name + ".jsonl"))
        t = time.time()
        encs = tokenize(tok, [r["text"] for r in rows], args.train_max_len)
        e = pooled_embeddings(model, encs)
        np.save(os.path.join(args.out, f"frozen_{name}.npy"), e)
        embs[name] = (rows, e)
        print(f"frozen {name}: {len(rows)} rows in {time.time() - t:.0f}s", flush=True)
    # logistic-regression heads on the frozen (un-normalised mean-pooled) embeddings
    heads = {}
    rows, e = embs["injection_train"]
    lr = LogisticRegression(C=1.0, max_iter=2000).fit(e, [r["label"] for r in rows])
    heads["injection"] = (lr.coef_, lr.intercept_)
    rows, e = embs["toxicity_train"]
    lr = LogisticRegression(C=1.0, max_iter=2000).fit(e, [r["label"] for r in rows])
    heads["toxicity"] = (lr.coef_, lr.intercept_)
    rows, e = embs["topic_train"]
    W, b = [], []
    for j in range(len(TOPICS)):
        lr = LogisticRegression(C=1.0, max_iter=2000).fit(e, [r["label"][j] for r in rows])
        W.append(lr.coef_[0])
        b.append(lr.intercept_[0])
    heads["topic"] = (np.array(W), np.array(b))
    with torch.no_grad():
        for k, (W, b) in heads.items():
            model.heads[k].weight.copy_(torch.tensor(np.asarray(W), dtype=torch.float32))
            model.heads[k].bias.copy_(torch.tensor(np.asarray(b).reshape(-1), dtype=torch.float32))
    torch.save(model.state_dict(), os.path.join(args.out, "baseline.pt"))
    print("baseline heads saved")


if __name__ == "__main__":
    main()
