"""Benign documents: the retrieved-context side of a RAG application, for the injection classifier.

A RAG app feeds the model retrieved passages, and ordinary documents are full of imperatives and
security words ("ignore", "override", "bypass", "delete", "password", "must", "prompt") that a
naive detector mistakes for prompt injections.  This module supplies two sources of such benign
text; none of it is addressed to an AI system.

1. `debian_docs(root, max_chars)`: real documentation, chunked like a retriever would chunk it.
   Extracted from Debian packages (`apt-get download python3.11-doc nodejs-doc postgresql-doc-15`
   followed by `dpkg-deb -x`), HTML converted to text with the stdlib `html.parser`:
     - python3.11-doc     -> /usr/share/doc/python3.11/html          licence PSF-2.0
     - nodejs-doc         -> /usr/share/doc/nodejs/api/*.html         licence MIT
     - postgresql-doc-15  -> /usr/share/doc/postgresql-doc-15/html    licence PostgreSQL
   Each package's copyright file is under /usr/share/doc/<package>/copyright.  Chunks of one HTML
   page share its `doc_id`, so a split by `doc_id` keeps a page on one side.

2. `structured(rng, n)`: generated benign structured text of ~18 kinds (logs, CSV, JSON, YAML,
   stack traces, diffs, whois records, HTML and plain-text e-mails, READMEs, changelogs, SQL
   dumps, shell sessions, calendar invites, percentage tables, meeting notes, product reviews,
   support tickets), several templates per kind, names/companies/addresses from Faker in nine
   locales.  Deterministic given `rng`.  Generated text: no licence needed.

Run `python documents.py` to print counts and samples.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import os
import random
import re
import string
import textwrap
from html.parser import HTMLParser

# ---------------------------------------------------------------------------------------------
# 1. Debian documentation
# ---------------------------------------------------------------------------------------------

# package -> (html root relative to the extraction root, licence, file filter)
DEBIAN_PACKAGES = {
    "python3.11-doc": ("usr/share/doc/python3.11/html", "PSF-2.0"),
    "nodejs-doc": ("usr/share/doc/nodejs/api", "MIT"),
    "postgresql-doc-15": ("usr/share/doc/postgresql-doc-15/html", "PostgreSQL"),
}

# Pages that are indexes, search pages or whole-manual concatenations (nodejs all.html repeats
# every other page).
_SKIP_FILE = re.compile(r"^(genindex.*|py-modindex|search|index|contents|all|bookindex|"
                        r"release-\d.*|appendix-obsolete.*)\.html$")
_SKIP_DIR = {"_static", "_sources", "_downloads", "_images", "assets"}

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr", "param"}
_DROP_TAGS = {"script", "style", "head", "nav", "header", "footer", "noscript", "form", "button",
              "select", "svg", "template"}
_DROP_CLASSES = {"navheader", "navfooter", "related", "sphinxsidebar", "sphinxsidebarwrapper",
                 "footer", "toc", "picker", "mobile-nav", "headerlink", "menu-wrapper",
                 "inline-search", "version_switcher_placeholder", "language_switcher_placeholder",
                 "header-container", "sidebar", "indexterm", "clearer", "mark"}
_DROP_IDS = {"column2", "gtoc", "toc", "sidebarbutton", "searchbox"}
_DROP_ROLES = {"navigation", "search"}
_BLOCK = {"p", "div", "section", "article", "main", "li", "dt", "dd", "blockquote", "table",
          "tr", "ul", "ol", "dl", "caption", "figure", "figcaption", "h1", "h2", "h3", "h4",
          "h5", "h6", "body", "aside"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}


class _TextExtractor(HTMLParser):
    """HTML -> list of blocks (kind, text); kind is 'p', 'h' (heading) or 'pre'.

    Also counts how many characters were link text, to drop pages that are mostly links.
    """

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str]] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, drops its subtree)
        self.drop = 0
        self.pre = 0
        self.link = 0
        self.heading = 0
        self.buf: list[str] = []
        self.link_chars = 0
        self.text_chars = 0

    def _dropped(self, tag, attrs):
        if tag in _DROP_TAGS:
            return True
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        return bool(classes & _DROP_CLASSES) or a.get("id") in _DROP_IDS or a.get("role") in _DROP_ROLES

    def _flush(self):
        raw = "".join(self.buf)
        self.buf = []
        if self.pre:
            return
        text = re.sub(r"\s+", " ", raw).strip()
        if text:
            self.blocks.append(("h" if self.heading else "p", text))

    def handle_starttag(self, tag, attrs):
        if tag in _VOID:
            if tag == "br" and not self.drop:
                self.buf.append("\n" if self.pre else " ")
            return
        dropped = self._dropped(tag, attrs)
        self.stack.append((tag, dropped))
        if dropped:
            self.drop += 1
        if self.drop:
            return
        if tag == "pre":
            self._flush()
            self.pre += 1
        elif tag in _BLOCK:
            self._flush()
            self.heading += tag in _HEADINGS
        elif tag in ("td", "th"):
            self.buf.append(" ")
        elif tag == "a":
            self.link += 1

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in _VOID or not any(t == tag for t, _ in self.stack):
            return
        while self.stack:  # tolerate unclosed children
            t, dropped = self.stack.pop()
            if dropped:
                self.drop -= 1
            elif not self.drop:
                self._close(t)
            if t == tag:
                break

    def _close(self, tag):
        if tag == "pre":
            text = "".join(self.buf).strip("\n").rstrip()
            self.buf = []
            self.pre -= 1
            if text.strip():
                self.blocks.append(("pre", textwrap.dedent(text)))
        elif tag in _BLOCK:
            self._flush()
            self.heading -= tag in _HEADINGS
        elif tag == "a":
            self.link -= 1

    def handle_data(self, data):
        if self.drop:
            return
        self.buf.append(data)
        n = len(data.strip())
        self.text_chars += n
        if self.link:
            self.link_chars += n

    def close(self):
        super().close()
        self._flush()


def html_to_blocks(markup: str) -> tuple[list[tuple[str, str]], float]:
    """Return the text blocks of a page and the fraction of its text that is link text."""
    p = _TextExtractor()
    p.feed(markup)
    p.close()
    return p.blocks, p.link_chars / max(1, p.text_chars)


def _split_long(text: str, max_chars: int) -> list[str]:
    """Split one over-long block at line, then sentence, then word boundaries."""
    seps = ["\n", ". ", " "]
    for sep in seps:
        parts = text.split(sep)
        if len(parts) == 1:
            continue
        out, cur = [], ""
        for part in parts:
            piece = part if not cur else cur + sep + part
            if len(piece) <= max_chars:
                cur = piece
            else:
                if cur:
                    out.append(cur)
                cur = part
        out.append(cur)
        if all(len(o) <= max_chars for o in out):
            return out
        text_parts = []
        for o in out:  # recurse on the pieces still too long
            text_parts.extend([o] if len(o) <= max_chars else _split_long(o, max_chars))
        return text_parts
    return [text[i:i + max_chars] for i in range(0, len(text), max_chars)]


def chunk_blocks(blocks: list[tuple[str, str]], max_chars: int = 1500, min_chars: int = 200) -> list[str]:
    """Pack blocks into passages of at most max_chars, breaking at block boundaries.

    A heading is never left dangling at the end of a passage; it moves to the next one.
    """
    pieces: list[tuple[str, str]] = []
    for kind, text in blocks:
        if len(text) <= max_chars:
            pieces.append((kind, text))
        else:
            pieces.extend((kind, t) for t in _split_long(text, max_chars) if t.strip())
    chunks, cur, size = [], [], 0
    for kind, text in pieces:
        add = len(text) + (2 if cur else 0)
        if cur and size + add > max_chars:
            k = len(cur)  # trailing headings move to the next passage when they fit there
            while k > 1 and cur[k - 1][0] == "h":
                k -= 1
            carry = cur[k:]
            if sum(len(t) + 2 for _, t in carry) + len(text) > max_chars:
                k, carry = len(cur), []
            chunks.append("\n\n".join(t for _, t in cur[:k]))
            cur = carry
            size = sum(len(t) for _, t in cur) + 2 * max(0, len(cur) - 1)
            add = len(text) + (2 if cur else 0)
        cur.append((kind, text))
        size += add
    if cur:
        chunks.append("\n\n".join(t for _, t in cur))
    return [c for c in chunks if len(c) >= min_chars]


def _html_files(base: str):
    for dirpath, dirnames, filenames in os.walk(base, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIR)
        for name in sorted(filenames):
            if name.endswith(".html") and not _SKIP_FILE.match(name):
                yield os.path.join(dirpath, name)


def debian_docs(root: str = "/work/debdocs/x", max_chars: int = 1500) -> list[dict]:
    """Chunked plain text of the Debian documentation packages extracted under `root`.

    Returns dicts {doc_id, chunk, text, package, licence}; doc_id is "<package>/<path relative to
    the package's HTML root>".  Pages that are mostly links (tables of contents) are skipped.
    """
    out = []
    for package, (rel, licence) in DEBIAN_PACKAGES.items():
        base = os.path.join(root, rel)
        if not os.path.isdir(base):
            continue
        for path in _html_files(base):
            with open(path, encoding="utf-8", errors="replace") as f:
                blocks, link_frac = html_to_blocks(f.read())
            if link_frac > 0.5:
                continue
            doc_id = f"{package}/{os.path.relpath(path, base)}"
            for i, text in enumerate(chunk_blocks(blocks, max_chars)):
                out.append({"doc_id": doc_id, "chunk": i, "text": text, "package": package,
                            "licence": licence})
    return out


# ---------------------------------------------------------------------------------------------
# 2. Generated structured text
# ---------------------------------------------------------------------------------------------

LOCALES = ["en_US", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR", "ja_JP", "zh_CN"]
_LOCALE_WEIGHTS = [8, 1, 1, 1, 1, 1, 1, 1, 1]
_FAKERS: dict = {}

# Nothing generated may read as if addressed to a chat model; a sample that matches is redrawn.
_BANNED = re.compile(r"(?i)\bassistant|\bas an ai\b|system prompt|you are now|previous instructions|"
                     r"chatgpt|language model|\bllm\b|\bgpt\b|jailbreak")
_BANNED_CS = re.compile(r"\bAI\b")

MIN_CHARS, MAX_CHARS = 150, 2500


def _faker(locale: str):
    if locale not in _FAKERS:
        from faker import Faker  # imported lazily: debian_docs() needs only the stdlib
        _FAKERS[locale] = Faker(locale)
    return _FAKERS[locale]


class Ctx:
    """Per-sample context: the caller's rng, a Faker seeded from it, and small helpers."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.locale = rng.choices(LOCALES, _LOCALE_WEIGHTS)[0]
        self.fk = _faker(self.locale)
        self.fk.seed_instance(rng.getrandbits(64))
        self.en = _faker("en_US") if self.locale != "en_US" else self.fk
        if self.en is not self.fk:
            self.en.seed_instance(rng.getrandbits(64))

    # small helpers, so templates read naturally
    def pick(self, seq):
        return self.rng.choice(seq)

    def n(self, a, b):
        return self.rng.randint(a, b)

    def chance(self, p):
        return self.rng.random() < p

    def dt(self, start_year=2019, end_year=2025):
        """A fixed-range datetime (never relative to today, so output is reproducible)."""
        start = dt.datetime(start_year, 1, 1)
        span = (dt.datetime(end_year, 12, 31) - start).total_seconds()
        return start + dt.timedelta(seconds=self.rng.randrange(int(span)))

    def name(self):
        return self.fk.name()

    def user(self):
        return self.en.user_name()

    def email(self, name=None):
        domain = self.en.domain_name() if self.chance(0.6) else self.en.free_email_domain()
        if name:  # drop titles such as "Mr." or "Univ.Prof.", keep first and last word
            words = [re.sub(r"[^a-z]", "", w) for w in _ascii(name).lower().split() if "." not in w]
            words = [w for w in words if w]
            local = ".".join(words[:1] + words[-1:] if len(words) > 1 else words) or self.en.user_name()
            return f"{local}@{domain}"
        return f"{self.en.user_name()}@{domain}"

    def company(self):
        return self.fk.company()

    def ip(self):
        return self.en.ipv4_public() if self.chance(0.7) else self.en.ipv4_private()

    def hex(self, k=8):
        return "".join(self.pick("0123456789abcdef") for _ in range(k))

    def host(self):
        return self.pick(["web", "api", "db", "worker", "cache", "edge", "build", "mail", "app"]) + \
            f"-{self.pick(['prod', 'stg', 'dev', 'eu1', 'us-east', 'int'])}-{self.n(1, 12):02d}"

    def words(self, k):
        return " ".join(self.en.words(k))

    def city(self):
        return self.fk.city()


def _ascii(s: str) -> str:
    import unicodedata
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()


def _table(rows: list[list[str]], style: str) -> str:
    """Render rows (first row = header) as markdown, ascii-box, aligned plain or tab-separated."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    if style == "tsv":
        return "\n".join("\t".join(map(str, r)) for r in rows)
    if style == "markdown":
        line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"
        sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
        return "\n".join([line(rows[0]), sep] + [line(r) for r in rows[1:]])
    if style == "box":
        sep = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
        line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"
        return "\n".join([sep, line(rows[0]), sep] + [line(r) for r in rows[1:]] + [sep])
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()
    return "\n".join([line(rows[0]), "  ".join("-" * w for w in widths)] + [line(r) for r in rows[1:]])


# Shared vocabulary: config keys, paths, services.  Deliberately full of "override", "ignore",
# "bypass", "force", "password", the words ordinary technical text uses all the time.
CONFIG_KEYS = ["ignore_errors", "override_timeout", "bypass_proxy", "force_ssl", "allow_insecure",
               "max_retries", "cache_ttl", "log_level", "skip_verify", "admin_password_file",
               "disable_auth", "strict_mode", "ignore_case", "override_locale", "retry_backoff",
               "pool_size", "read_only", "dry_run", "delete_after_days", "prompt_on_exit"]
SERVICES = ["nginx", "postgres", "redis", "sshd", "kubelet", "dockerd", "app", "billing-api",
            "auth-service", "scheduler", "cron", "postfix", "haproxy", "celery", "gunicorn"]
PATHS = ["/etc/app/config.yaml", "/etc/nginx/conf.d/default.conf", "/srv/app/settings.toml",
         "/opt/service/override.env", "/var/lib/app/state.json", "~/.config/tool/config.ini",
         "/etc/systemd/system/app.service.d/override.conf", "./config/production.json"]
URL_PATHS = ["/api/v1/users", "/api/v2/orders/{id}", "/login", "/static/js/app.{hex}.js", "/healthz",
             "/admin/settings", "/search?q=report", "/password/reset", "/favicon.ico", "/metrics",
             "/api/v1/invoices/{id}/pdf", "/wp-login.php", "/.env", "/cart/checkout"]
PRODUCTS = ["wireless headphones", "espresso machine", "hiking backpack", "mechanical keyboard",
            "robot vacuum", "standing desk", "air fryer", "Wi-Fi router", "e-reader", "office chair",
            "electric toothbrush", "smartwatch", "blender", "portable SSD", "baby monitor", "tent"]
TOOLS = ["rsync", "terraform", "kubectl", "ansible", "pytest", "eslint", "gradle", "helm", "pip", "npm"]


# --- logs ------------------------------------------------------------------------------------

LOG_MESSAGES = [
    ("WARN", "ignoring invalid config key '{key}' in {path}"),
    ("INFO", "override applied: {key}={val} (source: {path})"),
    ("ERROR", 'password authentication failed for user "{user}"'),
    ("WARN", "request to {url} failed: connection reset by peer; retrying in {s}s (attempt {a}/5)"),
    ("DEBUG", "bypassing cache for {upath}: Cache-Control: no-store"),
    ("INFO", "user {user} logged in from {ip}"),
    ("WARN", "disk usage on /var at {pct}% exceeds threshold (85%)"),
    ("ERROR", "upstream timed out (110: Connection timed out) while reading response header from upstream"),
    ("INFO", "deleted {k} expired sessions"),
    ("WARN", "certificate for {domain} expires in {s} days"),
    ("INFO", "skipping migration {mig}: already applied"),
    ("WARN", "option --force is deprecated and will be removed in {ver}; use --override"),
    ("ERROR", "failed to delete object s3://{bucket}/{hex}.parquet: AccessDenied"),
    ("WARN", 'ignoring unknown field "{key}" in request body'),
    ("INFO", "admin override: rate limit for tenant {k} raised to {m} req/min"),
    ("ERROR", "Failed password for invalid user {user} from {ip} port {port} ssh2"),
    ("INFO", "Accepted publickey for {user} from {ip} port {port} ssh2"),
    ("WARN", "job {hex} exceeded soft limit; it must finish within {s}s or it will be killed"),
    ("INFO", "forcing full resync of shard {k}"),
    ("ERROR", 'could not open file "{path}": Permission denied'),
    ("WARN", "TLS verification disabled for {domain} (insecure_skip_verify=true)"),
    ("INFO", "password prompt suppressed: non-interactive session"),
    ("WARN", "slow query ({m} ms): SELECT id, status FROM orders WHERE customer_id = $1"),
    ("ERROR", "token expired for session {hex}; user must re-authenticate"),
    ("INFO", "config reloaded; {k} keys changed, {a} ignored"),
    ("WARN", "retry budget exhausted for {url}; giving up"),
    ("INFO", "bypass list updated: {k} hosts excluded from proxy"),
    ("ERROR", "OOMKilled: container {svc} exceeded memory limit ({m}Mi)"),
    ("WARN", "clock skew of {s}s detected; ignoring token issued in the future"),
    ("INFO", "user {user} changed their password"),
    ("WARN", "duplicate key value violates unique constraint \"users_email_key\"; ignoring row {k}"),
    ("INFO", "scheduled cleanup: removing {k} files older than 30 days from /var/tmp"),
]
_LEVEL_SYSLOG = {"DEBUG": "debug", "INFO": "info", "WARN": "warning", "ERROR": "err"}


def _log_message(c: Ctx):
    level, tmpl = c.pick(LOG_MESSAGES)
    vals = dict(key=c.pick(CONFIG_KEYS), path=c.pick(PATHS), val=c.pick(["true", "false", "30s", "0", "debug", "none"]),
                user=c.user(), url=f"https://{c.en.domain_name()}{c.pick(URL_PATHS)}".replace("{id}", str(c.n(1, 99999))).replace("{hex}", c.hex()),
                upath=c.pick(URL_PATHS).replace("{id}", str(c.n(1, 9999))).replace("{hex}", c.hex()),
                s=c.n(1, 60), a=c.n(1, 4), ip=c.ip(), pct=c.n(86, 99), k=c.n(2, 5000), m=c.n(100, 9000),
                domain=c.en.domain_name(), mig=f"{c.n(1, 300):04d}_{c.pick(['add_index', 'drop_legacy', 'backfill'])}",
                ver=f"v{c.n(2, 9)}.0", bucket=c.en.word() + "-exports", hex=c.hex(12), port=c.n(1024, 65000),
                svc=c.pick(SERVICES))
    return level, tmpl.format(**vals)


def log_syslog(c: Ctx):
    host, t = c.host(), c.dt()
    lines = []
    for _ in range(c.n(6, 25)):
        t += dt.timedelta(seconds=c.n(0, 90))
        svc = c.pick(SERVICES)
        _, msg = _log_message(c)
        lines.append(f"{t:%b} {t.day:>2} {t:%H:%M:%S} {host} {svc}[{c.n(200, 40000)}]: {msg}")
    return "\n".join(lines)


def log_journald(c: Ctx):
    host, t, svc = c.host(), c.dt(), c.pick(SERVICES)
    lines = [f"-- Logs begin at {t:%a %Y-%m-%d %H:%M:%S} UTC, end at {t + dt.timedelta(hours=3):%a %Y-%m-%d %H:%M:%S} UTC. --"]
    pid = c.n(300, 90000)
    lines.append(f"{t:%Y-%m-%dT%H:%M:%S}+0000 {host} systemd[1]: Starting {svc}.service...")
    for _ in range(c.n(5, 20)):
        t += dt.timedelta(seconds=c.n(0, 300))
        if c.chance(0.12):
            msg = c.pick([f"{svc}.service: Main process exited, code=exited, status=1/FAILURE",
                          f"{svc}.service: Failed with result 'exit-code'.",
                          f"{svc}.service: Scheduled restart job, restart counter is at {c.n(1, 9)}.",
                          f"Started {svc}.service."])
            lines.append(f"{t:%Y-%m-%dT%H:%M:%S}+0000 {host} systemd[1]: {msg}")
        else:
            level, msg = _log_message(c)
            lines.append(f"{t:%Y-%m-%dT%H:%M:%S}+0000 {host} {svc}[{pid}]: {level}: {msg}")
    return "\n".join(lines)


def log_nginx(c: Ctx):
    t = c.dt()
    lines = []
    agents = [c.en.user_agent() for _ in range(3)] + ["curl/8.4.0", "Go-http-client/1.1", "kube-probe/1.28"]
    for _ in range(c.n(6, 16)):
        t += dt.timedelta(seconds=c.n(0, 20))
        if c.chance(0.15):
            _, msg = _log_message(c)
            lines.append(f"{t:%Y/%m/%d %H:%M:%S} [{c.pick(['warn', 'error'])}] {c.n(10, 99)}#0: *{c.n(1, 99999)} {msg}, "
                         f"client: {c.ip()}, server: {c.en.domain_name()}")
            continue
        method = c.pick(["GET"] * 5 + ["POST", "PUT", "DELETE", "HEAD"])
        path = c.pick(URL_PATHS).replace("{id}", str(c.n(1, 99999))).replace("{hex}", c.hex())
        status = c.pick([200] * 8 + [201, 204, 301, 302, 304, 400, 401, 403, 404, 429, 500, 502])
        lines.append(f'{c.ip()} - {c.pick(["-", "-", c.user()])} [{t:%d/%b/%Y:%H:%M:%S} +0000] "{method} {path} HTTP/1.1" '
                     f'{status} {c.n(0, 90000)} "{c.pick(["-", "https://" + c.en.domain_name() + "/"])}" "{c.pick(agents)}"')
    return "\n".join(lines)


def log_json(c: Ctx):
    t, svc = c.dt(), c.pick(SERVICES)
    lines = []
    style = c.n(0, 2)
    for _ in range(c.n(4, 12)):
        t += dt.timedelta(milliseconds=c.n(1, 60000))
        level, msg = _log_message(c)
        if style == 0:
            rec = {"ts": t.isoformat() + "Z", "level": level.lower(), "msg": msg, "service": svc,
                   "trace_id": c.hex(16)}
        elif style == 1:
            rec = {"@timestamp": t.isoformat(timespec="milliseconds") + "Z", "log.level": level,
                   "message": msg, "host": {"name": c.host()}, "event": {"dataset": f"{svc}.log"}}
        else:
            rec = {"time": int(t.timestamp() * 1000), "severity": level, "logger": f"{c.en.word()}.{c.en.word()}",
                   "message": msg, "thread": f"worker-{c.n(1, 16)}", "request_id": c.hex(8)}
        lines.append(json.dumps(rec, ensure_ascii=False))
    return "\n".join(lines)


def log_app(c: Ctx):
    """Python logging / log4j / klog line formats."""
    t = c.dt()
    fmt = c.n(0, 2)
    mods = [f"{c.en.word()}.{c.pick(['service', 'handlers', 'worker', 'db', 'config'])}" for _ in range(3)]
    lines = []
    for _ in range(c.n(6, 20)):
        t += dt.timedelta(milliseconds=c.n(1, 20000))
        level, msg = _log_message(c)
        if fmt == 0:
            lines.append(f"{t:%Y-%m-%d %H:%M:%S},{t.microsecond // 1000:03d} {level.replace('WARN', 'WARNING'):<8} [{c.pick(mods)}] {msg}")
        elif fmt == 1:
            cls = "com." + c.en.word() + "." + c.pick(["core", "api", "batch"]) + "." + c.en.word().capitalize() + c.pick(["Service", "Controller", "Job"])
            lines.append(f"{t:%Y-%m-%d %H:%M:%S.%f}"[:-3] + f" {level:<5} [{c.pick(['main', 'http-nio-8080-exec-' + str(c.n(1, 9)), 'scheduling-1'])}] {cls} - {msg}")
        else:
            lines.append(f"{level[0]}{t:%m%d %H:%M:%S.%f} {c.n(1, 40):>6} {c.en.word()}.go:{c.n(20, 900)}] {msg}")
    return "\n".join(lines)


# --- CSV ----------------------------------------------------------------------------------------

def _csv_rows(c: Ctx):
    kind = c.n(0, 5)
    rows_n = c.n(5, 40)
    if kind == 0:
        head = ["employee_id", "name", "department", "city", "start_date", "salary", "bonus_pct"]
        rows = [[c.n(1000, 9999), c.name(), c.pick(["Sales", "Engineering", "Finance", "HR", "Support", "Legal"]),
                 c.city(), c.dt(2010, 2024).date().isoformat(), c.n(32, 180) * 1000, f"{c.rng.uniform(0, 20):.1f}%"]
                for _ in range(rows_n)]
    elif kind == 1:
        head = ["region", "quarter", "revenue", "units", "growth", "margin"]
        rows = [[c.fk.state() if hasattr(c.fk, "state") else c.city(), f"Q{c.n(1, 4)} {c.n(2019, 2025)}",
                 f"{c.rng.uniform(1e4, 5e6):.2f}", c.n(10, 90000), f"{c.rng.uniform(-30, 60):+.1f}%",
                 f"{c.rng.uniform(2, 45):.1f}%"] for _ in range(rows_n)]
    elif kind == 2:
        head = ["timestamp", "host", "cpu_pct", "mem_pct", "disk_pct", "p95_latency_ms", "errors"]
        t = c.dt()
        host = c.host()
        rows = []
        for _ in range(rows_n):
            t += dt.timedelta(minutes=5)
            rows.append([t.isoformat(sep=" "), host, f"{c.rng.uniform(1, 99):.1f}", f"{c.rng.uniform(20, 95):.1f}",
                         f"{c.rng.uniform(10, 99):.1f}", c.n(5, 2500), c.n(0, 40)])
    elif kind == 3:
        head = ["sku", "product", "supplier", "stock", "reorder_level", "unit_price", "discount"]
        rows = [[f"{c.pick(string.ascii_uppercase)}{c.pick(string.ascii_uppercase)}-{c.n(1000, 99999)}",
                 c.pick(PRODUCTS), c.company(), c.n(0, 800), c.n(5, 100), f"{c.rng.uniform(1, 900):.2f}",
                 f"{c.pick([0, 0, 5, 10, 15, 25])}%"] for _ in range(rows_n)]
    elif kind == 4:
        head = ["respondent", "age_group", "country", "q1_satisfied", "q2_recommend", "comment"]
        comments = ["", "", "fine", "too expensive", "support was slow", "override setting was confusing",
                    "great", "please bring back dark mode", "could not reset password", "n/a"]
        rows = [[f"R{i:04d}", c.pick(["18-24", "25-34", "35-44", "45-54", "55+"]), c.fk.country_code(),
                 c.n(1, 5), c.n(0, 10), c.pick(comments)] for i in range(1, rows_n + 1)]
    else:
        head = ["date", "account", "description", "debit", "credit", "balance"]
        bal = c.rng.uniform(100, 20000)
        rows = []
        d = c.dt().date()
        for _ in range(rows_n):
            d += dt.timedelta(days=c.n(0, 4))
            amt = c.rng.uniform(3, 1500)
            debit = c.chance(0.7)
            bal += -amt if debit else amt
            rows.append([d.isoformat(), c.fk.iban() if hasattr(c.fk, "iban") else c.hex(10),
                         c.pick([c.company(), "Card payment " + c.company(), "Transfer " + c.name(), "Direct debit"]),
                         f"{amt:.2f}" if debit else "", "" if debit else f"{amt:.2f}", f"{bal:.2f}"])
    return head, rows


def csv_table(c: Ctx):
    head, rows = _csv_rows(c)
    buf = io.StringIO()
    delim = ";" if c.locale in ("de_DE", "fr_FR", "it_IT", "nl_NL", "es_ES", "pt_BR") and c.chance(0.6) else ","
    w = csv.writer(buf, delimiter=delim, lineterminator="\n", quoting=c.pick([csv.QUOTE_MINIMAL, csv.QUOTE_NONNUMERIC]))
    w.writerow(head)
    for r in rows:
        if delim == ";":
            r = [str(x).replace(".", ",") if re.fullmatch(r"-?\d+\.\d+%?", str(x)) else x for x in r]
        w.writerow(r)
    return buf.getvalue().rstrip("\n")


# --- JSON ---------------------------------------------------------------------------------------

def json_config(c: Ctx):
    cfg = {
        "server": {"host": c.pick(["0.0.0.0", "127.0.0.1", "::"]), "port": c.pick([80, 443, 8080, 3000, 8443]),
                   "tls": {"enabled": c.chance(0.7), "cert_file": "/etc/ssl/certs/server.pem", "skip_verify": c.chance(0.2)}},
        "database": {"url": f"postgres://{c.user()}@{c.host()}:5432/{c.en.word()}", "pool_size": c.n(2, 50),
                     "password_file": "/run/secrets/db_password", "statement_timeout_ms": c.n(1000, 60000)},
        "cache": {"backend": c.pick(["redis", "memcached", "memory"]), "ttl_seconds": c.n(30, 86400),
                  "bypass_paths": [c.pick(URL_PATHS).split("{")[0] for _ in range(c.n(1, 3))]},
        "logging": {"level": c.pick(["debug", "info", "warn", "error"]), "format": c.pick(["json", "text"]),
                    "ignore_loggers": [c.en.word() for _ in range(c.n(0, 3))]},
        "features": {c.pick(CONFIG_KEYS): c.pick([True, False, c.n(0, 100)]) for _ in range(c.n(2, 6))},
        "overrides": {c.pick(["staging", "eu-west-1", "tenant-" + str(c.n(1, 999))]): {"rate_limit": c.n(10, 5000), "ignore_quota": c.chance(0.3)}},
    }
    keys = list(cfg)
    c.rng.shuffle(keys)
    cfg = {k: cfg[k] for k in keys[: c.n(3, len(keys))]}
    if c.chance(0.3):
        return "{\n  // generated by " + c.pick(TOOLS) + ", do not edit by hand\n" + json.dumps(cfg, indent=2)[2:]
    return json.dumps(cfg, indent=c.pick([2, 4]), ensure_ascii=False)


def json_api(c: Ctx):
    kind = c.n(0, 3)
    if kind == 0:
        obj = {"data": [{"id": c.n(1, 99999), "type": "user", "attributes": {
            "name": c.name(), "email": c.email(), "role": c.pick(["admin", "member", "viewer", "owner"]),
            "created_at": c.dt().isoformat() + "Z", "mfa_enabled": c.chance(0.5),
            "password_last_changed": c.dt().date().isoformat()}} for _ in range(c.n(1, 4))],
            "meta": {"page": c.n(1, 20), "per_page": 25, "total": c.n(25, 5000)},
            "links": {"next": f"/api/v1/users?page={c.n(2, 20)}"}}
    elif kind == 1:
        obj = {"error": {"code": c.pick(["invalid_password", "permission_denied", "rate_limited", "validation_failed"]),
                         "message": c.pick(["The password you entered is incorrect.", "You must be an administrator to delete this project.",
                                            "Too many requests. Retry after 30 seconds.", "Field 'override_reason' is required when force=true."]),
                         "details": [{"field": c.pick(CONFIG_KEYS), "issue": c.pick(["must not be empty", "unknown field ignored", "must be a boolean"])}],
                         "request_id": c.hex(16)}}
    elif kind == 2:
        items = [{"sku": f"{c.hex(6).upper()}", "name": c.pick(PRODUCTS), "qty": c.n(1, 5), "price": round(c.rng.uniform(3, 500), 2)} for _ in range(c.n(1, 5))]
        obj = {"order_id": f"ORD-{c.n(100000, 999999)}", "status": c.pick(["paid", "shipped", "cancelled", "refunded"]),
               "customer": {"name": c.name(), "address": c.fk.address().replace("\n", ", ")},
               "items": items, "total": round(sum(i["qty"] * i["price"] for i in items), 2),
               "currency": c.pick(["USD", "EUR", "BRL", "JPY", "CNY"]), "notes": c.pick([None, "Leave at the back door", "Do not ring the bell"])}
    else:
        obj = {"status": c.pick(["ok", "degraded"]), "version": f"{c.n(1, 5)}.{c.n(0, 30)}.{c.n(0, 9)}",
               "checks": {s: {"status": c.pick(["pass", "pass", "warn", "fail"]), "latency_ms": c.n(1, 900)} for s in c.rng.sample(SERVICES, c.n(2, 5))},
               "uptime_seconds": c.n(60, 9000000)}
    return json.dumps(obj, indent=c.pick([None, 2, 2, 4]), ensure_ascii=False)


# --- YAML ---------------------------------------------------------------------------------------

def yaml_k8s(c: Ctx):
    app = c.en.word() + "-" + c.pick(["api", "web", "worker", "gateway"])
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {app}
  namespace: {c.pick(['default', 'prod', 'staging', 'platform'])}
  labels:
    app.kubernetes.io/name: {app}
    app.kubernetes.io/managed-by: {c.pick(['Helm', 'kustomize', 'argocd'])}
  annotations:
    config.kubernetes.io/local-config: "{str(c.chance(0.3)).lower()}"
spec:
  replicas: {c.n(1, 12)}
  selector:
    matchLabels:
      app.kubernetes.io/name: {app}
  template:
    spec:
      containers:
        - name: {app}
          image: registry.{c.en.domain_name()}/{app}:{c.n(1, 4)}.{c.n(0, 20)}.{c.n(0, 9)}
          args: ["--config=/etc/{app}/config.yaml", "--override-from-env", "--log-level={c.pick(['info', 'debug'])}"]
          env:
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: {app}-db
                  key: password
            - name: IGNORE_MISSING_FEATURES
              value: "{str(c.chance(0.5)).lower()}"
          resources:
            limits:
              memory: {c.pick([128, 256, 512, 1024])}Mi
              cpu: {c.pick(['250m', '500m', '1', '2'])}
          readinessProbe:
            httpGet:
              path: /healthz
              port: {c.pick([8080, 3000, 9000])}
            failureThreshold: {c.n(1, 5)}"""


def yaml_ci(c: Ctx):
    if c.chance(0.5):
        return f"""name: CI
on:
  push:
    branches: [main]
  pull_request:
jobs:
  test:
    runs-on: ubuntu-{c.pick(['22.04', '24.04', 'latest'])}
    strategy:
      fail-fast: false
      matrix:
        python: ["3.10", "3.11", "3.12"]
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: ${{{{ matrix.python }}}}
      - run: pip install -e .[test]
      - name: Lint (warnings ignored on old versions)
        run: ruff check . --ignore E501
        continue-on-error: true
      - name: Test
        run: pytest -q --maxfail={c.n(1, 5)} -k "not slow"
        env:
          TEST_DB_PASSWORD: ${{{{ secrets.TEST_DB_PASSWORD }}}}
          OVERRIDE_REGION: {c.pick(['eu-west-1', 'us-east-1'])}"""
    return f"""stages: [build, test, deploy]

variables:
  GIT_DEPTH: "{c.n(1, 50)}"
  DOCKER_DRIVER: overlay2

build:
  stage: build
  image: docker:24
  script:
    - docker build --pull -t $CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA .
    - docker push $CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA

test:
  stage: test
  script:
    - make test
  allow_failure: {str(c.chance(0.3)).lower()}
  retry: {c.n(0, 2)}

deploy_{c.pick(['staging', 'production'])}:
  stage: deploy
  script:
    - helm upgrade --install {c.en.word()} ./chart -f values.yaml -f values.override.yaml
  when: manual
  rules:
    - if: $CI_COMMIT_BRANCH == "main"
  # do not skip approval for production; the bypass flag is for hotfixes only"""


def yaml_compose(c: Ctx):
    svc = c.en.word()
    return f"""version: "3.{c.n(7, 9)}"
services:
  {svc}:
    build: .
    restart: {c.pick(['unless-stopped', 'always', 'on-failure'])}
    ports:
      - "{c.pick([8080, 8000, 3000])}:{c.pick([8080, 8000, 3000])}"
    environment:
      - DATABASE_URL=postgres://{c.user()}:${{POSTGRES_PASSWORD}}@db:5432/{svc}
      - CACHE_BYPASS=${{CACHE_BYPASS:-false}}
    depends_on: [db, redis]
  db:
    image: postgres:{c.pick([13, 14, 15, 16])}
    environment:
      POSTGRES_PASSWORD_FILE: /run/secrets/pg_password
    volumes:
      - pgdata:/var/lib/postgresql/data
  redis:
    image: redis:7-alpine
    command: ["redis-server", "--save", "", "--appendonly", "no"]
volumes:
  pgdata: {{}}
# Local overrides go in docker-compose.override.yml, which is ignored by git."""


def yaml_ansible(c: Ctx):
    pkgs = c.rng.sample(["nginx", "postgresql", "fail2ban", "ufw", "chrony", "rsync", "htop", "git"], 3)
    return f"""- name: Configure {c.pick(['web servers', 'database hosts', 'bastion'])}
  hosts: {c.pick(['web', 'db', 'all'])}
  become: true
  vars:
    override_defaults: {str(c.chance(0.5)).lower()}
    admin_user: {c.user()}
  tasks:
    - name: Install packages
      ansible.builtin.apt:
        name: {json.dumps(pkgs)}
        state: present
        update_cache: true
    - name: Remove stale lock file
      ansible.builtin.file:
        path: /var/lib/dpkg/lock-frontend
        state: absent
      ignore_errors: true
    - name: Disable password authentication for SSH
      ansible.builtin.lineinfile:
        path: /etc/ssh/sshd_config
        regexp: '^#?PasswordAuthentication'
        line: 'PasswordAuthentication no'
      notify: restart sshd
    - name: Force handlers to run now
      ansible.builtin.meta: flush_handlers
  handlers:
    - name: restart sshd
      ansible.builtin.service:
        name: ssh
        state: restarted"""


def yaml_helm_values(c: Ctx):
    return f"""# Default values for {c.en.word()}.
# Override per environment with -f values-<env>.yaml; keys not listed here are ignored.
replicaCount: {c.n(1, 6)}
image:
  repository: ghcr.io/{c.user()}/{c.en.word()}
  tag: "{c.n(0, 3)}.{c.n(0, 40)}.{c.n(0, 9)}"
  pullPolicy: IfNotPresent
ingress:
  enabled: {str(c.chance(0.6)).lower()}
  hosts:
    - host: {c.en.domain_name()}
      paths: ["/"]
auth:
  existingSecret: ""
  # must be set when existingSecret is empty
  adminPassword: ""
override:
  nodeSelector: {{}}
  tolerations: []
persistence:
  size: {c.pick([1, 5, 10, 50])}Gi
  deleteOnUninstall: {str(c.chance(0.3)).lower()}"""


# --- stack traces -------------------------------------------------------------------------------

def _py_frames(c: Ctx, k):
    app = c.en.word()
    frames = []
    for _ in range(k):
        if c.chance(0.4):
            lib = c.pick(["django/core/handlers/base.py", "requests/sessions.py", "sqlalchemy/engine/base.py",
                          "flask/app.py", "urllib3/connectionpool.py", "celery/app/trace.py"])
            frames.append((f"/usr/lib/python3/dist-packages/{lib}", c.n(50, 2000), c.pick(["_execute", "request", "dispatch_request", "urlopen", "__call__"]),
                           c.pick(["response = self.process_request(request)", "return self.wsgi_app(environ, start_response)",
                                   "raise value.with_traceback(tb)", "result = fn(*args, **kwargs)"])))
        else:
            frames.append((f"/srv/{app}/{c.en.word()}/{c.en.word()}.py", c.n(5, 600), c.en.word() + "_" + c.en.word(),
                           c.pick(["cfg = load_config(path, override=True)", "user = User.objects.get(email=email)",
                                   "return data['settings']['ignore_list']", "conn.execute(query, params)",
                                   "if not verify_password(user, password):", "payload = json.loads(body)"])))
    return frames


def trace_python(c: Ctx):
    out = ["Traceback (most recent call last):"]
    for f, ln, fn, code in _py_frames(c, c.n(2, 6)):
        out += [f'  File "{f}", line {ln}, in {fn}', f"    {code}"]
    exc = c.pick(["KeyError: 'ignore_list'", "ValueError: invalid literal for int() with base 10: 'override'",
                  "PermissionError: [Errno 13] Permission denied: '/var/log/app/audit.log'",
                  "ConnectionRefusedError: [Errno 111] Connection refused",
                  "django.contrib.auth.models.User.DoesNotExist: User matching query does not exist.",
                  "AttributeError: 'NoneType' object has no attribute 'password_hash'",
                  "TimeoutError: operation did not complete within 30 seconds"])
    out.append(exc)
    if c.chance(0.35):
        out += ["", "During handling of the above exception, another exception occurred:", "", "Traceback (most recent call last):"]
        for f, ln, fn, code in _py_frames(c, c.n(1, 3)):
            out += [f'  File "{f}", line {ln}, in {fn}', f"    {code}"]
        out.append(c.pick(["RuntimeError: could not load configuration; refusing to start",
                           "app.errors.ConfigError: override file is not valid YAML"]))
    if c.chance(0.4):
        t = c.dt()
        out.insert(0, f"[{t:%Y-%m-%d %H:%M:%S}] ERROR in {c.en.word()}: Exception on {c.pick(URL_PATHS).split('{')[0]} [POST]")
    return "\n".join(out)


def trace_java(c: Ctx):
    pkg = "com." + (re.sub(r"[^a-z]", "", _ascii(c.company()).lower())[:12] or c.en.word())
    def frames(k):
        fr = []
        for _ in range(k):
            if c.chance(0.4):
                fr.append(c.pick(["org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:883)",
                                  "java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1136)",
                                  "org.hibernate.internal.SessionImpl.find(SessionImpl.java:3312)",
                                  "java.base/java.lang.Thread.run(Thread.java:833)",
                                  "org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:166)"]))
            else:
                cls = c.en.word().capitalize() + c.pick(["Service", "Repository", "Controller", "Handler", "Config"])
                fr.append(f"{pkg}.{c.en.word()}.{cls}.{c.en.word()}{c.en.word().capitalize()}({cls}.java:{c.n(20, 900)})")
        return ["\tat " + f for f in fr]
    out = [f'Exception in thread "{c.pick(["main", "pool-1-thread-3", "http-nio-8080-exec-7"])}" ' +
           c.pick(["java.lang.IllegalStateException: Override property 'app.timeout' must be positive",
                   "java.lang.NullPointerException: Cannot invoke \"String.length()\" because \"password\" is null",
                   "org.springframework.dao.DataIntegrityViolationException: could not execute statement",
                   "java.io.FileNotFoundException: /opt/app/conf/ignore.list (No such file or directory)"])]
    out += frames(c.n(3, 8))
    if c.chance(0.6):
        out.append("Caused by: " + c.pick(["java.sql.SQLException: Access denied for user 'app'@'10.0.3.7' (using password: YES)",
                                           "java.net.SocketTimeoutException: Read timed out",
                                           "java.lang.NumberFormatException: For input string: \"bypass\""]))
        out += frames(c.n(2, 4))
        out.append(f"\t... {c.n(5, 60)} more")
    return "\n".join(out)


def trace_js(c: Ctx):
    msg = c.pick(["TypeError: Cannot read properties of undefined (reading 'override')",
                  "Error: ENOENT: no such file or directory, open '/app/config/local.json'",
                  "ReferenceError: ignoreList is not defined",
                  "Error: password authentication failed for user \"api\"",
                  "SyntaxError: Unexpected token '<', \"<!DOCTYPE \"... is not valid JSON"])
    out = [msg]
    for _ in range(c.n(3, 8)):
        if c.chance(0.4):
            out.append("    at " + c.pick(["Module._compile (node:internal/modules/cjs/loader:1256:14)",
                                           "process.processTicksAndRejections (node:internal/process/task_queues:95:5)",
                                           "Layer.handle [as handle_request] (/app/node_modules/express/lib/router/layer.js:95:5)",
                                           "async Promise.all (index 0)"]))
        else:
            out.append(f"    at {c.en.word()}{c.en.word().capitalize()} (/app/src/{c.en.word()}/{c.en.word()}.{c.pick(['js', 'ts', 'mjs'])}:{c.n(1, 400)}:{c.n(1, 60)})")
    if c.chance(0.3):
        out += ["", f"Node.js v{c.n(16, 22)}.{c.n(0, 20)}.{c.n(0, 9)}"]
    return "\n".join(out)


def trace_go(c: Ctx):
    mod = f"github.com/{c.user()}/{c.en.word()}"
    out = [c.pick(["panic: runtime error: invalid memory address or nil pointer dereference",
                   "panic: runtime error: index out of range [3] with length 3",
                   'panic: open /etc/app/override.toml: permission denied',
                   "fatal error: concurrent map writes"])]
    if out[0].startswith("panic: runtime error: invalid"):
        out.append(f"[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x{c.hex(6)}]")
    out += ["", f"goroutine {c.n(1, 300)} [running]:"]
    for _ in range(c.n(3, 7)):
        fn = c.pick([f"{mod}/internal/{c.en.word()}.(*{c.en.word().capitalize()}).{c.en.word().capitalize()}",
                     f"{mod}/cmd.{c.en.word()}", "net/http.HandlerFunc.ServeHTTP", "net/http.(*conn).serve"])
        out += [f"{fn}(0x{c.hex(10)}, 0x{c.hex(4)})", f"\t/home/{c.user()}/go/src/{mod}/{c.en.word()}.go:{c.n(10, 500)} +0x{c.hex(3)}"]
    out.append(f"exit status {c.pick([1, 2])}")
    return "\n".join(out)


# --- diffs --------------------------------------------------------------------------------------

def _hunk(c: Ctx):
    """One plausible edit: (path, context before, removed lines, added lines, context after)."""
    w, v = c.en.word(), c.n(5, 120)
    edits = [
        ("src/config.py", [f"DEFAULT_TIMEOUT = {v}", ""], [f"MAX_RETRIES = {c.n(1, 5)}"], [f"MAX_RETRIES = {c.n(6, 10)}", f"RETRY_BACKOFF = {c.rng.uniform(0.1, 2):.1f}"], ["", "def load(path=None):"]),
        ("cli/main.go", ['\tflags := flag.NewFlagSet("run", flag.ExitOnError)'], ['\tforce := flags.Bool("force", false, "overwrite existing files")'],
         ['\toverride := flags.Bool("override", false, "overwrite existing files")', '\tignoreMissing := flags.Bool("ignore-missing", false, "skip files that do not exist")'], ["\tflags.Parse(args)"]),
        ("lib/auth.js", ["async function login(req, res) {", "  const { email, password } = req.body;"], ["  if (!password) return res.status(400).end();"],
         ["  if (!email || !password) {", "    return res.status(400).json({ error: 'email and password are required' });", "  }"], ["  const user = await users.findByEmail(email);"]),
        ("app/models/user.rb", ["class User < ApplicationRecord", "  has_secure_password"], ["  validates :password, length: { minimum: 8 }"], ["  validates :password, length: { minimum: 12 }, allow_nil: true"], ["  before_save :normalize_email"]),
        ("config/settings.yaml", ["cache:", f"  ttl: {v}"], ["  bypass: true"], ["  bypass: false", f"  ignore_paths: [/healthz, /metrics]"], ["logging:"]),
        (f"src/{w}/handler.py", [f"def handle_{w}(event):", '    """Process one event."""'], ["    data = json.loads(event['body'])"],
         ["    try:", "        data = json.loads(event['body'])", "    except json.JSONDecodeError:", '        log.warning("ignoring malformed event %s", event.get("id"))', "        return None"], ["    return process(data)"]),
        ("Makefile", ["test:"], ["\tpytest -x"], ["\tpytest -x --ignore=tests/slow", "", "test-all:", "\tpytest"], [""]),
        ("src/db/migrate.rs", ["pub fn run(conn: &mut Conn) -> Result<()> {"], ["    conn.execute(\"DELETE FROM sessions\", [])?;"],
         ["    // delete only expired sessions; active ones must survive a migration", "    conn.execute(\"DELETE FROM sessions WHERE expires_at < now()\", [])?;"], ["    Ok(())", "}"]),
    ]
    return c.pick(edits)


def diff_git(c: Ctx):
    out = []
    if c.chance(0.5):
        name = c.en.name()
        t = c.dt()
        out += [f"commit {c.hex(40)}", f"Author: {name} <{c.email(name)}>", f"Date:   {t:%a %b %d %H:%M:%S %Y} {c.pick(['+0000', '+0100', '-0500', '+0900'])}", "",
                "    " + c.pick(["Replace --force with --override", "Ignore malformed events instead of crashing", "Tighten password validation",
                                 "Do not bypass cache for authenticated users", "Bump retry limits", "Only delete expired sessions"]), ""]
    seen = set()
    for _ in range(c.n(1, 3)):
        path, before, rem, add, after = _hunk(c)
        if path in seen:
            continue
        seen.add(path)
        start = c.n(1, 300)
        old_n, new_n = len(before) + len(rem) + len(after), len(before) + len(add) + len(after)
        out += [f"diff --git a/{path} b/{path}", f"index {c.hex(7)}..{c.hex(7)} 100644", f"--- a/{path}", f"+++ b/{path}",
                f"@@ -{start},{old_n} +{start},{new_n} @@"]
        out += [" " + l for l in before] + ["-" + l for l in rem] + ["+" + l for l in add] + [" " + l for l in after]
    return "\n".join(out)


# --- whois --------------------------------------------------------------------------------------

WHOIS_NOTICES = [
    "TERMS OF USE: The data in this WHOIS database is provided for information purposes only. By submitting a WHOIS query, "
    "you agree that you will use this Data only for lawful purposes and that, under no circumstances will you use this Data to: "
    "(1) allow, enable, or otherwise support the transmission of mass unsolicited, commercial advertising or solicitations via e-mail, "
    "telephone, or facsimile; or (2) enable high volume, automated, electronic processes that apply to the registry or registrar. "
    "You must not reproduce, redistribute or store this Data without prior written consent. We reserve the right to modify these terms at any time.",
    "NOTICE: The expiration date displayed in this record is the date the registrar's sponsorship of the domain name registration "
    "in the registry is currently set to expire. This date does not necessarily reflect the expiration date of the domain name "
    "registrant's agreement with the sponsoring registrar. Users may consult the sponsoring registrar's Whois database to view the "
    "registrar's reported date of expiration for this registration.",
    "By submitting a WHOIS query, you agree to abide by this policy. You agree not to use this Data to support unsolicited marketing, "
    "and you agree not to use high-volume, automated processes to query this service except as reasonably necessary to register or "
    "modify domain names. You must not use this Data for any other purpose. Access may be rate limited or blocked without notice.",
    "Personal data of the registrant is redacted in accordance with applicable privacy law. To contact the registrant, use the "
    "registrar's web form or send an e-mail to the anonymised address above; messages are forwarded, not read by the registrar.",
]


def whois_icann(c: Ctx):
    dom = c.en.domain_word() + c.pick([".com", ".net", ".org", ".io", ".shop", ".app"])
    reg, reg_dom = c.pick([("NameCheap, Inc.", "namecheap.com"), ("GoDaddy.com, LLC", "godaddy.com"), ("Tucows Domains Inc.", "tucows.com"),
                           ("Gandi SAS", "gandi.net"), ("MarkMonitor Inc.", "markmonitor.com"), ("Key-Systems GmbH", "key-systems.net"), ("OVH sas", "ovh.net")])
    created = c.dt(2000, 2020)
    updated = c.dt(max(created.year + 1, 2021), 2025)
    ns = c.en.domain_word()
    redacted = c.chance(0.7)
    lines = [f"Domain Name: {dom.upper()}", f"Registry Domain ID: {c.n(10**9, 10**10)}_DOMAIN_{dom.split('.')[-1].upper()}-VRSN",
             f"Registrar WHOIS Server: whois.{reg_dom}", f"Registrar URL: https://www.{reg_dom}",
             f"Updated Date: {updated:%Y-%m-%dT%H:%M:%SZ}", f"Creation Date: {created:%Y-%m-%dT%H:%M:%SZ}",
             f"Registry Expiry Date: {updated.year + c.n(1, 5)}-{created:%m-%dT%H:%M:%SZ}",
             f"Registrar: {reg}", f"Registrar IANA ID: {c.n(100, 3000)}",
             f"Registrar Abuse Contact Email: abuse@{reg_dom}",
             f"Registrar Abuse Contact Phone: +1.{c.n(2000000000, 9999999999)}"]
    lines += [f"Domain Status: {s} https://icann.org/epp#{s}" for s in c.rng.sample(["clientTransferProhibited", "clientDeleteProhibited", "clientUpdateProhibited", "serverHold"], c.n(1, 3))]
    for role in c.rng.sample(["Registrant", "Admin", "Tech"], c.n(1, 3)):
        if redacted:
            lines += [f"{role} Name: REDACTED FOR PRIVACY", f"{role} Organization: {c.pick(['Privacy service provided by Withheld for Privacy ehf', 'REDACTED FOR PRIVACY', 'Domains By Proxy, LLC'])}",
                      f"{role} Country: {c.fk.country_code()}", f"{role} Email: Please query the RDDS service of the Registrar of Record identified in this output for information on how to contact the {role} of the queried domain name."]
        else:
            lines += [f"{role} Name: {c.name()}", f"{role} Organization: {c.company()}", f"{role} Street: {c.fk.street_address()}",
                      f"{role} City: {c.city()}", f"{role} Country: {c.fk.country_code()}", f"{role} Email: {c.email()}"]
    lines += [f"Name Server: {p}.{ns}.{c.pick(['net', 'com'])}".upper() for p in ["ns1", "ns2"]]
    lines += [f"DNSSEC: {c.pick(['unsigned', 'signedDelegation'])}", "URL of the ICANN Whois Inaccuracy Complaint Form: https://www.icann.org/wicf/",
              f">>> Last update of whois database: {c.dt(2024, 2025):%Y-%m-%dT%H:%M:%SZ} <<<", ""]
    lines += [n for n in c.rng.sample(WHOIS_NOTICES, c.n(1, 2))]
    return "\n".join(lines)


def whois_cctld(c: Ctx):
    tld = c.pick([".de", ".nl", ".fr", ".it", ".eu", ".uk"])
    dom = _ascii(c.fk.domain_word()).lower() or c.en.domain_word()
    dom += tld
    lines = [f"% Copyright (c) {c.n(2019, 2025)} by the registry for {tld}", "% Restricted rights.", "%",
             "% Terms and Conditions of Use", "%", "% The above data may only be used within the scope of technical or",
             "% administrative necessities of Internet operation or to remedy legal problems.", "% The use for other purposes, in particular for advertising, is not permitted.", "",
             f"Domain: {dom}"]
    lines += [f"Nserver: {p}.{c.en.domain_name()}" for p in ["ns1", "ns2", "ns3"][: c.n(2, 3)]]
    lines += [f"Status: {c.pick(['connect', 'active', 'ok', 'free'])}", f"Changed: {c.dt():%Y-%m-%dT%H:%M:%S}+01:00", "",
              "[Registrar]", f"Name: {c.company()}", f"Address: {c.fk.address()}".replace("\n", ", "), f"Email: support@{c.en.domain_name()}",
              "", "[Holder]", c.pick(["Name: (redacted for privacy)", f"Name: {c.name()}"]), "",
              c.pick(WHOIS_NOTICES)]
    return "\n".join(lines)


# --- HTML e-mail ----------------------------------------------------------------------------------

_HTML_STYLE = """<style>
  body {{ margin:0; padding:0; background:{bg}; font-family: Helvetica, Arial, sans-serif; }}
  .container {{ max-width:600px; margin:0 auto; background:#ffffff; }}
  .btn {{ display:inline-block; padding:12px 24px; background:{accent}; color:#fff !important; text-decoration:none; border-radius:4px; }}
  .footer {{ font-size:11px; color:#888888; }}
  @media only screen and (max-width:480px) {{ .container {{ width:100% !important; }} }}
</style>"""


def _html_footer(c: Ctx, company):
    dom = c.en.domain_name()
    parts = [c.pick([f"You are receiving this email because you have an account with {company}.",
                     f"You received this message because you subscribed to updates from {company}.",
                     "This is an automated message. Please do not reply to this message; replies are not monitored."]),
             f'<a href="https://{dom}/unsubscribe?u={c.hex(16)}">Unsubscribe</a> | '
             f'<a href="https://{dom}/preferences">Manage preferences</a>',
             html.escape(c.fk.address().replace("\n", ", "))]
    return '<tr><td class="footer" style="padding:24px">' + "<br>".join(parts) + "</td></tr>"


def html_email(c: Ctx):
    company = c.company()
    name = c.fk.first_name()
    kind = c.n(0, 3)
    if kind == 0:
        body = (f"<h1>Reset your password</h1><p>Hi {html.escape(name)},</p><p>We received a request to reset the password for your "
                f"{html.escape(company)} account. Click the button below to choose a new one. This link expires in {c.n(15, 60)} minutes.</p>"
                f'<p><a class="btn" href="https://{c.en.domain_name()}/reset/{c.hex(24)}">Reset password</a></p>'
                "<p>If you did not request this, ignore this email. Your password will not change.</p>")
    elif kind == 1:
        rows = "".join(f"<tr><td>{html.escape(c.pick(PRODUCTS))}</td><td align=\"center\">{c.n(1, 3)}</td><td align=\"right\">{c.rng.uniform(5, 400):.2f}</td></tr>"
                       for _ in range(c.n(1, 5)))
        body = (f"<h2>Thanks for your order, {html.escape(name)}!</h2><p>Order <strong>#{c.n(10000, 999999)}</strong> placed on {c.dt():%d %b %Y}.</p>"
                f'<table width="100%" cellpadding="6" style="border-collapse:collapse"><tr><th align="left">Item</th><th>Qty</th><th align="right">Price</th></tr>{rows}</table>'
                "<p>You will receive another email when your order ships. Questions? Visit our help centre; do not reply to this message.</p>")
    elif kind == 2:
        items = "".join(f"<h3>{html.escape(c.en.sentence(nb_words=c.n(4, 8)).rstrip('.'))}</h3><p>{html.escape(c.en.paragraph(nb_sentences=2))}</p>"
                        f'<p><a href="https://{c.en.domain_name()}/blog/{c.hex(6)}">Read more &rarr;</a></p>' for _ in range(c.n(2, 3)))
        body = f"<h1>{html.escape(company)} Newsletter &mdash; {c.dt():%B %Y}</h1>{items}"
    else:
        body = (f"<h2>New sign-in to your account</h2><p>Hello {html.escape(name)},</p><p>Your account was signed in to from a new device:</p>"
                f"<table><tr><td>Device</td><td>{c.pick(['Chrome on Windows', 'Safari on iPhone', 'Firefox on Linux'])}</td></tr>"
                f"<tr><td>Location</td><td>{html.escape(c.city())}</td></tr><tr><td>IP address</td><td>{c.ip()}</td></tr></table>"
                "<p>If this was you, you can safely ignore this email. If not, you must change your password immediately and review your security settings.</p>")
    style = _HTML_STYLE.format(bg=c.pick(["#f4f4f4", "#eef2f7", "#fafafa"]), accent=c.pick(["#1a73e8", "#e4405f", "#2e7d32", "#6d28d9"]))
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(company)}</title>{style}</head>'
            f'<body><table class="container" role="presentation" width="100%"><tr><td style="padding:24px">{body}</td></tr>'
            f"{_html_footer(c, html.escape(company))}</table></body></html>")


# --- plain-text e-mail ----------------------------------------------------------------------------

GREETINGS = {"de_DE": ("Hallo {n},", "Viele Grüße"), "fr_FR": ("Bonjour {n},", "Cordialement"), "es_ES": ("Hola {n},", "Saludos"),
             "it_IT": ("Ciao {n},", "Cordiali saluti"), "nl_NL": ("Hoi {n},", "Met vriendelijke groet"), "pt_BR": ("Olá {n},", "Abraços"),
             "ja_JP": ("{n}様", "よろしくお願いいたします。"), "zh_CN": ("{n}，你好：", "此致"), "en_US": ("Hi {n},", "Thanks")}

EMAIL_TOPICS = [
    ("Server migration this weekend", ["We are moving the reporting database to the new cluster on Saturday between 02:00 and 06:00.",
                                       "During that window the dashboards will be read-only; please ignore any alerts about replication lag.",
                                       "If you have scheduled jobs that write to the old host, you must pause them before Friday evening.",
                                       "The old credentials will stop working; the new password is in the vault under reporting/prod."]),
    ("Re: invoice {num}", ["Thanks for sending the invoice over.", "Finance flagged that the VAT number is missing, so we cannot process it yet.",
                           "Could you send a corrected version? Please disregard the payment reminder you got yesterday, it was sent by mistake.",
                           "Payment usually goes out within 30 days of receipt."]),
    ("Quarterly planning", ["Attached is the draft plan for next quarter.", "I moved the onboarding project to the second half; we can override that if sales pushes back.",
                            "Please add your estimates to the sheet by Thursday.", "Let me know if anything is missing."]),
    ("Office access cards", ["The new access cards are ready at reception.", "Old cards will be deactivated on the 15th, so don't forget to pick yours up.",
                             "If you lose the card, report it to facilities so they can delete it from the system.", "Visitors must still sign in at the front desk."]),
    ("Build failing on main", ["The nightly build has been failing since last night's merge.", "It looks like the lint step now treats warnings as errors.",
                               "For now I added --ignore-warnings to unblock the release, but we should fix the underlying issues.", "Can someone from the platform team take a look?"]),
    ("Holiday schedule", ["Reminder that the office is closed on the {date}.", "Support will run with a reduced team; urgent tickets can bypass the queue via the on-call phone.",
                          "Please update your calendar and set an out-of-office reply.", "Enjoy the break!"]),
]

DISCLAIMERS = ["This e-mail and any attachments are confidential and may be privileged. If you are not the intended recipient, please notify the sender "
               "immediately and delete this message; you must not copy, forward or disclose its contents.",
               "Please consider the environment before printing this e-mail.",
               "Confidentiality notice: the information in this message is intended only for the addressee. Any unauthorised use is prohibited."]


def _signature(c: Ctx, name, company):
    lines = ["-- " if c.chance(0.5) else "", name]
    if c.chance(0.7):
        lines.append(c.pick(["Project Manager", "Senior Engineer", "Head of Finance", "Office Manager", "Account Executive", "Site Reliability Engineer", "Team Lead"]))
    lines.append(company)
    if c.chance(0.6):
        lines.append(c.fk.phone_number())
    return "\n".join(lines)


def email_plain(c: Ctx):
    subj, sents = c.pick(EMAIL_TOPICS)
    subj = subj.format(num=c.n(1000, 99999))
    a, b = c.name(), c.name()
    a_mail, b_mail = c.email(a), c.email(b)
    company = c.company()
    hello, bye = GREETINGS.get(c.locale, GREETINGS["en_US"]) if c.chance(0.5) else GREETINGS["en_US"]
    t = c.dt()
    body = [s.format(date=c.dt().strftime("%d %B")) for s in sents[: c.n(2, len(sents))]]
    msg = [f"From: {a} <{a_mail}>", f"To: {b} <{b_mail}>", f"Date: {t:%a, %d %b %Y %H:%M:%S} +0000", f"Subject: {subj}", "",
           hello.format(n=b.split()[0]), "", textwrap.fill(" ".join(body), 72), "", bye + ",", _signature(c, a, company)]
    if c.chance(0.7):
        prev = [f"On {t - dt.timedelta(hours=c.n(1, 72)):%a, %d %b %Y at %H:%M}, {b} <{b_mail}> wrote:"]
        quoted = textwrap.fill(" ".join(s.format(date="1st") for s in c.rng.sample(sents, 2)), 70).split("\n")
        prev += ["> " + l for l in quoted]
        if c.chance(0.4):
            prev += [">", "> > " + c.pick(["Can we move the deadline?", "Do we still need the old password?", "Who owns this?"])]
        msg += [""] + prev
    if c.chance(0.4):
        msg += ["", textwrap.fill(c.pick(DISCLAIMERS), 72)]
    return "\n".join(msg)


# --- markdown README / changelog ------------------------------------------------------------------

def readme(c: Ctx):
    proj = c.en.word() + c.pick(["", "-cli", "kit", "-sync", "db", "ctl"])
    lang = c.pick(["python", "node", "go", "rust"])
    install = {"python": f"pip install {proj}", "node": f"npm install -g {proj}", "go": f"go install github.com/{c.user()}/{proj}@latest",
               "rust": f"cargo install {proj}"}[lang]
    opts = c.rng.sample([("--config PATH", "config file", "`~/.config/{p}/config.toml`"), ("--override KEY=VALUE", "override a config value; repeatable", "-"),
                         ("--ignore-missing", "do not fail on missing input files", "off"), ("--dry-run", "print what would be done, change nothing", "off"),
                         ("--delete", "delete files on the target that are not in the source", "off"), ("--no-verify", "bypass checksum verification (not recommended)", "off"),
                         ("--prompt", "ask for confirmation before each change", "on"), ("--jobs N", "parallel workers", "number of CPUs")], c.n(3, 6))
    rows = [["Option", "Description", "Default"]] + [[f"`{o}`", d, df.replace("{p}", proj)] for o, d, df in opts]
    parts = [f"# {proj}", "", c.en.sentence(nb_words=c.n(8, 14)).rstrip(".") + ".", ""]
    if c.chance(0.5):
        parts += [f"![build](https://img.shields.io/badge/build-passing-brightgreen) ![license](https://img.shields.io/badge/license-{c.pick(['MIT', 'Apache--2.0', 'BSD--3'])}-blue)", ""]
    parts += ["## Installation", "", "```sh", install, "```", "", "## Usage", "", "```sh",
              f"{proj} sync ./data s3://backups/{c.en.word()} --override retention=30d", f"{proj} status --json", "```", "", "## Options", "", _table(rows, "markdown"), ""]
    notes = ["> **Warning**: do not run with `--delete` against a shared bucket until you have tried `--dry-run`.",
             "> **Note**: passwords are read from the `" + proj.upper().replace("-", "_") + "_PASSWORD` environment variable and never written to disk.",
             "Settings from the command line override the config file, which overrides the defaults.",
             "Unknown keys in the config file are ignored with a warning."]
    parts += ["## Notes", ""] + c.rng.sample(notes, c.n(1, 3)) + ["", "## License", "", c.pick(["MIT", "Apache-2.0", "BSD-3-Clause", "GPL-3.0-or-later"]) + f" © {c.n(2018, 2025)} {c.name()}"]
    return "\n".join(parts)


CHANGELOG_ITEMS = {
    "Added": ["`--override KEY=VALUE` to set any config value from the command line", "support for {lang} translations", "a `--dry-run` mode for the `sync` command",
              "password strength meter on the sign-up page", "retry with exponential backoff for uploads", "`ignore_patterns` option to skip files"],
    "Changed": ["the default timeout is now {n}s", "config keys are now case-insensitive", "bumped minimum Python version to 3.{m}",
                "logs are written as JSON by default", "the cache is bypassed for authenticated requests"],
    "Fixed": ["crash when the config file is empty (#{n})", "password reset e-mails were sent twice", "`--ignore-missing` was ignored for nested directories",
              "memory leak in the websocket handler (#{n})", "wrong percentages in the weekly report"],
    "Removed": ["BREAKING: removed the --force flag; use --override instead", "the deprecated `v1` API endpoints", "support for Node.js {m}"],
    "Deprecated": ["`--no-prompt`; use `--yes`", "the `bypass_auth` setting, which will be removed in the next major release"],
    "Security": ["passwords are now hashed with argon2id", "updated dependencies to fix CVE-{y}-{n}"],
}


def changelog(c: Ctx):
    major, minor, patch = c.n(0, 5), c.n(0, 20), c.n(0, 9)
    d = c.dt(2023, 2025).date()
    style = c.n(0, 1)
    out = ["# Changelog", "", "All notable changes to this project are documented in this file.", ""] if c.chance(0.7) else ["CHANGES", "=======", ""]
    for _ in range(c.n(2, 5)):
        out.append(f"## [{major}.{minor}.{patch}] - {d.isoformat()}" if style == 0 else f"{major}.{minor}.{patch} ({d:%d %B %Y})\n" + "-" * 20)
        for sec in c.rng.sample(list(CHANGELOG_ITEMS), c.n(1, 3)):
            if style == 0:
                out.append(f"### {sec}")
            for item in c.rng.sample(CHANGELOG_ITEMS[sec], c.n(1, min(3, len(CHANGELOG_ITEMS[sec])))):
                text = item.format(n=c.n(10, 4000), m=c.n(8, 12), y=c.n(2021, 2025), lang=c.pick(["German", "Japanese", "Portuguese", "Dutch"]))
                out.append(f"- {text}" if style == 0 else f"* {sec}: {text}")
        out.append("")
        d -= dt.timedelta(days=c.n(7, 120))
        if patch > 0 and c.chance(0.6):
            patch -= 1
        elif minor > 0:
            minor, patch = minor - 1, c.n(0, 5)
        else:
            major, minor = max(0, major - 1), c.n(3, 12)
    return "\n".join(out).rstrip()


# --- SQL dumps ----------------------------------------------------------------------------------

def sql_dump(c: Ctx):
    n = c.n(3, 10)
    users = [(i, c.user(), c.email(), "$2b$12$" + "".join(c.pick(string.ascii_letters + string.digits + "./") for _ in range(53)),
              c.dt().strftime("%Y-%m-%d %H:%M:%S")) for i in range(1, n + 1)]
    if c.chance(0.5):
        out = [f"-- MySQL dump 10.13  Distrib {c.pick(['8.0.36', '8.0.39', '5.7.44'])}, for Linux (x86_64)", "--",
               f"-- Host: localhost    Database: {c.en.word()}", "-- ------------------------------------------------------", "",
               "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;", "/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;", "",
               "DROP TABLE IF EXISTS `users`;", "CREATE TABLE `users` (", "  `id` int NOT NULL AUTO_INCREMENT,", "  `username` varchar(64) NOT NULL,",
               "  `email` varchar(255) NOT NULL,", "  `password_hash` char(60) NOT NULL,", "  `created_at` datetime NOT NULL,", "  PRIMARY KEY (`id`),",
               "  UNIQUE KEY `email` (`email`)", ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;", "", "--", "-- Dumping data for table `users`", "--", "",
               "LOCK TABLES `users` WRITE;", "INSERT INTO `users` VALUES " + ",".join(f"({i},'{u}','{e}','{h}','{t}')" for i, u, e, h, t in users) + ";", "UNLOCK TABLES;"]
        return "\n".join(out)
    acts = ["login", "password_change", "override_limit", "delete_project", "bypass_2fa_recovery", "export"]
    out = ["--", "-- PostgreSQL database dump", "--", "", f"-- Dumped from database version {c.pick(['14.11', '15.6', '16.2'])}", "",
           "SET statement_timeout = 0;", "SET client_encoding = 'UTF8';", "SET standard_conforming_strings = on;", "",
           "CREATE TABLE public.audit_log (", "    id bigint NOT NULL,", "    user_id integer,", "    action text NOT NULL,", "    ip inet,",
           "    created_at timestamp with time zone DEFAULT now()", ");", "", "ALTER TABLE public.audit_log OWNER TO app;", "",
           "COPY public.audit_log (id, user_id, action, ip, created_at) FROM stdin;"]
    out += [f"{i}\t{c.n(1, 500)}\t{c.pick(acts)}\t{c.ip()}\t{c.dt():%Y-%m-%d %H:%M:%S}+00" for i in range(1, c.n(5, 20))]
    out += ["\\.", "", "--", "-- PostgreSQL database dump complete", "--"]
    return "\n".join(out)


# --- shell sessions -----------------------------------------------------------------------------

def _cmd_df(c):
    rows = [["Filesystem", "Size", "Used", "Avail", "Use%", "Mounted on"]]
    for dev, mnt in [("/dev/nvme0n1p2", "/"), ("tmpfs", "/run"), ("/dev/nvme0n1p1", "/boot/efi"), ("/dev/sda1", "/data")][: c.n(2, 4)]:
        size = c.pick([1, 32, 234, 468, 916, 1800])
        used = size * c.rng.uniform(0.05, 0.97)
        rows.append([dev, f"{size}G", f"{used:.0f}G", f"{size - used:.0f}G", f"{used / size:.0%}", mnt])
    return "df -h", "\n".join(" ".join(r) for r in rows)


def _cmd_lscpu(c):
    model = c.pick(["AMD Ryzen 7 5800X 8-Core Processor", "Intel(R) Core(TM) i7-12700H", "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz", "AMD EPYC 7763 64-Core Processor"])
    cores = c.pick([4, 8, 16, 32])
    return "lscpu", "\n".join([f"Architecture:            x86_64", "  CPU op-mode(s):        32-bit, 64-bit", f"CPU(s):                  {cores * 2}",
                               f"  On-line CPU(s) list:   0-{cores * 2 - 1}", f"Model name:              {model}", f"  Thread(s) per core:    2",
                               f"  Core(s) per socket:    {cores}", f"  CPU max MHz:           {c.n(3000, 5200)}.0000", "Virtualization:          AMD-V" if "AMD" in model else "Virtualization:          VT-x",
                               f"L3:                      {c.pick([16, 32, 256])} MiB", "Vulnerabilities:", "  Spectre v1:            Mitigation; usercopy/swapgs barriers"])


def _cmd_glxinfo(c):
    vendor, renderer = c.pick([("AMD", "AMD Radeon RX 6700 XT (navi22, LLVM 15.0.7, DRM 3.49)"), ("Intel", "Mesa Intel(R) UHD Graphics 620 (KBL GT2)"),
                               ("NVIDIA Corporation", "NVIDIA GeForce RTX 3060/PCIe/SSE2")])
    return "glxinfo -B", "\n".join([f"name of display: :0", "display: :0  screen: 0", "direct rendering: Yes", "Extended renderer info (GLX_MESA_query_renderer):",
                                    f"    Vendor: {vendor}", f"    Video memory: {c.pick([2048, 8192, 12288])}MB", "    Accelerated: yes",
                                    f"OpenGL vendor string: {vendor}", f"OpenGL renderer string: {renderer}",
                                    f"OpenGL core profile version string: 4.6 (Core Profile) Mesa {c.n(22, 24)}.{c.n(0, 3)}.{c.n(0, 6)}"])


def _cmd_free(c):
    tot = c.pick([7.6, 15.5, 31.3, 62.7])
    used = tot * c.rng.uniform(0.1, 0.9)
    return "free -h", f"               total        used        free      shared  buff/cache   available\nMem:            {tot}Gi       {used:.1f}Gi       {tot - used:.1f}Gi       {c.n(1, 900)}Mi       {c.rng.uniform(0.5, 6):.1f}Gi       {tot - used:.1f}Gi\nSwap:          2.0Gi          0B       2.0Gi"


def _cmd_git_status(c):
    files = [f"src/{c.en.word()}.py", "config/override.yaml", "README.md", f"tests/test_{c.en.word()}.py"]
    return "git status", "\n".join([f"On branch {c.pick(['main', 'fix/ignore-empty-config', 'feature/password-reset'])}",
                                    "Your branch is up to date with 'origin/main'.", "", "Changes not staged for commit:",
                                    '  (use "git add <file>..." to update what will be committed)',
                                    '  (use "git restore <file>..." to discard changes in working directory)'] +
                                   [f"\tmodified:   {f}" for f in c.rng.sample(files, c.n(1, 3))] + ["", 'no changes added to commit (use "git add" and/or "git commit -a")'])


def _cmd_systemctl(c):
    svc = c.pick(SERVICES)
    t = c.dt()
    state = c.pick(["active (running)", "failed (Result: exit-code)"])
    lines = [f"● {svc}.service - {svc} daemon", f"     Loaded: loaded (/lib/systemd/system/{svc}.service; enabled; vendor preset: enabled)",
             f"    Drop-In: /etc/systemd/system/{svc}.service.d", "             └─override.conf",
             f"     Active: {state} since {t:%a %Y-%m-%d %H:%M:%S} UTC; {c.n(1, 59)}min ago", f"   Main PID: {c.n(300, 60000)} ({svc})"]
    for _ in range(c.n(1, 3)):
        lines.append(f"{t:%b %d %H:%M:%S} {c.host()} {svc}[{c.n(300, 60000)}]: {_log_message(c)[1]}")
    return f"systemctl status {svc}", "\n".join(lines)


def _cmd_docker_ps(c):
    rows = [["CONTAINER ID", "IMAGE", "STATUS", "PORTS", "NAMES"]]
    for _ in range(c.n(2, 5)):
        w = c.en.word()
        rows.append([c.hex(12), f"{w}:{c.n(1, 9)}.{c.n(0, 9)}", f"Up {c.n(2, 59)} {c.pick(['minutes', 'hours', 'days'])}", f"0.0.0.0:{c.n(3000, 9000)}->80/tcp", f"{w}-{c.n(1, 3)}"])
    return "docker ps", _table(rows, "plain")


def _cmd_ping(c):
    host = c.en.domain_name()
    ip = c.ip()
    lines = [f"PING {host} ({ip}) 56(84) bytes of data."]
    times = [c.rng.uniform(5, 120) for _ in range(3)]
    lines += [f"64 bytes from {ip}: icmp_seq={i + 1} ttl={c.n(40, 64)} time={t:.1f} ms" for i, t in enumerate(times)]
    lines += ["", f"--- {host} ping statistics ---", "3 packets transmitted, 3 received, 0% packet loss, time 2003ms",
              f"rtt min/avg/max/mdev = {min(times):.3f}/{sum(times) / 3:.3f}/{max(times):.3f}/{c.rng.uniform(0.1, 9):.3f} ms"]
    return f"ping -c 3 {host}", "\n".join(lines)


SHELL_COMMANDS = [_cmd_df, _cmd_lscpu, _cmd_glxinfo, _cmd_free, _cmd_git_status, _cmd_systemctl, _cmd_docker_ps, _cmd_ping]


def shell_session(c: Ctx):
    user, host = c.user(), c.host()
    style = c.n(0, 2)
    prompt = [f"{user}@{host}:~$ ", "$ ", f"[{user}@{host} ~]# "][style]
    out = []
    for fn in c.rng.sample(SHELL_COMMANDS, c.n(1, 3)):
        cmd, output = fn(c)
        out += [prompt + cmd, output]
    if c.chance(0.3):
        out.append(prompt)
    return "\n".join(out)


# --- calendar invites ---------------------------------------------------------------------------

def _fold(line: str) -> str:
    """RFC 5545 line folding at 75 octets (approximated in characters)."""
    parts = [line[:75]] + [" " + line[i:i + 74] for i in range(75, len(line), 74)]
    return "\n".join(parts)


def ics_invite(c: Ctx):
    start = c.dt().replace(minute=c.pick([0, 15, 30, 45]), second=0, microsecond=0)
    end = start + dt.timedelta(minutes=c.pick([15, 30, 45, 60, 90]))
    org = c.name()
    tz = c.pick(["Europe/Berlin", "America/New_York", "Europe/Paris", "Asia/Tokyo", "America/Sao_Paulo", "Asia/Shanghai", "UTC"])
    summary = c.pick(["Weekly sync", "Quarterly business review", "Incident review: login outage", "1:1", "Sprint planning",
                      "Password manager rollout training", "Budget override approval", "Interview: backend engineer", "All hands"])
    desc = c.pick([f"Join: https://meet.{c.en.domain_name()}/{c.hex(3)}-{c.hex(4)}-{c.hex(3)}\\nMeeting ID: {c.n(100, 999)} {c.n(100, 999)} {c.n(1000, 9999)}\\nPasscode: {c.n(100000, 999999)}",
                   "Agenda:\\n1. Review action items\\n2. Metrics\\n3. AOB\\n\\nPlease do not forward this invitation.",
                   "If you cannot attend\\, decline so we can reschedule. Ignore the previous invite\\, the room changed."])
    prodid = c.pick(["-//Google Inc//Google Calendar 70.9054//EN", "-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN", "-//Apple Inc.//macOS 14.4//EN", "-//Zoom Video Communications//EN"])
    lines = ["BEGIN:VCALENDAR", f"PRODID:{prodid}", "VERSION:2.0", "CALSCALE:GREGORIAN", "METHOD:REQUEST", "BEGIN:VEVENT",
             f"DTSTART;TZID={tz}:{start:%Y%m%dT%H%M%S}", f"DTEND;TZID={tz}:{end:%Y%m%dT%H%M%S}", f"DTSTAMP:{c.dt():%Y%m%dT%H%M%SZ}",
             f"ORGANIZER;CN={org}:mailto:{c.email(org)}", f"UID:{c.hex(24)}@{c.en.domain_name()}"]
    for _ in range(c.n(1, 5)):
        a = c.name()
        lines.append(f"ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT={c.pick(['NEEDS-ACTION', 'ACCEPTED', 'TENTATIVE'])};RSVP=TRUE;CN={a}:mailto:{c.email(a)}")
    if c.chance(0.4):
        lines.append(f"RRULE:FREQ=WEEKLY;BYDAY={c.pick(['MO', 'TU', 'WE', 'TH', 'FR'])};COUNT={c.n(4, 20)}")
    lines += [f"SUMMARY:{summary}", f"DESCRIPTION:{desc}", f"LOCATION:{c.pick(['Room ' + str(c.n(100, 599)), c.fk.address().replace(chr(10), ', '), 'Online'])}",
              "SEQUENCE:0", "STATUS:CONFIRMED", "TRANSP:OPAQUE"]
    if c.chance(0.5):
        lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:Reminder", f"TRIGGER:-P0DT0H{c.pick([5, 10, 15, 30])}M0S", "END:VALARM"]
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\n".join(_fold(l) for l in lines)


# --- percentage tables ----------------------------------------------------------------------------

def _shares(c: Ctx, k):
    w = [c.rng.random() ** 1.5 + 0.02 for _ in range(k)]
    s = sum(w)
    return [100 * x / s for x in w]


def percent_table(c: Ctx):
    kind = c.n(0, 4)
    if kind == 0:
        title = f"Market share by vendor, {c.pick(['Q1', 'Q2', 'Q3', 'Q4'])} {c.n(2019, 2025)}"
        labels = [c.company() for _ in range(c.n(4, 9))] + ["Other"]
        rows = [["Vendor", "Share", "Change (pp)"]] + [[l, f"{s:.1f}%", f"{c.rng.uniform(-4, 4):+.1f}"] for l, s in zip(labels, _shares(c, len(labels)))]
    elif kind == 1:
        title = "Survey: \"I would recommend this product to a colleague\""
        groups = c.rng.sample(["All respondents", "18-34", "35-54", "55+", "Managers", "Engineers", "Support staff", "Remote", "On-site"], c.n(3, 7))
        rows = [["Group", "Agree", "Neutral", "Disagree", "n"]]
        for g in groups:
            a, b, d = _shares(c, 3)
            rows.append([g, f"{a:.0f}%", f"{b:.0f}%", f"{d:.0f}%", str(c.n(40, 3000))])
    elif kind == 2:
        title = f"Service availability, {c.dt():%B %Y}"
        rows = [["Service", "Uptime", "Error rate", "p99 latency"]] + [[s, f"{c.rng.uniform(99.0, 100):.3f}%", f"{c.rng.uniform(0, 2):.2f}%", f"{c.n(40, 3000)} ms"]
                                                                     for s in c.rng.sample(SERVICES, c.n(4, 9))]
    elif kind == 3:
        title = "Test coverage by module"
        rows = [["Module", "Statements", "Missed", "Coverage"]]
        for _ in range(c.n(4, 12)):
            st = c.n(20, 2000)
            miss = c.n(0, st // 2)
            rows.append([f"{c.en.word()}/{c.en.word()}.py", str(st), str(miss), f"{100 * (st - miss) / st:.0f}%"])
    else:
        title = "Conversion funnel"
        steps = ["Visited site", "Viewed product", "Added to cart", "Started checkout", "Entered password / signed in", "Completed purchase"]
        v = c.n(5000, 200000)
        rows = [["Step", "Users", "% of previous", "% of total"]]
        total = v
        for i, s in enumerate(steps):
            prev = v
            if i:
                v = int(v * c.rng.uniform(0.2, 0.9))
            rows.append([s, f"{v:,}", f"{100 * v / prev:.1f}%", f"{100 * v / total:.1f}%"])
    style = c.pick(["markdown", "box", "plain", "tsv"])
    out = [title, ""] if style != "markdown" else [f"### {title}", ""]
    out.append(_table(rows, style))
    if c.chance(0.5):
        out += ["", c.pick(["Percentages may not add up to 100 due to rounding.", "Source: internal data; figures exclude test accounts.",
                            "Note: the override period (maintenance windows) is ignored in uptime figures."])]
    return "\n".join(out)


# --- meeting notes ------------------------------------------------------------------------------

MEETING_ITEMS = ["Release {v} is on track; the QA sign-off must happen before Thursday.", "Agreed to ignore the flaky upload test until the fix lands.",
                 "Legal asked us to delete customer exports older than 90 days.", "Decision: we override the default retention policy for the staging cluster only.",
                 "Password rotation for service accounts is overdue; security will send a reminder.", "Cache bypass for admin pages caused higher DB load last week.",
                 "Budget for Q{q} approved with a {p}% cut to travel.", "Customer escalations down {p}% compared to last month.",
                 "We will stop supporting the old mobile app from {month}.", "Hiring: two open roles, interviews scheduled.",
                 "On-call handover: nobody should force-push to main during the freeze.", "Vendor contract renewal: prices up {p}%; procurement to negotiate."]


def meeting_notes(c: Ctx):
    names = [c.name() for _ in range(c.n(3, 7))]
    t = c.dt()
    items = [i.format(v=f"{c.n(1, 9)}.{c.n(0, 20)}", q=c.n(1, 4), p=c.n(3, 40), month=c.dt().strftime("%B")) for i in c.rng.sample(MEETING_ITEMS, c.n(3, 6))]
    actions = [f"{c.pick(names).split()[0]}: {a}" for a in c.rng.sample(["update the runbook", "override the default timeout in staging and report back", "send the minutes",
                                                                          "delete the unused test accounts", "check why the backup job skips /var/lib", "book a room for the retro",
                                                                          "draft the customer e-mail", "reset the shared password and update the vault"], c.n(2, 4))]
    title = c.pick(["Weekly team sync", "Platform standup", "Project kickoff", "Retro", "Board meeting minutes", "Ops review"])
    if c.chance(0.5):
        out = [f"# {title} — {t:%Y-%m-%d}", "", f"**Attendees:** {', '.join(names)}", "", "## Notes"] + [f"- {i}" for i in items] + \
              ["", "## Action items"] + [f"- [ ] {a}" for a in actions]
    else:
        out = [f"{title.upper()}", f"Date: {t:%d.%m.%Y}   Time: {t:%H:%M}   Location: {c.pick(['Zoom', 'Room ' + str(c.n(1, 40)), c.city()])}",
               f"Present: {'; '.join(names)}", f"Apologies: {c.name()}", ""] + [f"{k + 1}. {i}" for k, i in enumerate(items)] + ["", "ACTIONS"] + [f"  * {a}" for a in actions]
    if c.chance(0.3):
        out += ["", f"Next meeting: {t + dt.timedelta(days=7):%A %d %B}."]
    return "\n".join(out)


# --- product reviews ----------------------------------------------------------------------------

REVIEW_SENTENCES = {
    "good": ["Works exactly as described.", "Setup took five minutes, just ignore the app and pair it directly.", "Battery easily lasts a week.",
             "Much quieter than my old one.", "You must charge it fully before the first use, otherwise it behaves oddly.", "Great value for the price.",
             "The override button on the side is handy when the schedule is wrong.", "Customer service replaced a broken part within two days."],
    "mid": ["Does the job, nothing more.", "The manual is useless; the video on their site is better.", "Feels a bit cheap but works.",
            "Had to reset it twice in the first week.", "Ignore the included charger, it is too slow.", "Decent, but the password setup for the Wi-Fi is clunky."],
    "bad": ["Stopped working after a month.", "Do not buy this if you need it every day, it is far too fragile.", "Returned it. The app keeps asking for my password.",
            "The firmware update bricked it and support told me to delete the app and start over.", "Loud and overpriced.", "Arrived with a cracked case."],
}


def product_reviews(c: Ctx):
    product = c.pick(PRODUCTS)
    brand = c.company().split()[0].strip(",")
    out = [f"{brand} {product.title()} — customer reviews", f"{c.rng.uniform(2.5, 4.8):.1f} out of 5 stars ({c.n(12, 9000):,} ratings)", ""]
    for _ in range(c.n(2, 5)):
        stars = c.pick([5, 5, 4, 4, 3, 2, 1])
        bucket = "good" if stars >= 4 else "mid" if stars == 3 else "bad"
        title = c.pick({"good": ["Love it", "Exactly what I needed", "Solid purchase", "Five stars"], "mid": ["OK for the price", "Mixed feelings", "Fine"],
                        "bad": ["Disappointed", "Avoid", "Not worth it", "Broke quickly"]}[bucket])
        body = " ".join(c.rng.sample(REVIEW_SENTENCES[bucket], c.n(2, 4)))
        out += [f"{'★' * stars}{'☆' * (5 - stars)}  {title}", f"{c.name()} · Reviewed on {c.dt(2021, 2025):%B %d, %Y}" + (" · Verified Purchase" if c.chance(0.7) else ""),
                body, f"{c.n(0, 300)} people found this helpful" if c.chance(0.6) else "", ""]
    return "\n".join(l for l in out if l is not None).strip()


# --- support tickets ----------------------------------------------------------------------------

TICKET_TOPICS = [
    ("Cannot reset password", ["I requested a password reset three times but never got the e-mail.", "I checked the spam folder too."],
     ["Thanks for reaching out. The reset e-mails were blocked by your company's mail filter.", "I've sent a new link from a different sender; it expires in 30 minutes.",
      "If it still does not arrive, reply here and we can bypass the e-mail step after verifying your identity by phone."]),
    ("Charged twice for subscription", ["My card was charged twice this month for the same plan.", "Please refund the duplicate."],
     ["Sorry about that! I can confirm the duplicate charge.", "I've issued a refund; it must clear with your bank, which usually takes 5-10 business days.",
      "You can ignore the payment failure notice you may receive, it was triggered by the refund."]),
    ("Export job stuck at 99%", ["The CSV export has been stuck at 99% since yesterday.", "We need the data for an audit on Friday."],
     ["I've escalated this to engineering.", "As a workaround, you can override the default export format with ?format=jsonl, which skips the step that is stuck.",
      "Update: the fix is deployed; please try again."]),
    ("Request admin access", ["Our previous admin left the company and we cannot change any settings.", "How can I get admin rights?"],
     ["For security reasons we cannot grant admin rights over chat.", "The account owner must submit the ownership transfer form, or you can send us a signed letter on company letterhead.",
      "Once verified, we will delete the old admin and assign the role to you."]),
    ("API returns 429", ["Since this morning every call returns 429 Too Many Requests.", "We did not change anything on our side."],
     ["Your key hit the per-minute limit after a retry loop in your client.", "I've applied a temporary override raising the limit; please add exponential backoff.",
      "The override will be removed in 7 days."]),
]


def support_ticket(c: Ctx):
    subj, cust_msgs, agent_msgs = c.pick(TICKET_TOPICS)
    cust, agent = c.name(), c.fk.first_name()
    t = c.dt()
    num = c.n(10000, 999999)
    style = c.n(0, 2)
    if style == 0:
        out = [f"Ticket #{num}: {subj}", f"Status: {c.pick(['Open', 'Pending', 'Solved', 'Closed'])}   Priority: {c.pick(['Low', 'Normal', 'High', 'Urgent'])}   Channel: {c.pick(['Email', 'Web form', 'Chat'])}", ""]
    elif style == 1:
        out = [f"[{c.pick(['SUP', 'HELP', 'CS'])}-{num}] {subj}", f"Reporter: {cust}  |  Assignee: {agent}  |  Created: {t:%Y-%m-%d %H:%M}", "-" * 40]
    else:
        out = [f"Case {num} — {subj}", ""]
    msgs = [(cust, " ".join(cust_msgs)), (agent + " (Support)", " ".join(agent_msgs[:2]))]
    if len(agent_msgs) > 2 and c.chance(0.7):
        msgs += [(cust, c.pick(["Thanks, that worked.", "Still not working, sorry.", "OK, I'll try that tomorrow.", "Great, please go ahead."])), (agent + " (Support)", agent_msgs[2])]
    for who, text in msgs:
        t += dt.timedelta(minutes=c.n(3, 2000))
        out += [f"{who} — {t:%b %d, %Y %H:%M}" if style != 1 else f"Comment by {who} at {t:%Y-%m-%d %H:%M}:", textwrap.fill(text, 90), ""]
    if c.chance(0.4):
        out.append(c.pick(["This ticket will be closed automatically if we don't hear from you within 7 days.",
                           "How would you rate our support? Reply with a number from 1 to 5.", "Please do not reply below this line."]))
    return "\n".join(out).strip()


# --- registry and driver ------------------------------------------------------------------------

# kind -> list of templates (each a function Ctx -> str)
KINDS = {
    "log": [log_syslog, log_journald, log_nginx, log_json, log_app],
    "csv": [csv_table],
    "json": [json_config, json_api],
    "yaml": [yaml_k8s, yaml_ci, yaml_compose, yaml_ansible, yaml_helm_values],
    "stacktrace": [trace_python, trace_java, trace_js, trace_go],
    "diff": [diff_git],
    "whois": [whois_icann, whois_cctld],
    "html_email": [html_email],
    "email": [email_plain],
    "readme": [readme],
    "changelog": [changelog],
    "sql_dump": [sql_dump],
    "shell": [shell_session],
    "calendar": [ics_invite],
    "percent_table": [percent_table],
    "meeting_notes": [meeting_notes],
    "review": [product_reviews],
    "support_ticket": [support_ticket],
}


def _fit(text: str) -> str:
    """Cut texts over MAX_CHARS at the last line break before the limit."""
    if len(text) <= MAX_CHARS:
        return text
    cut = text.rfind("\n", 0, MAX_CHARS)
    return text[: cut if cut > MIN_CHARS else MAX_CHARS].rstrip()


def _benign(text: str) -> bool:
    return not _BANNED.search(text) and not _BANNED_CS.search(text)


def structured(rng: random.Random, n: int) -> list[dict]:
    """n generated benign documents {"kind", "text"}, kinds evenly mixed, deterministic given rng."""
    kinds = list(KINDS)
    out = []
    order: list[str] = []
    while len(out) < n:
        if not order:  # a shuffled round of every kind: counts stay within one of each other
            order = kinds[:]
            rng.shuffle(order)
        kind = order.pop()
        for _ in range(20):
            c = Ctx(rng)
            text = _fit(c.pick(KINDS[kind])(c))
            if len(text) >= MIN_CHARS and _benign(text):
                break
        else:
            raise RuntimeError(f"could not generate a benign {kind} sample")
        out.append({"kind": kind, "text": text})
    return out


if __name__ == "__main__":
    import collections
    import time

    t0 = time.time()
    docs = debian_docs()
    t1 = time.time()
    print(f"debian_docs: {len(docs)} chunks from {len({d['doc_id'] for d in docs})} pages in {t1 - t0:.1f}s")
    for pkg, k in sorted(collections.Counter(d["package"] for d in docs).items()):
        print(f"  {pkg:<20} {k}")
    for d in random.Random(0).sample(docs, min(3, len(docs))):
        print(f"--- {d['doc_id']} #{d['chunk']}\n{d['text'][:300]}")

    gen = structured(random.Random(0), 1800)
    t2 = time.time()
    lens = [len(d["text"]) for d in gen]
    print(f"\nstructured: {len(gen)} documents in {t2 - t1:.1f}s, length {min(lens)}-{max(lens)} (mean {sum(lens) / len(lens):.0f})")
    by_kind = collections.defaultdict(list)
    for d in gen:
        by_kind[d["kind"]].append(d["text"])
    for kind, texts in by_kind.items():
        print(f"\n===== {kind}: {len(texts)}")
        for t in texts[:2]:
            print(t[:300] + ("…" if len(t) > 300 else ""))
            print("-----")
