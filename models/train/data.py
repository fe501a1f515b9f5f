"""Data preparation for Warden's multi-head classifier.

Reads ../shared/data (train / val files only for fitting; eval files are only *converted* into
evaluation sets here and are never used to fit, tune thresholds or write templates) and writes
jsonl files into out/data/.

Every row: {"text", "task", "label"} where label is an int (injection, toxicity) or a list of 3
ints (topic: finance, health, legal), plus "source".
"""
import argparse
import csv
import datetime
import gzip
import hashlib
import json
import os
import random
import re
from collections import Counter

import augment as A
import benign
import compose

SEED = 20261127
TOPICS = ["finance", "health", "legal"]


def h(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def frac(text, salt=""):
    """Deterministic number in [0,1) from a text (for splits)."""
    return int(h(salt + text)[:8], 16) / 0x100000000


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def split_holdout(items):
    """every 5th item is held out (used only for validation)."""
    return [x for i, x in enumerate(items) if i % 5 != 4], [x for i, x in enumerate(items) if i % 5 == 4]


# ----------------------------------------------------------------------------------------------
# generators


def make_faker(loc):
    from faker import Faker
    f = Faker(loc)
    return f


def trigger_benign(templates, rng):
    out = []
    for t, xs in templates:
        for x in xs:
            out.append(t.format(x=x))
    return out


def fill_ml(text, fk):
    return text.replace("{city}", fk.city()).replace("{name}", fk.first_name())


def benign_multilingual(langs_templates, rng, n, seed):
    out = []
    fakers = {}
    langs = sorted(langs_templates)
    for i in range(n):
        lang = langs[i % len(langs)]
        tpls = langs_templates[lang]
        if not tpls:
            continue
        if lang not in fakers:
            fakers[lang] = make_faker(A.FAKER_LOCALE[lang])
            fakers[lang].seed_instance(seed + i)
        fk = fakers[lang]
        r = rng.random()
        base = fill_ml(rng.choice(tpls), fk)
        if r < 0.45:
            text = base
        elif r < 0.7:
            # two benign lines of the same language
            text = base + " " + fill_ml(rng.choice(tpls), fk)
        else:
            # benign question followed by localised filler text (addresses, names, sentences)
            try:
                filler = fk.text(max_nb_chars=rng.choice([120, 250, 500]))
            except Exception:
                filler = fk.address()
            text = base + "\n\n" + filler if rng.random() < 0.5 else filler + "\n\n" + base
        out.append((lang, text))
    return out


def attacks_multilingual(frames, rng, n):
    out = []
    langs = sorted(frames)
    for i in range(n):
        lang = langs[i % len(langs)]
        fr, ps = frames[lang]
        if not fr:
            continue
        out.append((lang, rng.choice(fr).format(p=rng.choice(ps))))
    return out


def insert_into(host, payload, rng, max_prefix=300):
    """Insert payload into host text at a random place, keeping at most max_prefix chars before it
    (so that a 128-token training window still contains the payload)."""
    if not host:
        return payload
    pos = rng.randint(0, len(host))
    # snap to whitespace
    m = host.rfind("\n", 0, pos)
    if m == -1 or pos - m > 80:
        m = host.rfind(" ", 0, pos)
    pos = max(m, 0)
    before, after = host[:pos], host[pos:]
    if len(before) > max_prefix:
        before = before[-max_prefix:]
        cut = before.find(" ")
        if 0 <= cut < 40:
            before = before[cut + 1:]
    sep = rng.choice(["\n", "\n\n", " "])
    return (before + sep + payload + sep + after[:1200]).strip()


# ----------------------------------------------------------------------------------------------


def bipia_contexts(root, split):
    docs = []
    for name in ["email", "table", "code"]:
        for r in read_jsonl(os.path.join(root, "injection/bipia", name, f"{split}.jsonl")):
            if name == "code":
                parts = []
                for k in ("context", "code", "error"):
                    v = r.get(k)
                    if isinstance(v, list):
                        v = "\n".join(v)
                    if v:
                        parts.append(v)
                docs.append((name, "\n".join(parts)))
            else:
                docs.append((name, r["context"]))
    return docs


def bipia_attacks(root, split):
    out = []
    for kind in ["text", "code"]:
        d = json.load(open(os.path.join(root, f"injection/bipia/{kind}_attack_{split}.json")))
        for cat, xs in d.items():
            for x in xs:
                out.append((kind, cat, x))
    return out


def faker_email(fk, rng, body_lines):
    return (f"From: {fk.name()} <{fk.email()}>\nTo: {fk.name()} <{fk.email()}>\n"
            f"Date: {fk.date_time_between(start_date=datetime.datetime(2024, 1, 1), end_date=datetime.datetime(2025, 12, 31)):%a, %d %b %Y %H:%M}\nSubject: {fk.catch_phrase()}\n\n"
            f"Hi {fk.first_name()},\n\n" + "\n".join(body_lines) + f"\n\nBest regards,\n{fk.name()}\n{fk.company()}")


def build_injection(root, rng, args, tox_benign, mmlu_benign, clinc_benign):
    train = read_jsonl(os.path.join(root, "injection/train.jsonl"))
    hard = read_jsonl(os.path.join(root, "injection/train_hard_negatives.jsonl"))
    val = read_jsonl(os.path.join(root, "injection/val.jsonl"))

    rows = []

    def add(text, label, source, dest=rows):
        text = text.strip()
        if text:
            dest.append({"text": text, "task": "injection", "label": int(label), "source": source})

    pos = [r for r in train if r["label"] == 1]
    neg = [r for r in train if r["label"] == 0]
    rng.shuffle(pos)
    for r in pos[: args.inj_pos]:
        add(r["text"], 1, r["source"])
    clinc = [r for r in neg if r["source"] == "clinc150_train"]
    other = [r for r in neg if r["source"] != "clinc150_train"]
    rng.shuffle(clinc)
    for r in other + clinc[: args.inj_clinc]:
        add(r["text"], 0, r["source"])

    # hard negatives: hold out 300 WildGuardMix benign rows (over-defence validation) + jbb_benign
    wg = [r for r in hard if r["source"] == "wildguardmix_benign"]
    wg.sort(key=lambda r: frac(r["text"], "wg"))
    wg_hold, wg_train = wg[:300], wg[300:]
    holdout_benign, holdout_attack = [], []
    for r in wg_train:
        add(r["text"], 0, "hardneg:" + r["source"])
    for r in hard:
        if r["source"].startswith("bipia"):
            add(r["text"], 0, "hardneg:" + r["source"])
    for r in wg_hold:
        add(r["text"], 0, "holdout:wildguardmix_benign", holdout_benign)
    for r in hard:
        if r["source"] == "jbb_benign":
            add(r["text"], 0, "holdout:jbb_benign", holdout_benign)

    # --- augmentation: benign trigger-word text (train / held-out templates) ----------------
    tb_train, tb_hold = split_holdout(A.TRIGGER_BENIGN)
    tl_train, tl_hold = split_holdout(A.TRIGGER_BENIGN_LINES)
    for t in trigger_benign(tb_train, rng):
        add(t, 0, "aug:trigger_template")
        add(t, 0, "aug:trigger_template")  # twice: they are few and important
    for t in trigger_benign(tb_hold, rng):
        add(t, 0, "holdout:trigger_template", holdout_benign)
    # trigger lines inserted into benign questions (CLINC, MMLU, wildguard)
    benign_hosts = [r["text"] for r in other if len(r["text"]) < 400] + clinc_benign + mmlu_benign
    for i in range(args.aug_trigger_insert):
        host = rng.choice(benign_hosts)
        line = rng.choice(tl_train)
        add(host + " " + line if rng.random() < 0.5 else line + " " + host, 0, "aug:trigger_insert")
    # trigger-word templates combined with benign questions
    tbt = trigger_benign(tb_train, rng)
    for i in range(args.aug_trigger_insert // 2):
        add(rng.choice(tbt) + " " + rng.choice(benign_hosts), 0, "aug:trigger_combo")
    hold_hosts = [r["text"] for r in val if r["label"] == 0 and len(r["text"]) < 400]
    for i in range(200):
        host = rng.choice(hold_hosts)
        add(host + " " + rng.choice(tl_hold), 0, "holdout:trigger_insert", holdout_benign)

    # run 3: compositional benign requests (trigger phrase x request frame); held-out phrases in
    # held-out frames are validation only, mixed pairs are used nowhere
    if args.aug_trigger_request:
        ph_train, ph_hold = split_holdout(A.TRIGGER_PHRASES)
        fr_train, fr_hold = split_holdout(A.TRIGGER_FRAMES)
        combos = [f.format(v=v) for v in ph_train for f in fr_train]
        rng.shuffle(combos)
        for t in combos[: args.aug_trigger_request]:
            add(t[0].upper() + t[1:], 0, "aug:trigger_request")
        for v in ph_hold:
            for f in fr_hold:
                add(f.format(v=v), 0, "holdout:trigger_request", holdout_benign)
        for lang, texts in sorted(A.TRIGGER_BENIGN_ML.items()):
            # Without --aug-trigger-ml they are all validation data (run 3
            # trained on them and lost multilingual attack recall).
            tr, ho = split_holdout(texts) if args.aug_trigger_ml else ([], texts)
            for t in tr:
                add(t, 0, f"aug:trigger_ml:{lang}")
                hosts_ml = [x for x in split_holdout(A.BENIGN_ML.get(lang, []))[0] if "{" not in x]
                if hosts_ml:
                    add(t + " " + rng.choice(hosts_ml), 0, f"aug:trigger_ml:{lang}")
            for t in ho:
                add(t, 0, f"holdout:trigger_ml:{lang}", holdout_benign)

    # --- benign text from other train-side datasets (MMLU train split, toxic-but-not-injection)
    for t in rng.sample(mmlu_benign, min(args.inj_mmlu, len(mmlu_benign))):
        add(t, 0, "aug:mmlu_question")
    for t in rng.sample(tox_benign, min(args.inj_tox, len(tox_benign))):
        add(t, 0, "aug:toxicity_text_not_injection")

    # --- multilingual benign and attacks ----------------------------------------------------
    ml_b_train = {k: split_holdout(v)[0] for k, v in A.BENIGN_ML.items()}
    ml_b_hold = {k: split_holdout(v)[1] for k, v in A.BENIGN_ML.items()}
    for lang, t in benign_multilingual(ml_b_train, rng, args.aug_ml_benign, SEED):
        add(t, 0, f"aug:benign_ml:{lang}")
    for lang, t in benign_multilingual(ml_b_hold, rng, 200, SEED + 7):
        add(t, 0, f"holdout:benign_ml:{lang}", holdout_benign)
    # localised generator text (Faker word lists, addresses, companies, jobs) in many locales
    locs = sorted(set(A.FAKER_LOCALE.values()) | {"en_US", "en_GB", "cs_CZ", "el_GR", "he_IL", "th_TH", "fa_IR", "sv_SE", "da_DK"})
    fks = {}
    for i in range(args.aug_faker_ml):
        loc = locs[i % len(locs)]
        if loc not in fks:
            fks[loc] = make_faker(loc)
            fks[loc].seed_instance(SEED + i)
        fkl = fks[loc]
        r = rng.random()
        try:
            if r < 0.4:
                t = fkl.text(max_nb_chars=rng.choice([80, 200, 400]))
            elif r < 0.6:
                t = fkl.name() + "\n" + fkl.address() + "\n" + fkl.phone_number()
            elif r < 0.8:
                t = fkl.company() + " — " + fkl.job() + "\n" + fkl.sentence()
            else:
                t = fkl.sentence() + " " + fkl.sentence()
        except Exception:
            t = fkl.address()
        add(t, 0, f"aug:faker_ml:{loc}")
    for r in train:
        if r["label"] == 0 and any(ord(c) > 127 for c in r["text"]):
            add(r["text"], 0, "dup:non_ascii_benign")
    ml_a_train = {k: (split_holdout(f)[0], p) for k, (f, p) in A.ATTACK_ML.items()}
    ml_a_hold = {k: (split_holdout(f)[1], p) for k, (f, p) in A.ATTACK_ML.items()}
    for lang, t in attacks_multilingual(ml_a_train, rng, args.aug_ml_attack):
        # half of them wrapped in benign text of the same language
        if rng.random() < 0.4 and A.BENIGN_ML.get(lang):
            fk = make_faker(A.FAKER_LOCALE[lang])
            fk.seed_instance(rng.randint(0, 10**9))
            t = fill_ml(rng.choice(ml_b_train[lang] or A.BENIGN_ML[lang]), fk) + " " + t
        add(t, 1, f"aug:attack_ml:{lang}")
    for lang, t in attacks_multilingual(ml_a_hold, rng, 150):
        add(t, 1, f"holdout:attack_ml:{lang}", holdout_attack)
    # English train attacks preceded by benign foreign text (mixed-language attacks)
    short_pos = [r["text"] for r in pos if len(r["text"]) < 300]
    for lang, t in benign_multilingual(ml_b_train, rng, args.aug_ml_attack // 3, SEED + 3):
        add(t + " " + rng.choice(short_pos), 1, f"aug:mixed_ml_attack:{lang}")

    # runs 5-7: compositional attacks in seven languages with benign minimal pairs (compose.py). Its
    # own rng, so that every other row is the same as without it.
    if args.aug_compose_attack or args.aug_compose_benign:
        crng = random.Random(SEED + 5)
        langs = args.compose_langs.split(",")
        attack_langs = set(args.compose_attack_langs.split(",")) if args.compose_attack_langs else set(langs)
        c_ta, c_tb, c_ha, c_hb = compose.generate(crng, langs)
        # run 9: a language may contribute benign pairs only (its attacks stay in validation)
        c_ta = [(lang, t) for lang, t in c_ta if lang in attack_langs]
        en_hosts = [r["text"] for r in other if len(r["text"]) < 200]

        def host_for(lang):
            if lang == "en":
                return crng.choice(en_hosts)
            fk = make_faker(A.FAKER_LOCALE[lang])
            fk.seed_instance(crng.randint(0, 10**9))
            return fill_ml(crng.choice(ml_b_train.get(lang) or A.BENIGN_ML[lang]), fk)

        for want, pool, label, kind in ((args.aug_compose_attack, c_ta, 1, "attack"), (args.aug_compose_benign, c_tb, 0, "benign")):
            for lang, t in crng.sample(pool, min(want, len(pool))):
                # a third of them after an ordinary request of the same language
                if crng.random() < 0.33 and (lang == "en" or lang in A.FAKER_LOCALE):
                    t = host_for(lang) + " " + t
                add(t, label, f"aug:compose_{kind}:{lang}")
        for lang, t in c_ha:
            add(t, 1, f"holdout:compose_attack:{lang}", holdout_attack)
        for lang, t in c_hb:
            add(t, 0, f"holdout:compose_benign:{lang}", holdout_benign)

    # --- long benign documents and attacks embedded in documents ------------------------------
    fk = make_faker("en_US")
    fk.seed_instance(SEED)
    docs_train = [t for _, t in bipia_contexts(root, "train")] + [r["text"] for r in wg_train if len(r["text"]) > 400]
    bipia_att_train = [x for _, _, x in bipia_attacks(root, "train")]
    para_pool = mmlu_benign + [r["text"] for r in other if len(r["text"]) > 60]
    for i in range(args.aug_long_benign):
        lines = [fk.paragraph(nb_sentences=rng.randint(2, 5)) for _ in range(rng.randint(1, 3))]
        lines.insert(rng.randint(0, len(lines)), rng.choice(tl_train))
        if rng.random() < 0.5:
            lines.insert(rng.randint(0, len(lines)), rng.choice(para_pool))
        doc = faker_email(fk, rng, lines) if rng.random() < 0.5 else "\n\n".join(lines)
        add(doc, 0, "aug:long_benign_doc")
    for i, t in enumerate(bipia_contexts(root, "train")):
        if t[0] == "email":
            for j in range(3):  # random windows of the benign train e-mails
                st = rng.randint(0, max(0, len(t[1]) - 600))
                add(t[1][st:st + rng.choice([300, 600, 1200])], 0, "aug:bipia_email_window")
    bipia_email_train = [t for k, t in bipia_contexts(root, "train") if k == "email"]
    for i in range(args.aug_embed):
        u = rng.random()
        if u < 0.4:
            host = rng.choice(docs_train)
        elif u < 0.6:
            host = rng.choice(bipia_email_train)
        else:
            host = faker_email(fk, rng, [fk.paragraph(nb_sentences=rng.randint(2, 4)) for _ in range(2)])
        att = rng.choice(A.EMBED_PREFIX) + (rng.choice(bipia_att_train) if rng.random() < 0.4 else rng.choice(short_pos))
        add(insert_into(host, att, rng), 1, "aug:embedded_attack")
    # held-out embedded attacks: val attacks in held-out wildguard hosts / fresh emails
    val_pos = [r["text"] for r in val if r["label"] == 1 and len(r["text"]) < 300]
    for i in range(300):
        host = rng.choice([r["text"] for r in wg_hold]) if rng.random() < 0.5 else faker_email(
            fk, rng, [fk.paragraph(nb_sentences=3) for _ in range(2)])
        add(insert_into(host, rng.choice(val_pos), rng), 1, "holdout:embedded_attack", holdout_attack)

    # de-duplicate, and make sure nothing in train equals a val / holdout text
    seen = set()
    heldout_texts = {r["text"] for r in val} | {r["text"] for r in holdout_benign + holdout_attack}
    dedup = []
    for r in rows:
        k = r["text"]
        if k in seen or k in heldout_texts:
            continue
        seen.add(k)
        dedup.append(r)
    val_rows = [{"text": r["text"], "task": "injection", "label": r["label"], "source": r["source"]} for r in val]
    return dedup, val_rows, holdout_benign, holdout_attack


# ----------------------------------------------------------------------------------------------
# issue #19: natural benign traffic, a document head, calibration and test splits

# Where an instruction hides in a document. Benign documents get the same framings around benign text, so
# that no framing is itself a sign of an attack.
FRAMES = [
    lambda p, r: p,
    lambda p, r: "> " + p.replace("\n", "\n> "),
    lambda p, r: '"' + p + '"',
    lambda p, r: "--\n" + p,
    lambda p, r: "P.S. " + p,
    lambda p, r: "<!-- " + p + " -->",
    lambda p, r: "| " + r.choice(["note", "comment", "remarks", "description", "status"]) + " | " + p.replace("\n", " ") + " |",
    lambda p, r: '"' + r.choice(["note", "comment", "description", "message", "summary"]) + '": "' + p.replace('"', "'").replace("\n", " ") + '"',
    lambda p, r: r.choice(["# ", "// ", "-- ", "/* "]) + p.replace("\n", " "),
    lambda p, r: r.choice(["---END OF DOCUMENT---", "</document>", "[end of context]", "=====", "```"]) + "\n" + p,
    lambda p, r: "[//]: # (" + p.replace("\n", " ").replace(")", "") + ")",
    lambda p, r: r.choice(["Note: ", "Update: ", "Reminder: ", "Footnote: ", "Editor's note: "]) + p,
]


def frame(payload, rng):
    return FRAMES[rng.randrange(len(FRAMES))](payload, rng)


class Windows:
    """Serving's windows: 254 content tokens + [CLS]/[SEP], stride 192 (models/warden-minilm/manifest.json)."""

    def __init__(self):
        from model import load_tokenizer
        self.tok = load_tokenizer()
        self.tok.no_truncation()
        self.tok.no_padding()

    def n_tokens(self, text):
        return len(self.tok.encode(text, add_special_tokens=False).ids)

    def pick(self, text, rng, room=0):
        """One of the windows serving would read of `text`, as text, with `room` tokens left free."""
        enc = self.tok.encode(text, add_special_tokens=False)
        offs = enc.offsets
        n = 254 - room
        if len(offs) <= n:
            return text
        starts = list(range(0, max(1, len(offs) - 254 + 192), 192))
        st = rng.choice(starts)
        en = min(st + n, len(offs))
        return text[offs[st][0]:offs[en - 1][1]]


def insert_at(host, payload, rng):
    """payload inside host, at a line or sentence boundary chosen at random."""
    cuts = [0, len(host)] + [i + 1 for i, c in enumerate(host) if c == "\n"]
    if len(cuts) < 5:
        cuts += [i + 2 for i in range(len(host) - 1) if host[i] in ".!?" and host[i + 1] == " "]
    pos = rng.choice(cuts)
    sep = "\n" if rng.random() < 0.7 else " "
    return (host[:pos].rstrip(" ") + sep + payload + sep + host[pos:].lstrip(" ")).strip()


def cap_per_source(rows, rng, caps, default):
    by = {}
    for r in rows:
        by.setdefault(r["source"], []).append(r)
    out = []
    for src in sorted(by):
        xs = by[src]
        rng.shuffle(xs)
        out += xs[: caps.get(src.split(":")[0], default)]
    return out


def build_natural(root, rng, args, inj_train, val, hold_attack):
    """Natural benign user text for the user head, a document head's windows, and the calibration and test
    splits of the natural sources (benign.py splits every source by unit before anything else)."""
    rng = random.Random(SEED + 19)
    win = Windows()
    users = benign.user_rows(root)
    docs = benign.document_rows(root, debian=os.path.isdir(args.debian_docs), generated=args.generated_docs)
    # BIPIA's train-split contexts are benign documents too (its test split is eval only)
    kinds = Counter()
    for kind, text in bipia_contexts(root, "train"):
        row = benign.document(text, "bipia-train:" + kind, f"{kind}-{kinds[kind]}")
        kinds[kind] += 1
        if row:
            docs.append(row)
    split = lambda rows, s: [r for r in rows if r["split"] == s]

    # attacks to embed: the training rows' own attacks (train.jsonl, compose.py, multilingual), short enough
    # to sit inside a window with room for the host
    attacks = [r["text"] for r in inj_train if r["label"] == 1 and len(r["text"]) < 500
               and not r["source"].startswith(("aug:embedded", "aug:mixed"))]
    bipia_att = [x for _, _, x in bipia_attacks(root, "train")]
    attacks += bipia_att
    benign_lines = [r["text"] for r in split(users, "train") if 20 < len(r["text"]) < 200]
    trigger_lines = split_holdout(A.TRIGGER_BENIGN_LINES)[0]

    # user head: natural benign messages (train split; the largest sources capped so none dominates) and
    # the same kind of message carrying an attack before or after it
    u_train = cap_per_source(split(users, "train"), rng,
                             {"byu-chitchat": 2500, "sgd": 2000, "tatoeba": 3500, "home-assistant": 2000,
                              "query-wellformedness": 1000, "multiwoz": 1000, "crosswoz": 1500, "snips": 600},
                             args.natural_user_cap)
    added = []
    for r in u_train:
        added.append({"text": r["text"], "task": "injection", "label": 0, "source": f"natural:{r['source']}:{r['lang']}"})
    hosts = [r["text"] for r in u_train if len(r["text"]) < 300]
    for i in range(args.natural_user_attack):
        a, hst = rng.choice(attacks), rng.choice(hosts)
        t = hst + rng.choice([" ", "\n", "\n\n"]) + a if rng.random() < 0.6 else a + rng.choice([" ", "\n"]) + hst
        added.append({"text": t, "task": "injection", "label": 1, "source": "natural:hosted_attack"})
    for i in range(args.natural_user_attack // 3):
        # benign twins: two ordinary messages, or one with a benign trigger-word line
        t = rng.choice(hosts) + " " + (rng.choice(hosts) if rng.random() < 0.5 else rng.choice(trigger_lines))
        added.append({"text": t, "task": "injection", "label": 0, "source": "natural:two_messages"})

    # document head: serving's windows of benign documents, the same windows with an attack framed inside,
    # and plain attacks (a retrieved chunk may be nothing but the injection)
    d_train = cap_per_source(split(docs, "train"), rng, {"tldr-pages": 1500, "bipia-train": 500}, args.natural_doc_cap)
    doc_rows = []
    for r in d_train:
        w = win.pick(r["text"], rng)
        if rng.random() < 0.3:  # benign text in an attack's framing
            w = insert_at(win.pick(r["text"], rng, room=60), frame(rng.choice(benign_lines + trigger_lines), rng), rng)
        doc_rows.append({"text": w, "task": "document", "label": 0, "source": "doc:" + r["source"]})
    for r in rng.sample(split(users, "train"), args.doc_user_negatives):
        doc_rows.append({"text": r["text"], "task": "document", "label": 0, "source": "doc:user_text:" + r["source"]})
    for i in range(args.doc_attacks):
        r = rng.choice(d_train)
        # run 16: BIPIA's task hijacks ("summarise this in the style of ...") are 40% of the document attacks;
        # run 15 drew them in proportion (about 4%) and found 41% of BIPIA's test attacks
        a = rng.choice(A.EMBED_PREFIX) + (rng.choice(bipia_att) if rng.random() < args.doc_bipia_share else rng.choice(attacks))
        room = min(200, win.n_tokens(a) + 8)
        doc_rows.append({"text": insert_at(win.pick(r["text"], rng, room=room), frame(a, rng), rng), "task": "document",
                         "label": 1, "source": "doc:embedded_attack:" + r["source"].split(":")[0]})
    for a in rng.sample(attacks, min(args.doc_attacks // 8, len(attacks))):
        doc_rows.append({"text": a, "task": "document", "label": 1, "source": "doc:plain_attack"})

    # calibration (thresholds at a false-positive rate) and test (measurement) splits; attacks for the
    # recall side of the calibration curves come from val.jsonl and the held-out attacks, never from eval
    crng = random.Random(SEED + 190)
    calib_user = cap_per_source(split(users, "calib"), crng, {}, args.calib_cap)
    calib_doc = cap_per_source(split(docs, "calib"), crng, {}, args.calib_cap)
    val_att = [r["text"] for r in val if r["label"] == 1] + [r["text"] for r in hold_attack]
    cu_hosts = [r["text"] for r in calib_user if len(r["text"]) < 300]
    calib_user_rows = [dict(r, label=0) for r in calib_user]
    calib_user_rows += [{"text": t, "label": 1, "source": "val_attack", "lang": "", "surface": "user"} for t in val_att]
    calib_user_rows += [{"text": crng.choice(cu_hosts) + " " + crng.choice(val_att), "label": 1, "source": "val_attack_hosted",
                         "lang": "", "surface": "user"} for _ in range(500)]
    calib_doc_rows = [dict(r, label=0) for r in calib_doc]
    short_val = [t for t in val_att if len(t) < 500]
    for _ in range(1500):
        r = crng.choice(calib_doc)
        calib_doc_rows.append({"text": insert_at(r["text"][:4000], frame(crng.choice(short_val), crng), crng), "label": 1,
                               "source": "val_attack_embedded:" + r["source"].split(":")[0], "lang": r["lang"],
                               "surface": "document"})
    trng = random.Random(SEED + 191)
    test_user = [dict(r, label=0) for r in cap_per_source(split(users, "test"), trng, {}, args.test_cap)]
    full = json.load(open(os.path.join(root, "topics/clinc150/data_full.json")))
    for sp in ("test", "oos_test"):
        for text, intent in full[sp]:
            test_user.append({"text": text, "label": 0, "source": f"clinc150_{sp}", "lang": "en", "surface": "user"})
    with open(os.path.join(root, "grounding/truthfulqa/TruthfulQA.csv"), encoding="utf-8") as f:
        for r in csv.DictReader(f):
            test_user.append({"text": r["Question"], "label": 0, "source": "truthfulqa", "lang": "en", "surface": "user"})
    test_doc = [dict(r, label=0) for r in cap_per_source(split(docs, "test"), trng, {}, args.test_cap)]
    return added, doc_rows, calib_user_rows, calib_doc_rows, test_user, test_doc


def build_toxicity(root, rng, args, benign_general):
    rows = []
    with open(os.path.join(root, "toxicity/davidson/labeled_data.csv"), encoding="utf-8") as f:
        for r in csv.DictReader(f):
            t = r["tweet"]
            t = re.sub(r"&amp;", "&", t)
            rows.append({"text": t, "task": "toxicity", "label": int(r["class"] in ("0", "1")), "source": "davidson"})
    tdir = os.path.join(root, "toxicity/toxigen")
    for fn in sorted(os.listdir(tdir)):
        if not fn.endswith(".txt") or fn.startswith("LICENSE"):
            continue
        lab = 1 if fn.startswith("hate_") else 0
        raw = open(os.path.join(tdir, fn), encoding="utf-8").read()
        for part in re.split(r"\\n|\n", raw):
            t = part.strip().lstrip("-").strip()
            if len(t) > 8:
                rows.append({"text": t, "task": "toxicity", "label": lab, "source": "toxigen:" + fn[:-7]})
    # dedupe (toxigen prompts repeat a lot); a text with conflicting labels is dropped
    by = {}
    for r in rows:
        by.setdefault(r["text"], []).append(r)
    uniq = [v[0] for v in by.values() if len({x["label"] for x in v}) == 1]
    val = [r for r in uniq if frac(r["text"], "tox") < 0.1]
    train = [r for r in uniq if frac(r["text"], "tox") >= 0.1]
    # balance: all non-toxic davidson + toxigen, subsample the rest to args.tox_n
    rng.shuffle(train)
    pos = [r for r in train if r["label"] == 1]
    neg = [r for r in train if r["label"] == 0]
    n_each = args.tox_n // 2
    train = pos[:n_each] + neg[:n_each]
    # general benign text as non-toxic (assistant questions must not look toxic)
    for t in rng.sample(benign_general, min(args.tox_benign, len(benign_general))):
        train.append({"text": t, "task": "toxicity", "label": 0, "source": "benign_general"})
    val = [r for r in val][:3000]
    return train, val


MMLU_FIN = {"professional_accounting", "high_school_macroeconomics", "high_school_microeconomics", "econometrics"}
MMLU_HEALTH = {"anatomy", "clinical_knowledge", "college_medicine", "professional_medicine", "medical_genetics",
               "nutrition", "virology", "human_aging"}
MMLU_LEGAL = {"professional_law", "international_law", "jurisprudence"}
MMLU_EXCLUDED = {"business_ethics", "management", "marketing", "college_biology", "high_school_biology",
                 "human_sexuality", "professional_psychology", "high_school_psychology",
                 "high_school_government_and_politics", "us_foreign_policy", "security_studies", "moral_disputes",
                 "public_relations"}
CLINC_FIN_DOMAINS = {"banking", "credit_cards"}
CLINC_FIN_INTENTS = {"payday", "taxes", "income", "rollover_401k", "w2", "direct_deposit", "exchange_rate"}
CLINC_HEALTH_INTENTS = {"vaccines"}
CLINC_EXCLUDED = {"insurance", "insurance_change", "calories", "nutrition_info", "international_visa"}


def build_topics(root, rng, args):
    """MMLU: split per question by hash into 70% train / 10% val / 20% test.
    CLINC150: its own train / val / test splits (in-scope intents; oos rows are negatives)."""
    splits = {"train": [], "val": [], "test": []}
    mdir = os.path.join(root, "topics/mmlu/test")
    for fn in sorted(os.listdir(mdir)):
        subj = fn[: -len("_test.csv")]
        if subj in MMLU_EXCLUDED:
            continue
        lab = [int(subj in MMLU_FIN), int(subj in MMLU_HEALTH), int(subj in MMLU_LEGAL)]
        with open(os.path.join(mdir, fn), encoding="utf-8") as f:
            for r in csv.reader(f):
                q = r[0].strip()
                if not q:
                    continue
                u = frac(q, "mmlu")
                sp = "train" if u < 0.7 else ("val" if u < 0.8 else "test")
                splits[sp].append({"text": q, "task": "topic", "label": lab, "source": "mmlu:" + subj})
    dom = json.load(open(os.path.join(root, "topics/clinc150/domains.json")))
    intent2dom = {i: d for d, xs in dom.items() for i in xs}
    full = json.load(open(os.path.join(root, "topics/clinc150/data_full.json")))
    for sp_src, sp in [("train", "train"), ("val", "val"), ("test", "test"), ("oos_train", "train"),
                       ("oos_val", "val"), ("oos_test", "test")]:
        for text, intent in full[sp_src]:
            if intent in CLINC_EXCLUDED:
                continue
            d = intent2dom.get(intent, "oos")
            lab = [int(d in CLINC_FIN_DOMAINS or intent in CLINC_FIN_INTENTS), int(intent in CLINC_HEALTH_INTENTS), 0]
            splits[sp].append({"text": text, "task": "topic", "label": lab, "source": f"clinc:{d}:{intent}"})
    # subsample train: keep all positives of each label (MMLU law is large: cap), negatives capped
    tr = splits["train"]
    rng.shuffle(tr)
    keep, cnt = [], Counter()
    for r in tr:
        key = tuple(r["label"])
        src = r["source"].split(":")[0]
        cap = {(1, 0, 0): args.topic_cap, (0, 1, 0): args.topic_cap, (0, 0, 1): args.topic_cap,
               (0, 0, 0): args.topic_cap * 2}.get(key, args.topic_cap)
        if cnt[(key, src)] < cap // 2 or (src == "mmlu" and key == (0, 0, 1) and cnt[(key, src)] < cap):
            keep.append(r)
            cnt[(key, src)] += 1
    splits["train"] = keep
    return splits


def build_evals(root, rng):
    """Evaluation sets (measurement only)."""
    ev = {}
    ev["injection_eval"] = [dict(r, id=h(r["text"])[:16]) for r in read_jsonl(os.path.join(root, "injection/eval.jsonl"))]
    # BIPIA indirect eval: test-split contexts x test-split attacks
    ctx = bipia_contexts(root, "test")
    att = bipia_attacks(root, "test")
    text_att = [a for a in att if a[0] == "text"]
    code_att = [a for a in att if a[0] == "code"]
    r2 = random.Random(SEED + 99)
    rows = []
    for kind, doc in ctx:
        rows.append({"text": doc, "label": 0, "source": f"bipia_test_clean:{kind}"})
        pool = code_att if kind == "code" else text_att
        for j, where in enumerate(["start", "middle", "end"]):
            _, cat, a = r2.choice(pool)
            if where == "start":
                t = a + "\n" + doc
            elif where == "end":
                t = doc + "\n" + a
            else:
                lines = doc.split("\n")
                if len(lines) > 2:
                    k = len(lines) // 2
                    t = "\n".join(lines[:k] + [a] + lines[k:])
                else:
                    k = len(doc) // 2
                    sp = doc.rfind(" ", 0, k)
                    k = sp if sp > 0 else k
                    t = doc[:k] + " " + a + " " + doc[k:]
            rows.append({"text": t, "label": 1, "source": f"bipia_test_attack:{kind}:{where}:{cat}"})
    ev["bipia_indirect"] = [dict(r, id=h(r["text"])[:16]) for r in rows]
    xs = []
    with open(os.path.join(root, "overdefence/xstest/xstest_prompts.csv"), encoding="utf-8") as f:
        for r in csv.DictReader(f):
            xs.append({"text": r["prompt"], "label": int(r["label"] == "unsafe"), "source": "xstest:" + r["type"],
                       "id": "xstest-" + r["id"]})
    ev["xstest"] = xs
    mod = []
    with gzip.open(os.path.join(root, "toxicity/openai_moderation/samples-1680.jsonl.gz"), "rt", encoding="utf-8") as f:
        for i, l in enumerate(f):
            r = json.loads(l)
            cats = {k: int(v) for k, v in r.items() if k != "prompt"}
            mod.append({"text": r["prompt"], "label": int(any(cats.values())), "cats": cats,
                        "source": "openai_moderation", "id": f"mod-{i}"})
    ev["moderation"] = mod
    return ev


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "../../../shared/data"))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "out/data"))
    ap.add_argument("--inj-pos", type=int, default=7000)
    ap.add_argument("--inj-clinc", type=int, default=1500)
    ap.add_argument("--inj-mmlu", type=int, default=800)
    ap.add_argument("--inj-tox", type=int, default=600)
    ap.add_argument("--aug-trigger-insert", type=int, default=1200)
    ap.add_argument("--aug-trigger-request", type=int, default=2000,
                    help="compositional benign trigger-word requests (runs 3 to 6; 0 skips them)")
    ap.add_argument("--aug-trigger-ml", type=int, default=0,
                    help="with --aug-trigger-request: also train on the benign multilingual trigger requests (run 3: 1)")
    ap.add_argument("--aug-compose-attack", type=int, default=3000,
                    help="runs 5-9: compositional attacks (compose.py; languages: --compose-langs)")
    ap.add_argument("--aug-compose-benign", type=int, default=1500,
                    help="run 5: benign minimal pairs of those attacks (same verbs, ordinary objects)")
    ap.add_argument("--compose-langs", default=",".join(compose.DEFAULT_LANGS),
                    help="languages compose.py generates (run 8 added zh: not shipped, see STATUS.md)")
    ap.add_argument("--compose-attack-langs", default="",
                    help="of those, the languages whose attacks are trained on (default: all of them)")
    ap.add_argument("--aug-ml-benign", type=int, default=1500)
    ap.add_argument("--aug-ml-attack", type=int, default=900)
    ap.add_argument("--aug-long-benign", type=int, default=600)
    ap.add_argument("--aug-embed", type=int, default=2500)
    ap.add_argument("--aug-faker-ml", type=int, default=1500)
    ap.add_argument("--cross-neg", type=int, default=1200, help="injection-train rows added as negatives to the toxicity and topic heads")
    ap.add_argument("--tox-n", type=int, default=5000)
    ap.add_argument("--tox-benign", type=int, default=600)
    ap.add_argument("--topic-cap", type=int, default=1000)
    ap.add_argument("--natural-user-cap", type=int, default=1000,
                    help="issue #19: natural benign user messages per source (train split; larger caps for big sources)")
    ap.add_argument("--natural-user-attack", type=int, default=3000, help="natural messages carrying a training attack")
    ap.add_argument("--natural-doc-cap", type=int, default=400, help="benign document windows per source (train split)")
    ap.add_argument("--doc-user-negatives", type=int, default=400)
    ap.add_argument("--doc-attacks", type=int, default=2800, help="document windows with a framed training attack")
    ap.add_argument("--doc-bipia-share", type=float, default=0.4,
                    help="share of the document attacks drawn from BIPIA's train-split attacks (run 15: 0, i.e. in proportion)")
    ap.add_argument("--generated-docs", type=int, default=3000, help="documents.structured() rows (split by row)")
    ap.add_argument("--debian-docs", default="/work/debdocs/x",
                    help="extracted python3.11-doc, nodejs-doc, postgresql-doc-15 (apt-get download; dpkg-deb -x)")
    ap.add_argument("--calib-cap", type=int, default=2500, help="calibration rows per source")
    ap.add_argument("--test-cap", type=int, default=5000, help="test rows per source")
    ap.add_argument("--no-natural", action="store_true", help="run 7's data (no issue #19 sources)")
    args = ap.parse_args()
    unknown = set(args.compose_langs.split(",") + [x for x in args.compose_attack_langs.split(",") if x]) - set(compose.LANGS)
    if unknown:
        ap.error(f"--compose-langs/--compose-attack-langs: no compose.py set for {', '.join(sorted(unknown))} "
                 f"(known: {', '.join(sorted(compose.LANGS))})")
    rng = random.Random(SEED)
    os.makedirs(args.out, exist_ok=True)
    root = args.data

    topics = build_topics(root, rng, args)
    mmlu_benign = [r["text"] for r in topics["train"] if r["source"].startswith("mmlu")]
    clinc_benign = [r["text"] for r in topics["train"] if r["source"].startswith("clinc")]
    tox_train, tox_val = build_toxicity(root, rng, args, clinc_benign + mmlu_benign)
    tox_texts = [r["text"] for r in tox_train if r["source"] != "benign_general"]
    inj_train, inj_val, hold_b, hold_a = build_injection(root, rng, args, tox_texts, mmlu_benign, clinc_benign)
    evals = build_evals(root, rng)
    natural = {}
    if not args.no_natural:
        added, doc_rows, cu, cd, tu, td = build_natural(root, rng, args, inj_train, inj_val, hold_a)
        seen = {r["text"] for r in inj_train} | {r["text"] for r in inj_val + hold_b + hold_a}
        held = {r["text"] for r in cu + cd + tu + td}
        inj_train += [r for r in added if r["text"] not in seen and r["text"] not in held]
        natural = {"document_train": [r for r in doc_rows if r["text"] not in held], "calib_user": cu,
                   "calib_document": cd, "test_user": tu, "test_document": td}
    # cross-task negatives: the toxicity and topic heads must stay quiet on injection-style text
    cross = [r for r in inj_train if not r["source"].startswith(("aug:toxicity", "natural:"))]
    for r in rng.sample(cross, min(args.cross_neg, len(cross))):
        tox_train.append({"text": r["text"], "task": "toxicity", "label": 0, "source": "cross:" + r["source"]})
    for r in rng.sample(cross, min(args.cross_neg, len(cross))):
        topics["train"].append({"text": r["text"], "task": "topic", "label": [0, 0, 0], "source": "cross:" + r["source"]})
    # toxicity validation: balanced, plus general benign text (held-out topic val questions)
    tv_pos = [r for r in tox_val if r["label"] == 1]
    tv_neg = [r for r in tox_val if r["label"] == 0]
    gen = [r["text"] for r in topics["val"]]
    tv_neg += [{"text": t, "task": "toxicity", "label": 0, "source": "benign_general_val"} for t in rng.sample(gen, min(500, len(gen)))]
    tox_val = tv_pos[:len(tv_neg)] + tv_neg

    files = {"injection_train": inj_train, "injection_val": inj_val, "injection_holdout_benign": hold_b,
             "injection_holdout_attack": hold_a, "toxicity_train": tox_train, "toxicity_val": tox_val,
             "topic_train": topics["train"], "topic_val": topics["val"], "topic_test": topics["test"]}
    files.update({"eval_" + k: v for k, v in evals.items()})
    files.update(natural)
    stats = {}
    for k, v in files.items():
        write_jsonl(os.path.join(args.out, k + ".jsonl"), v)
        c = Counter()
        for r in v:
            lab = r["label"]
            c[str(lab)] += 1
        srcs = Counter(r["source"].split(":")[0] + (":" + r["source"].split(":")[1] if r["source"].startswith(("aug", "holdout", "hardneg")) else "") for r in v)
        stats[k] = {"rows": len(v), "labels": dict(c), "sources": dict(srcs.most_common())}
    json.dump(stats, open(os.path.join(args.out, "stats.json"), "w"), indent=1)
    for k, v in stats.items():
        print(k, v["rows"], v["labels"])


if __name__ == "__main__":
    main()
