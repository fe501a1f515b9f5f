"""Validation numbers only (no eval file is read): thresholds and held-out scores of one ONNX model on
the current out/data validation sets. Used to compare a new training run with the shipped model on the
same validation data before deciding which to ship (the decision never looks at eval files)."""
import argparse
import json
import os

from evaluate import OnnxScorer, choose_thresholds, read

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--data", default=os.path.join(HERE, "out", "data"))
    ap.add_argument("--json", required=True)
    args = ap.parse_args()
    names = ["injection_val", "injection_holdout_benign", "injection_holdout_attack", "toxicity_val", "topic_val"]
    d = {n: read(os.path.join(args.data, n + ".jsonl")) for n in names}
    th, val = choose_thresholds(OnnxScorer(args.model, args.tokenizer), d)
    json.dump({"thresholds": th, "validation": val}, open(args.json, "w"), indent=1)
    print(json.dumps({"selection_f1": val["selection_set"]["f1"], "holdout_benign_pass": val["holdout_benign_pass_rate"],
                      "holdout_attack_recall": val["holdout_attack_recall"], "by_source": val["holdout_benign_by_source"],
                      "tox_f1": val["toxicity_val"]["f1"]}, indent=1))


if __name__ == "__main__":
    main()
