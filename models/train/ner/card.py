"""Writes models/cards/entities.md from the measured files (out/heads/final_s*.json, out/eval/*.json,
out/check.json, out/peer.json): every number in the card comes from there."""
import glob
import json
import os

import numpy as np

from common import CATEGORIES, OUT, REPO

SHIP = int(os.environ.get("SHIP_SEED", "1"))


def j(path):
    return json.load(open(path)) if os.path.exists(path) else None


def f(x, d=3):
    return "-" if x is None else f"{x:.{d}f}"


def gold_table(evals, name):
    rows = ["| category | gold spans | exact P | exact R | exact F1 | overlap P | overlap R | overlap F1 | overlap F1 over seeds (mean ± sd) |",
            "|---|---|---|---|---|---|---|---|---|"]
    ship = evals[SHIP][name]["metrics"]
    for c in ("PER", "LOC", "ORG"):
        m = ship[c]
        seeds = [e[name]["metrics"][c]["overlap_f1"] for e in evals.values()]
        rows.append(f"| {c} | {m['n_gold']} | {f(m['exact_p'])} | {f(m['exact_r'])} | {f(m['exact_f1'])} | "
                    f"{f(m['overlap_p'])} | {f(m['overlap_r'])} | {f(m['overlap_f1'])} | "
                    f"{np.mean(seeds):.3f} ± {np.std(seeds):.3f} (n={len(seeds)}) |")
    return "\n".join(rows)


def main():
    heads = {int(p.split("_s")[-1][:-5]): j(p) for p in glob.glob(os.path.join(OUT, "heads", "final_s*.json"))}
    evals = {int(p.split("_s")[-1][:-5]): j(p) for p in glob.glob(os.path.join(OUT, "eval", "final_s*.json"))}
    synth = j(os.path.join(OUT, "eval", "synth.json"))
    check = j(os.path.join(OUT, "check.json"))
    peer = j(os.path.join(OUT, "peer_both.json")) or j(os.path.join(OUT, "peer.json"))
    h = heads[SHIP]
    out = []
    out.append(open(os.path.join(os.path.dirname(__file__), "card_head.md")).read().rstrip() + "\n")
    out.append("## Dev (thresholds chosen here)\n")
    out.append(f"Per-category thresholds (best span-overlap F1 on dev, seed {SHIP}): "
               + ", ".join(f"{c} {h['thresholds'][c]}" for c in CATEGORIES) + ".\n")
    out.append("| category | dev gold spans | exact F1 | overlap P | overlap R | overlap F1 | overlap F1 over seeds (mean ± sd) |")
    out.append("|---|---|---|---|---|---|---|")
    for c in CATEGORIES:
        m = h["dev"][c]
        seeds = [x["dev"][c]["overlap_f1"] for x in heads.values()]
        out.append(f"| {c} | {m['n_gold']} | {f(m['exact_f1'])} | {f(m['overlap_p'])} | {f(m['overlap_r'])} | "
                   f"{f(m['overlap_f1'])} | {np.mean(seeds):.3f} ± {np.std(seeds):.3f} (n={len(seeds)}) |")
    out.append("\nDev overlap F1 by source (seed %d): " % SHIP + "; ".join(
        f"{s}: " + ", ".join(f"{c} {v:.3f}" for c, v in d.items()) for s, d in h["dev_overlap_f1_by_source"].items()) + ".\n")
    out.append("## Test splits (measured once, after everything was chosen)\n")
    out.append("Predicted ADDR counts as LOC here (neither set has a street-address type). Exact: same category "
               "and the same character span; overlap: same category and any overlap.\n")
    out.append("### WNUT17 test (tweets, Reddit, YouTube, Stack Overflow; emerging entities)\n")
    out.append(gold_table(evals, "wnut_test") + "\n")
    out.append("### UNER English-EWT test (web text: e-mails, reviews, answers, blogs)\n")
    out.append(gold_table(evals, "uner_test") + "\n")
    b = evals[SHIP]["benign_test"]
    out.append("## Ordinary benign user texts (benign test split)\n")
    out.append(f"{b['n']} English user texts sampled from the test split of `models/train/benign.py` "
               f"(seed {SHIP}). Share of texts with at least one span of the category:\n")
    out.append("| category | fires on | over seeds (mean ± sd) |")
    out.append("|---|---|---|")
    for c in CATEGORIES:
        vals = [e["benign_test"]["fire_rate"][c] for e in evals.values()]
        out.append(f"| {c} | {b['fire_rate'][c] * 100:.2f}% | {np.mean(vals) * 100:.2f}% ± {np.std(vals) * 100:.2f}% |")
    out.append(f"| any | {b['any'] * 100:.2f}% | |\n")
    out.append("By source (any category): " + ", ".join(f"{s} {v * 100:.1f}%" for s, v in b["by_source"].items()) + ".\n")
    out.append("Most frequent strings flagged as persons there (lowercased, count): "
               + ", ".join(f"{s} ({n})" for s, n in b["top_person_strings"][:30]) + ".\n")
    cw = evals[SHIP].get("common_words")
    if cw:
        out.append(f"Common words that are also names (`evaluate.py` COMMON_WORDS, {cw['n']} sentences written for "
                   f"this check, e.g. \"Will you send me the report?\", \"Rose bushes need pruning\"): "
                   f"{cw['person_spans']} person spans"
                   + (": " + "; ".join(f"\"{t}\" → \"{s}\"" for t, s in cw["flagged"]) if cw["flagged"] else "") + ".\n")
    if check:
        out.append("## Latency and identity\n")
        out.append(f"Old outputs bit-identical to warden-minilm-2026.12.1 on the reference texts (batch 1 and padded "
                   f"batch, with and without token_case): **{check['identical']}**.\n")
        out.append("onnxruntime 1.31.1, 2 intra-op threads, old and new graph interleaved in one run on the same "
                   "inputs (ms; the machine is shared, so tails are noisy):\n")
        out.append("| batch x seq | runs | old p50 | new p50 | old p90 | new p90 | old p99 | new p99 | p50 change | mean change |")
        out.append("|---|---|---|---|---|---|---|---|---|---|")
        for r in check["latency"]:
            o, n = r["old_ms"], r["new_ms"]
            out.append(f"| {r['batch']} x {r['seq']} | {r['runs']} | {o['p50']:.2f} | {n['p50']:.2f} | {o['p90']:.2f} | "
                       f"{n['p90']:.2f} | {o['p99']:.2f} | {n['p99']:.2f} | {r['p50_increase'] * 100:+.1f}% | "
                       f"{r['mean_increase'] * 100:+.1f}% |")
        out.append("")
        out.append("The machine was shared with other sessions' Rust builds and tests during the measurement (load "
                   "average above 5 on 2 cores): the old graph's own p50 at 1 x 32 is several times its unloaded "
                   "time, and the minimum and p10 columns of `out/check.json` disagree in sign, so these numbers "
                   "bound the change only loosely. By arithmetic, the head adds about 0.6 M fp32 multiply-adds per "
                   "token (773 x 3 x 256 + 256 x 9) to the encoder's ~10.6 M int8 ones (6 layers x (4 x 384^2 + 2 x "
                   "384 x 1536)) plus attention, about 5-6%. `benches/model.rs` on a quiet machine should confirm "
                   "the issue's 10% budget for ScoreInput; hidden 128 would halve the head's cost for about 0.005 dev F1 (table at the top).\n")
    if synth:
        m = synth["synth_dataset_v2"]["metrics"]
        out.append("## synth_dataset_v2 (presidio-research; evaluation only, measured at the very end)\n")
        out.append("Issue #22's terms: PERSON; LOCATION = STREET_ADDRESS + GPE (predicted LOC or ADDR); "
                   "ORGANIZATION; span overlap. Reference decoder in Python at the manifest thresholds.\n")
        targets = {"PERSON": (0.80, 0.85), "LOCATION": (0.50, 0.80), "ORGANIZATION": (0.60, 0.80)}
        out.append("| type | gold spans | predicted | recall | precision | exact recall | target recall / precision | met |")
        out.append("|---|---|---|---|---|---|---|---|")
        for t, (tr, tp) in targets.items():
            x = m[t]
            met = x["overlap_r"] >= tr and x["overlap_p"] >= tp
            out.append(f"| {t} | {x['n_gold']} | {x['n_pred']} | {f(x['overlap_r'])} | {f(x['overlap_p'])} | "
                       f"{f(x['exact_r'])} | >= {tr:.2f} / >= {tp:.2f} | {'yes' if met else 'no'} |")
        others = []
        for sd in sorted(heads):
            if sd == SHIP:
                continue
            e = j(os.path.join(OUT, "eval", f"final_s{sd}.json"))
            e = e if e and "synth_dataset_v2" in e else j(os.path.join(OUT, "eval", f"synth_s{sd}.json"))
            if e and "synth_dataset_v2" in e:
                mm = e["synth_dataset_v2"]["metrics"]
                others.append(f"seed {sd}: " + ", ".join(
                    f"{t} R {mm[t]['overlap_r']:.3f} / P {mm[t]['overlap_p']:.3f}" for t in targets))
        if others:
            out.append("The other seeds, measured the same way after seed %d was fixed as the shipped one (not a "
                       "choice made on this corpus): " % SHIP + "; ".join(others) + ". PERSON sits on the target's "
                       "edge (recall and precision trade around 0.80 / 0.85 between seeds); ORGANIZATION misses it "
                       "in every seed.\n")
        out.append("")
    if peer:
        out.append("## Presidio on the same corpus (scripts/pii_peer.py)\n")
        p = peer["systems"]["presidio"]
        wd = peer["systems"].get("warden")
        out.append(f"{p['name']}, {peer['documents']} documents, {p['ms_per_doc']:.1f} ms per document"
                   + (f"; in the same run, today's Warden server (debug build of this branch, which already embeds "
                      f"this graph but does not read `entities` yet) through gRPC ScoreInput, {wd['ms_per_doc']:.1f} ms "
                      f"per document" if wd else "") + ":\n")
        out.append("| type | gold | Presidio recall | Presidio precision | Warden (rules, today) recall | Warden precision | entity head recall | entity head precision |")
        out.append("|---|---|---|---|---|---|---|---|")
        sm = synth["synth_dataset_v2"]["metrics"] if synth else {}
        for t, r in p["types"].items():
            w = sm.get(t)
            wr = f"{w['overlap_r']:.2f} | {w['overlap_p']:.2f}" if w else "- | -"
            wt = (wd["types"].get(t) or {"recall": 0.0, "precision": None}) if wd else {"recall": None, "precision": None}
            out.append(f"| {t} | {r['gold']} | {f(r['recall'], 2)} | {f(r['precision'], 2)} | {f(wt['recall'], 2)} | "
                       f"{f(wt['precision'], 2)} | {wr} |")
        out.append("")
        out.append(f"The entity head's columns are the Python reference decoder on the shipped graph "
                   f"({synth['synth_dataset_v2']['ms_per_text']:.1f} ms per document for the model alone, batch 1, "
                   f"shared machine). Warden through gRPC (`scripts/pii_peer.py --warden`) reports these types once "
                   f"the Rust side emits `pii.person`, `pii.location`, `pii.address` and `pii.organization`.")
        out.append("")
    out.append(open(os.path.join(os.path.dirname(__file__), "card_tail.md")).read().rstrip() + "\n")
    dest = os.path.join(REPO, "models", "cards", "entities.md")
    open(dest, "w").write("\n".join(out))
    print("wrote", dest)


if __name__ == "__main__":
    main()
