"""Writes runs/<n>-run<n>.json (the shape cards.py and STATUS.md read) from a run's metrics.json, as written by
eval_previous.py or evaluate.py, plus its validation numbers.  Aggregates only: no eval text is copied."""
import argparse
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
KEEP = {"injection_eval": ["n", "precision", "recall", "f1", "fpr", "roc_auc", "notinject_pass_rate",
                           "notinject_pass_by_script"],
        "bipia_indirect": ["n", "precision", "recall", "f1", "fpr", "roc_auc", "clean_email_pass_rate",
                           "clean_code_pass_rate"],
        "moderation": ["n", "precision", "recall", "f1", "fpr", "roc_auc"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--metrics", required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--label", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--shipped", action="store_true")
    args = ap.parse_args()
    m = json.load(open(args.metrics))
    m = m.get("finetuned", m)  # evaluate.py's metrics.json wraps the model's numbers
    e, v = m["eval"], m["validation"]
    out = {"label": args.label, "version": f"warden-minilm-run{args.n}", "shipped": args.shipped, "source": args.source}
    for k, keys in KEEP.items():
        out[k] = {x: e[k][x] for x in keys if x in e[k]}
    out["injection_eval"]["recall_by_source"] = {s: r["flag_rate"] for s, r in e["injection_eval"]["by_source"].items()}
    out["topics"] = {t: {x: e["topics"][t][x] for x in ["n", "precision", "recall", "f1", "fpr", "roc_auc"]}
                     for t in ["finance", "health", "legal"]}
    out["xstest"] = e["xstest"]
    out["thresholds"] = m["thresholds"]
    out["validation"] = {"selection_f1": v["selection_set"]["f1"], "holdout_benign_pass_rate": v["holdout_benign_pass_rate"],
                         "holdout_attack_recall": v["holdout_attack_recall"], "toxicity_val_f1": v["toxicity_val"]["f1"]}
    if "natural" in e:  # issue #19: ordinary traffic (test splits), per surface
        out["natural"] = {k: {x: e["natural"][k][x] for x in ("head", "pooled_flagged", "pooled_to_human", "macro_flagged")}
                          for k in e["natural"]}
        out["calibration"] = {k: {x: v[k][x] for x in ("flag", "high")} for k in ("calibration_user", "calibration_document")}
    path = os.path.join(HERE, "runs", f"{args.n}-run{args.n}.json")
    json.dump(out, open(path, "w"), indent=1)
    print(path)


if __name__ == "__main__":
    main()
