"""Evaluates a built graph (entities output) through the reference decoder (infer.py), batch 1 per window.

  --sets wnut_test uner_test benign_test   gold tests (PER / LOC / ORG; predicted ADDR counts as LOC) and the
                                           fire rate on benign user texts of the benign TEST split
  --synth                                  presidio-research synth_dataset_v2 (evaluation only, at the very end):
                                           PERSON, LOCATION = STREET_ADDRESS + GPE (LOC + ADDR), ORGANIZATION
Writes out/eval/{tag}.json.
"""
import argparse
import json
import os
import time
from collections import Counter

from common import CATEGORIES, DATA, OUT, load_jsonl
from infer import Entities
from metrics import score

SYNTH_MAP = {"PERSON": "PERSON", "STREET_ADDRESS": "LOCATION", "GPE": "LOCATION", "ORGANIZATION": "ORGANIZATION"}
PRED_MAP = {"PER": "PERSON", "LOC": "LOCATION", "ADDR": "LOCATION", "ORG": "ORGANIZATION"}


def synth_rows():
    d = json.load(open(os.path.join(DATA, "pii", "synth_dataset_v2.json")))
    out = []
    for x in d:
        spans = [(SYNTH_MAP[s["entity_type"]], s["start_position"], s["end_position"])
                 for s in x["spans"] if s["entity_type"] in SYNTH_MAP]
        out.append({"text": x["full_text"], "spans": spans})
    return out


# Sentences written for this project whose capitalised or name-like words are common words, not persons
# (Will, Mark, Rose, Bill, Grace, May, June, Hope, Joy, Summer, Frank, Art, Sue, Guy, Pat, Ray, Dawn, ...).
COMMON_WORDS = [
    "Will you send me the report?", "Mark the task as done.", "Rose bushes need pruning in spring.",
    "Bill me for the extra hours.", "Grace periods apply to late payments.", "May I ask a question?",
    "June was hotter than usual.", "Hope you are doing well!", "Joy is contagious.", "Summer holidays start soon.",
    "Frank feedback helps the team.", "Art supplies are on the second floor.", "Sue the company? Really?",
    "Guy ropes keep the tent up.", "Pat the dough dry before frying.", "Ray tracing makes games look real.",
    "Dawn is the best time to fish.", "Chase the cat out of the kitchen.", "Rich people pay more tax.",
    "Faith and reason are old rivals.", "Amber lights mean slow down.", "Page 3 has the summary.",
    "Miles of road were closed.", "Jack up the car before changing the tyre.", "Drew a picture for my mom.",
    "Gene therapy is expensive.", "Sandy beaches are the best.", "Victor or loser, we play fair.",
    "Holly and ivy decorate the hall.", "Cliff jumping is dangerous.", "Dean's list students get a prize.",
    "Major changes are coming to the app.", "Carol singers came by last night.", "Skip the intro please.",
    "Nick the edge of the board with a knife.", "Penny for your thoughts.", "Crystal clear water.",
    "Brook trout live in cold streams.", "Rusty nails can cause tetanus.", "Angel food cake is light.",
]


def run(ent, rows):
    t0 = time.time()
    preds = [ent.spans(r["text"]) for r in rows]
    return preds, (time.time() - t0) * 1000 / max(1, len(rows))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(OUT, "model.entities.int8.onnx"))
    ap.add_argument("--thresholds", required=True, help="JSON dict per category, or a head .json with 'thresholds'")
    ap.add_argument("--sets", nargs="*", default=["wnut_test", "uner_test", "benign_test"])
    ap.add_argument("--synth", action="store_true")
    ap.add_argument("--no-case", action="store_true", help="do not feed token_case (the graph's default 0)")
    ap.add_argument("--rules", default="org", help="decoding rules (common.decode); \"\" for none")
    ap.add_argument("--tag", default="eval")
    args = ap.parse_args()
    th = args.thresholds
    th = json.load(open(th))["thresholds"] if os.path.exists(th) else json.loads(th)
    ent = Entities(args.model, th, feed_case=not args.no_case, rules=args.rules)
    res = {"thresholds": th}
    for name in args.sets:
        rows = load_jsonl(os.path.join(OUT, "data", f"{name}.jsonl"))
        preds, ms = run(ent, rows)
        if name == "benign_test":
            fired = {c: sum(1 for p in preds if any(s[0] == c for s in p)) / len(rows) for c in CATEGORIES}
            per_src = Counter(r["source"] for r in rows)
            fired_src = Counter(r["source"] for r, p in zip(rows, preds) if p)
            persons = Counter(r["text"][a:b].lower() for r, p in zip(rows, preds) for c, a, b, _ in p if c == "PER")
            res[name] = {"n": len(rows), "fire_rate": {c: round(v, 4) for c, v in fired.items()},
                         "any": round(sum(1 for p in preds if p) / len(rows), 4),
                         "by_source": {s: round(fired_src[s] / n, 4) for s, n in per_src.most_common()},
                         "top_person_strings": persons.most_common(40), "ms_per_text": round(ms, 2)}
        else:
            gold = [[(c, a, b) for a, b, c in r["spans"] if c] for r in rows]
            pr = [[(c, a, b) for c, a, b, _ in p] for p in preds]
            res[name] = {"metrics": score(gold, pr, ["PER", "LOC", "ORG"], merge={"ADDR": "LOC"}),
                         "ms_per_text": round(ms, 2)}
        print(name, json.dumps(res[name])[:3000], flush=True)
    if "benign_test" in args.sets:
        preds, _ = run(ent, [{"text": t} for t in COMMON_WORDS])
        flagged = [(t, t[a:b]) for t, p in zip(COMMON_WORDS, preds) for c, a, b, _ in p if c == "PER"]
        res["common_words"] = {"n": len(COMMON_WORDS), "person_spans": len(flagged), "flagged": flagged}
        print("common_words", json.dumps(res["common_words"]), flush=True)
    if args.synth:
        rows = synth_rows()
        preds, ms = run(ent, rows)
        gold = [r["spans"] for r in rows]
        pr = [[(PRED_MAP[c], a, b) for c, a, b, _ in p] for p in preds]
        res["synth_dataset_v2"] = {"metrics": score(gold, pr, ["PERSON", "LOCATION", "ORGANIZATION"]),
                                   "ms_per_text": round(ms, 2)}
        print("synth", json.dumps(res["synth_dataset_v2"]), flush=True)
    os.makedirs(os.path.join(OUT, "eval"), exist_ok=True)
    with open(os.path.join(OUT, "eval", f"{args.tag}.json"), "w") as f:
        json.dump(res, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
