"""Shared definitions of the entity head (issue #22): labels, token_case, windows, decoding.

Everything the Rust side must reproduce is here and in the manifest:
  * token_case (per token, from the ORIGINAL text slice the tokenizer's offsets point at),
  * windows (manifest `window`: 254 content tokens, stride 192) and how windows are stitched per token,
  * BIO decoding into character spans (UTF-8 byte offsets in the fixture) with per-category thresholds.
"""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
MODEL_DIR = os.path.join(REPO, "models", "warden-minilm")
DATA = os.environ.get("DATA", os.path.abspath(os.path.join(REPO, "..", "shared", "data")))
OUT = os.environ.get("NER_OUT", os.path.join(HERE, "out"))

CATEGORIES = ["PER", "LOC", "ADDR", "ORG"]
RUST_CATEGORY = {"PER": "pii.person", "LOC": "pii.location", "ADDR": "pii.address", "ORG": "pii.organization"}
LABELS = ["O"] + [f"{p}-{c}" for c in CATEGORIES for p in ("B", "I")]
L2I = {l: i for i, l in enumerate(LABELS)}
IGNORE = -1  # no loss (e.g. spaCy FAC spans, tokens of unknown status)

CONTENT = 254
STRIDE = 192
HALF_OVERLAP = (CONTENT - STRIDE) // 2  # 31
CLS, SEP = 101, 102
N_CASE = 5


def tokenizer():
    from tokenizers import Tokenizer
    t = Tokenizer.from_file(os.path.join(MODEL_DIR, "tokenizer.json"))
    t.no_padding()
    t.no_truncation()
    return t


def case_of(s):
    """token_case of one token's original text slice s.

    0 = no cased letter (digits, punctuation, CJK, ...; also [CLS]/[SEP]/padding)
    1 = lowercase: cased letters, none uppercase
    2 = Capitalised: exactly one uppercase letter and it is the first cased letter (also a lone capital: "I", "A")
    3 = ALL CAPS: two or more uppercase letters, no lowercase letter
    4 = mixed: anything else ("McDonald", "iPhone", "eBay")
    Uppercase/lowercase = Unicode Uppercase/Lowercase properties (Python str.isupper/islower on one character,
    Rust char::is_uppercase/is_lowercase).
    """
    up = lo = 0
    first = None
    for ch in s:
        if ch.isupper():
            up += 1
            if first is None:
                first = "u"
        elif ch.islower():
            lo += 1
            if first is None:
                first = "l"
    if up == 0 and lo == 0:
        return 0
    if up == 0:
        return 1
    if lo == 0:
        return 3 if up >= 2 else 2
    if up == 1 and first == "u":
        return 2
    return 4


def encode(tok, text):
    """Content tokens of the whole text: ids, char offsets, token strings, token_case."""
    e = tok.encode(text, add_special_tokens=False)
    cases = [case_of(text[a:b]) for a, b in e.offsets]
    return e.ids, e.offsets, e.tokens, cases


def windows(n):
    """(start, end) content-token ranges of the windows of an n-token text (manifest window; mirrors
    src/model/window.rs and models/train/model.py: a text of <= 254 content tokens is one window)."""
    out, start = [], 0
    while True:
        end = min(start + CONTENT, n)
        out.append((start, end))
        if end == n:
            return out
        start += STRIDE


def owner_window(i, wins):
    """Which window a content token's probabilities are taken from: the first window covering it, unless the
    next window also covers it and the token lies past the middle of their overlap (i >= next.start + 31)."""
    for w, (s, e) in enumerate(wins):
        if s <= i < e:
            if w + 1 < len(wins) and i >= wins[w + 1][0] + HALF_OVERLAP:
                continue
            return w
    raise ValueError(i)


def char_to_byte(text):
    """Map char offset -> UTF-8 byte offset (list of len(text)+1)."""
    out, b = [0], 0
    for ch in text:
        b += len(ch.encode("utf-8"))
        out.append(b)
    return out


def decode(probs, offsets, tokens, thresholds, text=None, score="mean", trim="lead", rules="org"):
    """BIO decoding of per-token probabilities [n, len(LABELS)] of the content tokens (already stitched across
    windows) into character spans.

    1. Per token: P(X) = P(B-X) + P(I-X) for each category X; the token's category is the argmax over
       [P(O), P(PER), P(LOC), P(ADDR), P(ORG)] (lowest index on ties).
    2. Walk the tokens: category O closes the open span. Category X extends the open span if it has category X
       and (the token is a word continuation, i.e. its vocabulary string starts with "##", or P(I-X) >= P(B-X));
       otherwise it closes the open span and opens a new one of category X.
    3. Whole words: a span starting on a "##" token extends back to its word's first token; a span followed by
       "##" tokens extends over them.
    4. Trim (only if text is given): leading tokens of a span whose original text has no alphanumeric character
       (punctuation, emoji, symbols: Python str.isalnum / Rust char::is_alphanumeric) are dropped from it
       (trailing ones are kept: on dev, trimming them too lost "Inc." / "(CN)"-style ends and exact F1).
    5. score = mean over the span's tokens of P(X); keep the span if score >= thresholds[X]; a span that
       overlaps the previous kept span is dropped.
    6. rules "org" (the default; needs text): the company-name grammar of `organisations` over the kept spans.
    Returns [(category, start_char, end_char, score)].
    """
    n = len(tokens)
    if n == 0:
        return []
    nc = len(CATEGORIES)
    pc = np.concatenate([probs[:, :1]] + [probs[:, 1 + 2 * c:3 + 2 * c].sum(1, keepdims=True) for c in range(nc)], 1)
    cat_of = np.argmax(pc, axis=1)
    spans, cur = [], None
    for i in range(n):
        c = int(cat_of[i])
        if c == 0:
            if cur:
                spans.append(cur)
            cur = None
            continue
        x = c - 1
        cont = tokens[i].startswith("##")
        if cur and cur[0] == x and (cont or probs[i, 2 + 2 * x] >= probs[i, 1 + 2 * x]):
            cur[2] = i
        else:
            if cur:
                spans.append(cur)
            cur = [x, i, i]
    if cur:
        spans.append(cur)

    def alnum(i):
        return text is None or any(ch.isalnum() for ch in text[offsets[i][0]:offsets[i][1]])

    out, last_end = [], -1
    for x, a, b in spans:
        while a > 0 and tokens[a].startswith("##"):
            a -= 1
        while b + 1 < n and tokens[b + 1].startswith("##"):
            b += 1
        while trim in ("both", "lead") and a <= b and not alnum(a):
            a += 1
        while trim == "both" and b >= a and not alnum(b):
            b -= 1
        if a > b:
            continue
        p = pc[a:b + 1, 1 + x]
        sc = float(p.mean() if score == "mean" else p.min())
        cat = CATEGORIES[x]
        if sc >= thresholds.get(cat, 0.5) and offsets[a][0] >= last_end:
            out.append((cat, offsets[a][0], offsets[b][1], sc))
            last_end = offsets[b][1]
    if text is not None and "org" in rules.split(","):
        out = organisations(text, out, thresholds.get("ORG", 0.5))
    return out


def decode_v1(probs, offsets, tokens, thresholds, text=None, score="mean"):
    """The first decoder (argmax of the 9 labels, no trimming); kept for compare_decoders.py.

    BIO decoding of per-token probabilities [n, len(LABELS)] of the content tokens (already stitched across
    windows) into character spans.

    1. label = argmax over LABELS (first index on ties).
    2. Walk the tokens: O closes the open span. B-X or I-X opens a new span of category X unless the open span
       has category X and (the label is I-X or the token is a word continuation, i.e. its string starts with
       "##"), in which case it extends the open span. A change of category always splits.
    3. Whole words: a span starting on a "##" token extends back to its word's first token; a span followed by
       "##" tokens extends over them.
    4. score = mean (or min) over the span's tokens of P(B-X) + P(I-X); the span is kept if score >= thresholds[X].
    Returns [(category, start_char, end_char, score)].
    """
    n = len(tokens)
    if n == 0:
        return []
    lab = np.argmax(probs, axis=1)
    spans, cur = [], None
    for i in range(n):
        name = LABELS[lab[i]]
        if name == "O":
            if cur:
                spans.append(cur)
            cur = None
            continue
        bio, cat = name.split("-", 1)
        cont = tokens[i].startswith("##")
        if cur and cur[0] == cat and (bio == "I" or cont):
            cur[2] = i
        else:
            if cur:
                spans.append(cur)
            cur = [cat, i, i]
    if cur:
        spans.append(cur)
    out = []
    for k, (cat, a, b) in enumerate(spans):
        while a > 0 and tokens[a].startswith("##"):
            a -= 1
        while b + 1 < n and tokens[b + 1].startswith("##"):
            b += 1
        ci = CATEGORIES.index(cat)
        p = probs[a:b + 1, 1 + 2 * ci] + probs[a:b + 1, 2 + 2 * ci]
        s = float(p.mean() if score == "mean" else p.min())
        if s >= thresholds.get(cat, 0.5):
            out.append((cat, offsets[a][0], offsets[b][1], s))
    # whole-word extension can make neighbouring spans overlap: keep the first, drop overlapped ones
    clean, last_end = [], -1
    for sp in out:
        if sp[1] >= last_end:
            clean.append(sp)
            last_end = sp[2]
    return clean


def labels_for(offsets, tokens, spans):
    """Token BIO label ids for char spans [(start, end, cat_or_None)]; cat None = ignore (no loss).
    A token belongs to a span if its char range overlaps it."""
    y = np.zeros(len(offsets), dtype=np.int8)
    for s, e, cat in sorted(spans):
        first = True
        for i, (a, b) in enumerate(offsets):
            if b <= s or a >= e:
                continue
            if cat is None:
                y[i] = IGNORE
            else:
                y[i] = L2I[("B-" if first else "I-") + cat]
            first = False
    return y


def load_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def save_jsonl(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


# --- organisations: what the head's spans miss about how company names are written (issue #22) ----------------
# Applied to the kept spans of `decode` (the served decoder); `src/model/entities.rs` `organisations` mirrors it.

# Legal forms: a capitalised name before one of these is a company, with or without a span of the head.
LEGAL_FORMS = {"Inc", "Inc.", "Incorporated", "Corp", "Corp.", "Corporation", "Co.", "LLC", "L.L.C.", "LLP", "Ltd",
               "Ltd.", "Limited", "PLC", "plc", "GmbH", "AG", "KGaA", "S.A.", "S.L.", "SARL", "S.A.R.L.", "S.A.S.",
               "S.p.A.", "SpA", "S.r.l.", "Srl", "B.V.", "N.V.", "Pty", "Oy", "Oyj", "A/S", "ApS", "ASA"}
# Words that close an organisation's name when they follow a span of the head ("Kilkenny Foundation").
ORG_HEADS = {"Group", "Holdings", "Partners", "Associates", "Company", "Foundation", "Institute", "University",
             "College", "Hospital", "Council", "Bank", "Agency", "Authority", "Association", "Society", "Trust",
             "Club", "Library", "Museum", "Systems", "Solutions", "Technologies", "Consulting", "Logistics",
             "Industries", "Enterprises", "Ventures", "Capital", "Labs"}
# After "&" or "and": "Smith & Sons", "Jones and Partners".
AMP_HEADS = {"Sons", "Co.", "Co", "Partners", "Associates", "Company"}
AMPS = (" & ", " and ")
# Words an organisation's name does not consist of alone (with no "of" or "for" between them): titles,
# departments, roles in a contract (lower case).
NOT_ORG_WORDS = {
    "chief", "senior", "junior", "head", "lead", "principal", "vice", "deputy", "assistant", "associate",
    "executive", "general", "regional", "global", "software", "marketing", "sales", "product", "project", "data",
    "financial", "finance", "operations", "technical", "creative", "account", "accounts", "business", "customer",
    "human", "resources", "quality", "assurance", "support", "relations", "development", "engineering", "legal",
    "procurement", "accounting", "compliance", "security", "it", "hr", "research", "information", "technology",
    "president", "director", "manager", "officer", "engineer", "supplier", "client", "buyer", "seller", "vendor",
    "purchaser", "contractor", "licensor", "licensee", "lessor", "lessee", "tenant", "landlord", "company",
    "employer", "employee", "party", "parties", "board", "team", "department", "management", "staff", "nda"}
# A span of one of these alone names nothing.
JOINING_WORDS = {"of", "for", "and", "the", "&"}
# A capitalised word right after an ORG span that makes it a job title ("Software Engineer").
JOB_NOUNS = {"Engineer", "Officer", "Manager", "Director", "Developer", "Analyst", "Designer", "Consultant",
             "Specialist", "Coordinator", "Administrator", "Architect", "Technician", "Executive", "President",
             "Accountant", "Scientist", "Editor", "Representative", "Adviser", "Advisor", "Supervisor", "Assistant",
             "Intern", "Controller", "Strategist", "Recruiter", "Planner"}
CONNECTORS = {"of", "for", "de", "du", "des", "der", "di", "del"}
CLOSERS = ",;:!?)]}\"'’"


def _ws(ch):
    """Rust char::is_whitespace (Unicode White_Space); Python's isspace adds U+001C..U+001F."""
    return ch.isspace() and not "\x1c" <= ch <= "\x1f"


def _word(text, i):
    """The word starting at i: (end, core), core without closing punctuation or a possessive 's, end where the
    core ends."""
    j = i
    while j < len(text) and not _ws(text[j]):
        j += 1
    core = text[i:j]
    if core.endswith("'s") or core.endswith("’s"):
        core = core[:-2]
    core = core.rstrip(CLOSERS)
    return i + len(core), core


def _in(core, words):
    """Length of the part of core that is in words (core itself, or without a final full stop), or 0."""
    if core in words:
        return len(core)
    if core.endswith(".") and core[:-1] in words:
        return len(core) - 1
    return 0


def _suffix_after(text, e):
    """End of a legal form, closing word or "& Sons" that follows a span ending at e, or None."""
    rest = text[e:]
    tries = [(" ", LEGAL_FORMS | ORG_HEADS), (", ", LEGAL_FORMS)] + [(amp, AMP_HEADS) for amp in AMPS]
    for lead, words in tries:
        if rest.startswith(lead):
            k = e + len(lead)
            n = _in(_word(text, k)[1], words)
            if n:
                return k + n
    return None


def _word_starts(text, a, b):
    """Where each word that starts in text[a:b] starts."""
    i = a
    while i < b:
        if _ws(text[i]):
            i += 1
            continue
        yield i
        while i < b and not _ws(text[i]):
            i += 1


def _words(text, a, b):
    """Cores of the words that start in text[a:b]."""
    return [_word(text, i)[1] for i in _word_starts(text, a, b)]


def organisations(text, spans, org_threshold):
    """Company-name grammar over the kept spans [(cat, start, end, score)] of one text (sorted, no overlaps). It
    only makes, widens, joins or drops ORG spans: a PER, LOC or ADDR span is never changed or taken in.

    1. an ORG span followed by a legal form ("Ltd", "GmbH", after " " or ", "), a closing word ("Group",
       "Foundation", after " ") or "& Sons" takes it in (repeatedly: "Acme Group Ltd"), unless that would reach
       into a span of another category (an ORG span reached is taken in);
    2. a legal form outside every span, after one to three capitalised words joined by single spaces, makes
       those words and the form an ORG span scored at the ORG threshold;
    3. two ORG spans one space apart (the first ending on a letter or digit) become one (score: the higher):
       "Bank of" + "America";
    4. an ORG span that rule 1 or 2 did not make is dropped when all its words are titles, departments or
       contract roles (NOT_ORG_WORDS; "Department of" stays), when it is one joining word ("of", "the"), or when
       a job noun follows it ("Software" in "Software Engineer").
    """
    spans = [[c, a, b, s, False] for c, a, b, s in spans]  # ..., made by a rule
    # 1
    out = []
    for k, sp in enumerate(spans):
        if out and sp[1] < out[-1][2]:
            continue  # taken in by the ORG span before it
        if sp[0] == "ORG":
            for _ in range(3):
                e = _suffix_after(text, sp[2])
                if e is None or any(q[1] < e and q[0] != "ORG" for q in spans[k + 1:] if q[1] >= sp[2]):
                    break
                sp[2], sp[4] = max(e, max((q[2] for q in spans[k + 1:] if q[1] < e), default=e)), True
        out.append(sp)
    spans = out
    # 2
    for i in _word_starts(text, 0, len(text)):
        n = _in(_word(text, i)[1], LEGAL_FORMS)
        if n and not any(a < i + n and i < b for _, a, b, _, _ in spans):
            start, k = None, i
            for _ in range(3):
                if k < 2 or text[k - 1] != " " or _ws(text[k - 2]):
                    break
                p = k - 1
                while p > 0 and not _ws(text[p - 1]):
                    p -= 1
                w = text[p:k - 1]
                if not w[:1].isupper() or any(a < k - 1 and p < b for _, a, b, _, _ in spans) or w[-1] in CLOSERS:
                    break
                start, k = p, p
            if start is not None:
                spans.append(["ORG", start, i + n, org_threshold, True])
                spans.sort(key=lambda s: s[1])
    # 3
    out = []
    for sp in spans:
        if out and out[-1][0] == "ORG" and sp[0] == "ORG" and text[out[-1][2]:sp[1]] == " " \
                and text[out[-1][2] - 1].isalnum():
            prev = out[-1]
            prev[2], prev[3], prev[4] = sp[2], max(prev[3], sp[3]), prev[4] or sp[4]
            continue
        out.append(sp)
    # 4
    final = []
    for c, a, b, s, made in out:
        if c == "ORG" and not made:
            ws = _words(text, a, b)
            if ws and all(w.lower() in NOT_ORG_WORDS for w in ws) and not any(w in CONNECTORS for w in ws):
                continue
            if len(ws) == 1 and ws[0].lower() in JOINING_WORDS:
                continue
            if text[b:b + 1] == " ":
                _, nxt = _word(text, b + 1)
                if _in(nxt, JOB_NOUNS):
                    continue
        final.append((c, a, b, s))
    return final
