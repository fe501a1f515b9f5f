"""Installs a built graph as models/warden-minilm/model.int8.onnx and updates manifest.json for the entity head:
version, input token_case, output entities, entity_labels, thresholds.entities (chosen on dev by train_head.py),
the decoding rules, and sha256/bytes of the model file."""
import argparse
import datetime
import hashlib
import json
import os
import shutil

import numpy as np

from common import CATEGORIES, HALF_OVERLAP, LABELS, MODEL_DIR, RUST_CATEGORY

VERSION = "warden-minilm-2026.12.3"


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="graph built by export_head.py")
    ap.add_argument("--head", required=True, help="the head .npz it was built from (config, thresholds)")
    args = ap.parse_args()
    cfg = json.loads(str(np.load(args.head)["config"]))
    dest = os.path.join(MODEL_DIR, "model.int8.onnx")
    shutil.copyfile(args.model, dest)
    mpath = os.path.join(MODEL_DIR, "manifest.json")
    m = json.load(open(mpath))
    m["version"] = VERSION
    m["inputs"]["token_case"] = (
        "int64 [batch, seq] per-token letter case of the ORIGINAL text (the tokenizer lowercases): "
        "0 = no cased letter (also [CLS], [SEP], padding), 1 = lowercase, 2 = Capitalised, 3 = ALL CAPS, 4 = mixed; "
        "see entities.token_case. Optional for the graph (an overridable initializer of shape [1, 1] = 0), "
        "but the entity head is only measured with it fed")
    m["outputs"]["entities"] = (
        "float32 [batch, seq, 9] softmax probabilities per token over entity_labels (BIO); "
        "the other outputs are bit-identical to warden-minilm-2026.12.1")
    m["entity_labels"] = LABELS
    m["thresholds"]["entities"] = {c: cfg["thresholds"][c] for c in CATEGORIES}
    m["entities"] = {
        "categories": {c: RUST_CATEGORY[c] for c in CATEGORIES},
        "head": {"encoder_layers": cfg["layers"], "token_case": bool(cfg["case"]),
                 "context": "Conv1D width 3 (tokens t-1, t, t+1)" if cfg["ctx"] else "none",
                 "served_as": ("one int8 product per token for all taps (DynamicQuantizeLinear, MatMulInteger with "
                               "7-bit per-column weights), a token_case lookup and a shift-and-add; "
                               "models/train/ner/export_head.py"),
                 "hidden": cfg["hidden"], "seed": cfg["seed"], "tag": cfg["tag"]},
        "token_case": (
            "for each content token, s = the ORIGINAL text at the tokenizer's offsets for that token; "
            "up = number of characters of s with the Unicode Uppercase property (Rust char::is_uppercase, Python "
            "str.isupper), lo = number with Lowercase (is_lowercase / islower); "
            "up == 0 and lo == 0 -> 0; up == 0 -> 1; lo == 0 -> (3 if up >= 2 else 2); "
            "up == 1 and the first cased character of s is uppercase -> 2; otherwise 4. [CLS], [SEP], padding -> 0"),
        "windows": (
            f"the manifest window (254 content tokens, stride 192): content token i takes its probabilities from "
            f"the first window covering it, unless the next window also covers it and i >= next_start + "
            f"{HALF_OVERLAP} (the middle of the 62-token overlap), in which case from the next window"),
        "decoding": (
            "over the stitched content tokens: P(X) = P(B-X) + P(I-X) per category X; the token's category is the "
            "argmax of [P(O), P(PER), P(LOC), P(ADDR), P(ORG)] (lowest index on ties); category O closes the open "
            "span; category X extends the open span if it has category X and (the token is a word continuation, "
            "i.e. its vocabulary string starts with '##', or P(I-X) >= P(B-X)), otherwise it opens a new span of X. "
            "Then per span: extend back to its word's first token if it starts on a '##' token and forward over "
            "the '##' tokens that follow it; drop leading tokens whose original text has no alphanumeric character "
            "(Rust char::is_alphanumeric, Python str.isalnum), and the span if none is left; score = mean of P(X) "
            "over its tokens; keep it if score >= thresholds.entities[X] and it starts at or after the end of the "
            "previous kept span. Span = [start offset of its first token, end offset of its last token), UTF-8 "
            "byte offsets of the original text; "
            "then, over the kept spans of one text, the company-name grammar, which only makes, widens, joins or "
            "drops ORG spans (legal forms such as Ltd/GmbH/Inc and closing words such as Group/Foundation widen "
            "an ORG span or make one after capitalised words; ORG spans one space apart are joined; titles, "
            "departments and job-title words are dropped as ORG): models/train/ner/common.py organisations, "
            "src/model/entities.rs organisations"),
        "thresholds_chosen_on": (
            "per category, the best span-overlap F1 on the dev split (half of WNUT17 dev, a quarter of UNER "
            "English-EWT dev by document, Faker templates of another seed); never test or synth_dataset_v2"),
        "reference": "models/train/ner/infer.py, tests/fixtures/models/entities_reference.jsonl",
    }
    m["files"]["model.int8.onnx"] = {"sha256": sha256(dest), "bytes": os.path.getsize(dest)}
    m["built"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    m["build_command"] = "bash models/train/build.sh (encoder and heads); bash models/train/ner/build.sh (entity head)"
    with open(mpath, "w") as f:
        json.dump(m, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print("installed", dest, m["files"]["model.int8.onnx"])


if __name__ == "__main__":
    main()
