"""Natural benign text at scale (issue #19): what people actually type and what retrieved documents look like.

Reads `../shared/data/benign/` (and the Debian documentation chunks and generated structured documents of
`documents.py`) and assigns every row to one split, **by its unit before anything else**: a conversation,
a dialogue, a document, a page or a prompt id; sources without a unit are split by text. A unit never lands on
two sides, so one conversation's turns or one document's windows are never both trained on and measured.

    train  70%   fitted on (injection user head: negatives and attack hosts; document head: windows)
    calib  10%   thresholds at a stated false-positive rate (never fitted on)
    test   20%   measured once, after everything was chosen (cards, README)

Every row: {"text", "source", "lang", "unit", "surface": "user" | "document", "split"}.
Licences: each folder of `../shared/data/benign/` keeps its own (the card cites them); share-alike sources
(SGD, query-wellformedness, NQ, UD-EWT) are used for training only, never redistributed.
"""
import csv
import hashlib
import json
import os
import sys

csv.field_size_limit(sys.maxsize)

SPLITS = (("train", 0.70), ("calib", 0.80), ("test", 1.0))


def split_of(source, unit):
    """Deterministic split of one unit of one source."""
    u = int(hashlib.sha256(f"benign-split|{source}|{unit}".encode("utf-8")).hexdigest()[:8], 16) / 0x100000000
    return next(name for name, hi in SPLITS if u < hi)


def _tsv(path):
    with open(path, encoding="utf-8", newline="") as f:
        yield from csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)


def _jsonl(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _row(text, source, lang, unit, surface):
    text = (text or "").strip()
    if not text:
        return None
    return {"text": text, "source": source, "lang": lang, "unit": str(unit), "surface": surface,
            "split": split_of(source, unit)}


def user_rows(root):
    """Benign user text, one row per message (duplicates within a source dropped)."""
    b = os.path.join(root, "benign")
    out = []

    def add(text, source, lang, unit=None):
        r = _row(text, source, lang, unit if unit is not None else text.strip().lower(), "user")
        if r:
            out.append(r)

    for r in _tsv(os.path.join(b, "byu-chitchat/utterances.tsv")):
        add(r["text"], "byu-chitchat", "en", r["convo_id"])
    for r in _tsv(os.path.join(b, "sgd/user_utterances.tsv")):
        add(r["text"], "sgd", "en", r["dialogue_id"])
    for r in _tsv(os.path.join(b, "tatoeba-laser/sentences.tsv")):
        add(r["text"], "tatoeba", r["lang"])
    for r in _tsv(os.path.join(b, "home-assistant-intents/test_sentences.tsv")):
        add(r["text"], "home-assistant", r["language"])
    for name, lang in (("multiwoz_user_utterances.tsv", "en"), ("crosswoz_user_utterances.tsv", "zh")):
        for r in _tsv(os.path.join(b, "multiwoz-crosswoz-user-turns", name)):
            if r.get("has_placeholder", "0") == "0" and "#" not in r["text"]:
                add(r["text"], name.split("_")[0], lang)
    for r in _tsv(os.path.join(b, "slurp/devel_test_utterances.tsv")):
        add(r["text"], "slurp", "en")
    for r in _tsv(os.path.join(b, "snips/utterances.tsv")):
        add(r["text"], "snips", "en")
    for name in ("train.tsv", "dev.tsv", "test.tsv"):
        with open(os.path.join(b, "query-wellformedness", name), encoding="utf-8") as f:
            for line in f:
                add(line.split("\t")[0], "query-wellformedness", "en")
    for name in ("NQ-open.dev.jsonl", "NQ-open.efficientqa.dev.1.1.jsonl", "NQ-open.efficientqa.test.1.1.no-annotations.jsonl"):
        for r in _jsonl(os.path.join(b, "nq-open", name)):
            add(r["question"], "nq-open", "en")
    for r in _tsv(os.path.join(b, "nlupp/utterances.tsv")):
        add(r["text"], "nlupp", "en")
    for r in _tsv(os.path.join(b, "chatterbot-corpus/user_turns.tsv")):
        add(r["text"], "chatterbot", r["language"])
    for name in ("question-v0.1.jsonl", "question-v2.0.jsonl"):
        for r in _jsonl(os.path.join(b, "arena-hard", name)):
            p = r.get("prompt") or (r.get("turns") or [{}])[0].get("content", "")
            add(p, "arena-hard", "en", r.get("uid") or r.get("question_id"))
    for lang in ("en", "es", "fr", "ja"):
        for r in _jsonl(os.path.join(b, "ifeval", f"{lang}_input_data.jsonl")):
            add(r["prompt"], "ifeval", lang, f"{lang}-{r['key']}")
    for r in _jsonl(os.path.join(b, "ifbench/IFBench_test.jsonl")):
        add(r["prompt"], "ifbench", "en", r["key"])
    for name in ("seed_tasks.jsonl", "user_oriented_instructions.jsonl"):
        for r in _jsonl(os.path.join(b, "self-instruct", name)):
            inst = r.get("instruction", "")
            inst_in = (r.get("instances") or [{}])[0].get("input", "") if isinstance(r.get("instances"), list) else ""
            add(inst + ("\n\n" + inst_in if inst_in else ""), "self-instruct", "en", r.get("id"))
    # The data README: multilingual-60 holds a few unsafe or persona prompts; those rows are left out.
    skip = {(r if isinstance(r, str) else r.get("prompt", "")).strip()
            for r in _jsonl(os.path.join(b, "oasst-eval-prompts/multilingual-60.jsonl"))}
    for r in _jsonl(os.path.join(b, "oasst-eval-prompts/all_unique_prompts.jsonl")):
        if r["prompt"].strip() not in skip:
            add(r["prompt"], "oasst", "en")
    seen, uniq = set(), []
    for r in out:
        k = (r["source"], r["text"])
        if k not in seen:
            seen.add(k)
            uniq.append(r)
    return uniq


def document_rows(root, debian=True, generated=2000, seed=20261205):
    """Benign documents: tldr-pages (39 languages), UD English-EWT documents, Debian documentation chunks
    (python3.11-doc, nodejs-doc, postgresql-doc-15; split by page) and generated structured documents
    (split by row: each is its own unit)."""
    b = os.path.join(root, "benign")
    out = []
    for r in _jsonl(os.path.join(b, "tldr-pages/pages.jsonl")):
        # one command's pages in every language are one unit
        x = _row(r["text"], "tldr-pages", r["lang"], f"{r['platform']}/{r['command']}", "document")
        if x:
            out.append(x)
    for r in _jsonl(os.path.join(b, "ud-english-ewt-docs/documents.jsonl")):
        x = _row(r["text"], "ud-ewt:" + r["genre"], "en", r["doc_id"], "document")
        if x:
            out.append(x)
    if debian or generated:
        import random
        import documents
        if debian:
            for r in documents.debian_docs():
                x = _row(r["text"], "debian:" + r["package"], "en", r["doc_id"], "document")
                if x:
                    out.append(x)
        if generated:
            for i, r in enumerate(documents.structured(random.Random(seed), generated)):
                x = _row(r["text"], "generated:" + r["kind"], "en", f"gen-{i}", "document")
                if x:
                    out.append(x)
    return out


def document(text, source, unit, lang="en"):
    """One benign document row of another set (BIPIA's train-split contexts, say), split by its unit."""
    return _row(text, source, lang, unit, "document")


if __name__ == "__main__":
    from collections import Counter
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../../shared/data")
    u = user_rows(root)
    print("user", len(u), Counter((r["source"], r["split"]) for r in u).most_common())
    d = document_rows(root, debian=os.path.isdir("/work/debdocs/x"), generated=200)
    print("documents", len(d), Counter((r["source"].split(":")[0], r["split"]) for r in d).most_common())
