"""Multi-task fine-tuning of all-MiniLM-L6-v2 with injection / toxicity / topic heads.

One shared encoder; every batch belongs to one task (batches of all tasks are shuffled together);
loss = BCE of that task's head + lambda * (1 - cos(pooled, frozen_pooled)) -- a cosine-distillation
regulariser towards the frozen original encoder so that the `embedding` output stays usable for
semantic similarity.
"""
import argparse
import json
import math
import os
import random
import time

import numpy as np
import torch
import torch.nn.functional as F

from model import Warden, load_encoder, load_tokenizer, tokenize, batches_by_length, collate

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261127


def read(path):
    return [json.loads(l) for l in open(path, encoding="utf-8")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--doc-max-len", type=int, default=256, help="issue #19: the document head reads serving's 256-token windows")
    ap.add_argument("--doc-batch-size", type=int, default=16)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--head-lr", type=float, default=2e-3)
    ap.add_argument("--distill", type=float, default=1.0, help="weight of the cosine-distillation term")
    ap.add_argument("--task-weights", default="injection=1,toxicity=1,topic=1,document=1")
    ap.add_argument("--max-steps", type=int, default=800,
                    help="stop after this many batches (prefix of the shuffled schedule; LR decays to 0 over it)")
    ap.add_argument("--save-every", type=int, default=100)
    ap.add_argument("--frozen-online", type=int, default=0,
                    help="compute the distillation targets with a frozen copy during training instead of out/frozen_*.npy")
    ap.add_argument("--freeze-word-embeddings", type=int, default=1)
    ap.add_argument("--cls-heads", default="",
                    help="run 12: comma-separated tasks whose head reads the [CLS] token instead of the distilled "
                         "mean-pooled embedding (e.g. injection)")
    ap.add_argument("--head-hidden", type=int, default=0, help="run 12: one tanh hidden layer of this width in front of each --cls-heads head (0: linear)")
    ap.add_argument("--pair-weight", type=float, default=0.0,
                    help="run 11: weight of a pairwise loss on compose.py minimal pairs (0: off)")
    ap.add_argument("--pair-every", type=int, default=4, help="one pair step after every N-th injection batch")
    ap.add_argument("--pair-batch", type=int, default=16, help="pairs per pair step")
    ap.add_argument("--pair-margin", type=float, default=2.0, help="logit margin the attack must keep over its benign twin")
    ap.add_argument("--seed", type=int, default=SEED, help="initialisation, batch order and dropout (not the data)")
    args = ap.parse_args()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    rng = random.Random(args.seed)

    tok = load_tokenizer()
    model = Warden(load_encoder(), [t for t in args.cls_heads.split(",") if t], args.head_hidden)
    tw = {k: float(v) for k, v in (x.split("=") for x in args.task_weights.split(","))}
    data = {}
    tasks = [("injection", "injection_train"), ("toxicity", "toxicity_train"), ("topic", "topic_train")]
    if os.path.exists(os.path.join(args.out, "data", "document_train.jsonl")):
        tasks.append(("document", "document_train"))
    for task, name in tasks:
        rows = read(os.path.join(args.out, "data", name + ".jsonl"))
        encs = tokenize(tok, [r["text"] for r in rows], args.doc_max_len if task == "document" else args.max_len)
        frozen = None
        fp = os.path.join(args.out, f"frozen_{name}.npy")
        if args.distill > 0 and os.path.exists(fp) and np.load(fp, mmap_mode="r").shape[0] == len(rows) and not args.frozen_online:
            frozen = torch.tensor(np.load(fp))
            frozen = F.normalize(frozen, dim=-1)
        labels = torch.tensor([r["label"] for r in rows], dtype=torch.float32)
        data[task] = (encs, labels, frozen)
    # schedule: all batches of all tasks, shuffled; fractional epochs truncate the list
    sched = []
    ep = 0
    while ep < args.epochs:
        part = []
        for task, (encs, _, _) in data.items():
            bs = args.doc_batch_size if task == "document" else args.batch_size
            part += [(task, b) for b in batches_by_length(encs, bs, rng)]
        rng.shuffle(part)
        take = len(part) if args.epochs - ep >= 1 else int(len(part) * (args.epochs - ep))
        sched += part[:take]
        ep += 1
    if args.max_steps and args.max_steps < len(sched):
        sched = sched[:args.max_steps]
    total = len(sched)
    if args.freeze_word_embeddings:
        model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    enc_params = [p for n, p in model.named_parameters() if n.startswith("bert.") and p.requires_grad]
    head_params = [p for n, p in model.named_parameters() if not n.startswith("bert.")]
    opt = torch.optim.AdamW([{"params": enc_params, "lr": args.lr}, {"params": head_params, "lr": args.head_lr}],
                            weight_decay=0.01)
    warm = max(1, int(0.05 * total))
    sch = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (total - s) / max(1, total - warm)) if s >= warm else (s + 1) / warm)
    frozen_model = None
    if args.distill > 0 and any(v[2] is None for v in data.values()):
        frozen_model = Warden(load_encoder()).eval()
        for p in frozen_model.parameters():
            p.requires_grad_(False)
    pairs, prng = [], random.Random(args.seed + 11)
    if args.pair_weight > 0:
        import compose
        pairs = compose.train_pairs()
    n_inj = 0
    model.train()
    t0 = time.time()
    log = open(os.path.join(args.out, "train.log"), "a")
    print(json.dumps({"start": time.strftime("%F %T"), "steps": total, "args": vars(args)}), file=log, flush=True)
    run = {k: [] for k in data}
    rund = []
    for step, (task, ids) in enumerate(sched):
        encs, labels, frozen = data[task]
        inp, att = collate(encs, ids)
        pooled, feats = model.encode_both(inp, att)
        lg = model.logits(feats, task)
        y = labels[ids]
        if task != "topic":
            lg = lg.squeeze(-1)
        loss = tw[task] * F.binary_cross_entropy_with_logits(lg, y)
        run[task].append(loss.item())
        target = None
        if frozen is not None:
            target = frozen[ids]
        elif frozen_model is not None:
            with torch.no_grad():
                target = frozen_model.encode(inp, att)
        if target is not None:
            d = (1 - F.cosine_similarity(pooled, target, dim=-1)).mean()
            rund.append(d.item())
            loss = loss + args.distill * d
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sch.step()
        if pairs and task == "injection":
            n_inj += 1
            if n_inj % args.pair_every == 0:
                # minimal pairs: same verb and frame, attack object against benign object. The attack's logit
                # must exceed its twin's by the margin, and both keep their labels (BCE).
                chosen = [pairs[prng.randrange(len(pairs))] for _ in range(args.pair_batch)]
                encs_p = tokenize(tok, [a for _, a, _ in chosen] + [b for _, _, b in chosen], args.max_len)
                inp_p, att_p = collate(encs_p, list(range(len(encs_p))))
                lp = model.logits(model.encode_both(inp_p, att_p)[1], "injection").squeeze(-1)
                la, lb = lp[:args.pair_batch], lp[args.pair_batch:]
                yp = torch.cat([torch.ones_like(la), torch.zeros_like(lb)])
                pl = F.relu(args.pair_margin - (la - lb)).mean() + 0.5 * F.binary_cross_entropy_with_logits(lp, yp)
                run.setdefault("pair", []).append(pl.item())
                opt.zero_grad()
                (args.pair_weight * pl).backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
        if step % 50 == 0 or step == total - 1:
            msg = {"step": step, "of": total, "elapsed_s": round(time.time() - t0),
                   **{k: round(float(np.mean(v[-50:])), 4) for k, v in run.items() if v},
                   "distill": round(float(np.mean(rund[-50:])), 4) if rund else None}
            print(json.dumps(msg), file=log, flush=True)
            print(json.dumps(msg), flush=True)
        if args.save_every and step and step % args.save_every == 0:
            torch.save(model.state_dict(), os.path.join(args.out, "finetuned.pt"))
            print(json.dumps({"checkpoint_at_step": step}), file=log, flush=True)
    torch.save(model.state_dict(), os.path.join(args.out, "finetuned.pt"))
    print(json.dumps({"done": time.strftime("%F %T"), "train_seconds": round(time.time() - t0)}), file=log, flush=True)


if __name__ == "__main__":
    main()
