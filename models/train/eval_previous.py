"""Scores an earlier model on today's validation and eval sets with the same code as evaluate.py
(thresholds chosen on validation only), so a new run and the one it replaces are compared in one run.
Writes <dir>/metrics.json in the shape cards.py reads for the previous run."""
import argparse
import json
import os

from evaluate import OnnxScorer, choose_thresholds, evaluate, read

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True, help="holds model.int8.onnx and tokenizer.json")
    ap.add_argument("--data", default=os.path.join(HERE, "out", "data"))
    args = ap.parse_args()
    names = ["injection_val", "injection_holdout_benign", "injection_holdout_attack", "toxicity_val", "topic_val",
             "topic_test", "eval_injection_eval", "eval_bipia_indirect", "eval_xstest", "eval_moderation"]
    d = {n: read(os.path.join(args.data, n + ".jsonl")) for n in names}
    sc = OnnxScorer(os.path.join(args.dir, "model.int8.onnx"), os.path.join(args.dir, "tokenizer.json"))
    th, val = choose_thresholds(sc, d)
    out = {"thresholds": th, "validation": val, "eval": evaluate(sc, d, th)}
    json.dump(out, open(os.path.join(args.dir, "metrics.json"), "w"), indent=1)
    e = out["eval"]
    print(json.dumps({"f1": e["injection_eval"]["f1"], "notinject": e["injection_eval"]["notinject_pass_rate"],
                      "bipia_recall": e["bipia_indirect"]["recall"]}))


if __name__ == "__main__":
    main()
