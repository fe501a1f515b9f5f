"""A development set for organisations in running prose (issue #22): where ORG precision and recall are lost.

The entity head's own dev set is two-thirds template text with companies in headers ("Company: X"); the served
use is e-mails, letters and chat where a company is named in a sentence. These templates were written for this
project (CC0), none taken from presidio-evaluator, and are filled with Faker values (names, cities, companies in
many locales) and with company names built from a surname or word and a legal or trade suffix. Negative
templates hold what an ORG span should not take: products, teams and departments, capitalised common words,
weekdays and titles.

Writes out/data/orgdev.jsonl (this prose set) and out/data/orgdev_gold.jsonl (the held-out UNER-EWT and WNUT17
dev parts, the same split as prep.py), and, with --eval, decodes both with the graph and prints where ORG spans
are lost (gold ORG missed, predicted ORG wrong and what it overlapped).

    python orgdev.py --write
    python orgdev.py --eval --model ../../warden-minilm/model.int8.onnx
"""
import argparse
import json
import os
import random
import re
from collections import Counter

from common import CATEGORIES, OUT, load_jsonl, save_jsonl

# {ORG}/{ORG2} company, {PER} full name, {FIRST} first name, {LAST} surname, {CITY}, {COUNTRY}.
PROSE = [
    "I work at {ORG} as a data engineer.",
    "I've been at {ORG} for six years now and I'm thinking about leaving.",
    "My sister just got an offer from {ORG}, should she take it?",
    "Can you write a complaint to {ORG}'s support team? They charged me twice.",
    "We received an invoice from {ORG} for $4,200 but we never ordered anything.",
    "Hi {FIRST}, I'm following up on the proposal we sent to {ORG} last Tuesday.",
    "Dear {PER},\n\nI am writing on behalf of {ORG} regarding the overdue payment.\n\nBest,\n{PER2}",
    "lol {FIRST} got hired by {ORG} and won't stop talking about it",
    "The contract between {ORG} and {ORG2} expires in March.",
    "Did {ORG} ever reply to your application?",
    "{ORG} is laying off 200 people in {CITY}, according to the local paper.",
    "Please cancel my subscription with {ORG} effective immediately.",
    "My manager at {ORG} wants the slides by Friday.",
    "I bought the laptop through {ORG}, but the warranty is with the manufacturer.",
    "{PER} from {ORG} will join the call at 3pm.",
    "Thanks for choosing {ORG}! Your order #48213 has shipped.",
    "Our auditors, {ORG}, flagged two issues in the Q3 report.",
    "Who is the CEO of {ORG}?",
    "How do I file a claim with {ORG} after a car accident?",
    "I'm a freelance designer and {ORG} is my biggest client.",
    "The merger of {ORG} and {ORG2} was approved by the regulator.",
    "Write a LinkedIn post announcing that I joined {ORG} as head of sales.",
    "{ORG} sent me a letter saying my account in {CITY} will be closed.",
    "The reference is from my previous employer, {ORG}.",
    "Payment was made to {ORG} on 12 May via bank transfer.",
    "Hey, is {ORG} still hiring interns this summer?",
    "{FIRST} said {ORG} lost the tender to a competitor from {COUNTRY}.",
    "I have a job interview with {ORG} tomorrow, any tips?",
    "The lease is signed by {PER} on behalf of {ORG}.",
    "Our supplier {ORG} raised prices by 8% this year.",
    "Please forward the NDA to the legal team at {ORG}.",
    "After ten years at {ORG}, {PER} is retiring.",
    "The shipment from {ORG} in {CITY} arrived damaged.",
    "can u check if {ORG} delivers to {CITY}",
    "Regards,\n{PER}\nAccount Manager, {ORG}",
    "{ORG} has been fined for breaching data protection rules.",
    "My internet provider is {ORG} and the connection keeps dropping.",
    "We are switching our payroll from {ORG} to {ORG2} next quarter.",
    "Draft a reply to {PER}: we accept {ORG}'s offer, pending board approval.",
    "The grant was funded by {ORG} and administered by {ORG2}.",
    "I was overcharged at {ORG}'s store in {CITY}.",
    "Is {ORG} a good place to work? I heard mixed things.",
    "Attached is the quote from {ORG}; it's cheaper than the last one.",
    "{PER}, who runs procurement at {ORG}, asked for a discount.",
    "This agreement is made between {ORG} (the Supplier) and {ORG2} (the Customer).",
    "My bank, {ORG}, blocked my card while I was travelling in {COUNTRY}.",
    "Did you hear that {ORG} opened an office in {CITY}?",
    "I'm writing a cover letter for a role at {ORG}.",
    "{ORG} acquired a startup from {CITY} last month.",
    "The caller said they were from {ORG} and asked for my PIN.",
    "I'm a {JOB} at {ORG} and I manage a team of five.",
    "{PER} works as a {JOB} for {ORG} in {CITY}.",
    "Job title: {JOB}. Employer: {ORG}.",
    "As {JOB} of {ORG}, I am pleased to confirm your appointment.",
    "My dad was a {JOB} before he retired.",
    "She was promoted to {JOB} last week.",
    "We are hiring a {JOB} to join our team in {CITY}.",
    "{PER}, {JOB} at {ORG}, will give the keynote.",
]

NEGATIVE = [
    "My iPhone keeps restarting after the latest update.",
    "Can you convert this Excel sheet into a Google Doc?",
    "The Sales team meets every Monday in Room 4.",
    "Please ask Customer Support to reset my password.",
    "The Board approved the Annual Budget on Thursday.",
    "Human Resources sent the new Holiday Policy.",
    "I need a Python script that reads a CSV file.",
    "Our IT department blocked the VPN again.",
    "The Finance Director wants the Q4 Forecast by Friday.",
    "Install the Chrome extension and restart your browser.",
    "Marketing and Legal both need to sign off on the Press Release.",
    "Write a Terms of Service section about refunds.",
    "The Project Manager moved the Kick-off Meeting to Wednesday.",
    "I use Windows at work and Linux at home.",
    "Is the Premium Plan worth it compared to the Basic Plan?",
    "The Head of Operations will present the Roadmap.",
    "Our Engineering Team shipped Version 2.0 last night.",
    "Please update the Privacy Notice before launch.",
    "Fill in the Expense Report and send it to Accounts Payable.",
    "The Quality Assurance checklist is attached.",
]


SUFFIXES = ["Inc.", "Inc", "LLC", "Ltd", "Ltd.", "Limited", "GmbH", "PLC", "plc", "AG", "S.A.", "SARL", "B.V.",
            "Pty Ltd", "Corp.", "Corporation", "Group", "Holdings", "& Sons", "and Partners", "& Co.",
            "Associates", "Solutions", "Technologies", "Consulting", "Logistics", "Systems", "Bank"]
# Institutions as people name them in prose (built from Faker cities, names and countries) and a few
# well-known organisations written from general knowledge.
INSTITUTIONS = ["University of {CITY}", "{CITY} City Council", "{CITY} General Hospital", "Bank of {COUNTRY}",
                "Ministry of Health", "Ministry of Finance", "Department of Education", "{LAST} Foundation",
                "St. {FIRST}'s Hospital", "{CITY} Police Department", "{CITY} Public Library",
                "{CITY} Chamber of Commerce", "{LAST} Institute of Technology", "{CITY} Football Club",
                "{COUNTRY} Red Cross", "National Bank of {COUNTRY}"]
WELL_KNOWN = ["Google", "Microsoft", "Amazon", "IBM", "Walmart", "Deloitte", "Siemens", "Toyota", "Nestlé",
              "Unilever", "Pfizer", "Samsung", "Oracle", "Accenture", "KPMG", "Vodafone", "Barclays", "HSBC",
              "Goldman Sachs", "JPMorgan Chase", "Procter & Gamble", "Johnson & Johnson", "the World Bank",
              "the United Nations", "UNICEF", "Greenpeace", "the BBC", "Reuters", "FedEx", "DHL", "Airbus",
              "Boeing", "Netflix", "Spotify", "Uber", "Airbnb", "Salesforce", "Intel", "Cisco", "Adobe",
              "Lufthansa", "Ryanair", "Tesco", "Carrefour", "IKEA", "Philips", "Nokia", "Ericsson", "SAP",
              "Allianz"]
TITLES = ["Senior Software Engineer", "Chief Marketing Officer", "Product Manager", "Data Analyst",
          "Head of Operations", "Vice President of Sales", "Financial Controller", "Project Coordinator",
          "Chief Executive Officer", "Lead Designer", "Customer Success Manager", "Regional Sales Director",
          "HR Business Partner", "Senior Accountant", "Marketing Specialist", "IT Administrator"]

WORDS = ["Northwind", "Bluepeak", "Greenfield", "Silverline", "Redstone", "Brightwater", "Ironbridge",
         "Oakridge", "Summit", "Harbor", "Crescent", "Evergreen", "Pinnacle", "Horizon", "Atlas", "Keystone"]


def half(items, part):
    """Every other item: "train" the even ones, "dev" the odd ones (dev never sees a template, institution,
    well-known name, title or negative sentence that training saw), "all" everything."""
    return items if part == "all" else items[part == "dev"::2]


def company(f, rng, part="all"):
    """A company name: Faker's own in its locale, or a surname or word with a legal or trade suffix."""
    r = rng.random()
    if r < 0.4:
        return f.company()
    if r < 0.55:
        return rng.choice(half(WELL_KNOWN, part))
    if r < 0.7:
        return (rng.choice(half(INSTITUTIONS, part)).replace("{CITY}", f.city()).replace("{COUNTRY}", f.country())
                .replace("{LAST}", f.last_name()).replace("{FIRST}", f.first_name()))
    base = f.last_name() if rng.random() < 0.6 else rng.choice(WORDS)
    return f"{base} {rng.choice(SUFFIXES)}"


SLOT = re.compile(r"\{(ORG2?|PER2?|FIRST|LAST|CITY|COUNTRY|JOB)\}")
CAT = {"ORG": "ORG", "ORG2": "ORG", "PER": "PER", "PER2": "PER", "FIRST": "PER", "LAST": "PER", "CITY": "LOC",
       "COUNTRY": "LOC"}


def generate(n, seed, part="all", neg_frac=0.15, lower_frac=0.08):
    import templates
    rng = random.Random(seed)
    fs = templates._fakers(seed)
    en = [f for f in fs if f.locales[0].startswith("en")]
    rows = []
    while len(rows) < n:
        if rng.random() < neg_frac:
            rows.append({"text": rng.choice(half(NEGATIVE, part)), "spans": [], "source": "orgprose-negative"})
            continue
        tpl = rng.choice(half(PROSE, part))
        f = rng.choice(en) if rng.random() < 0.6 else rng.choice(fs)
        text, spans, pos = "", [], 0
        for m in SLOT.finditer(tpl):
            text += tpl[pos:m.start()]
            slot = m.group(1)
            if slot == "JOB":
                v = rng.choice(half(TITLES, part)) if rng.random() < 0.6 else f.job()
            else:
                v = company(f, rng, part) if slot.startswith("ORG") else templates._value(f, slot, rng)
            if not v:
                break
            v = v.strip()
            if slot != "JOB":
                spans.append([len(text), len(text) + len(v), CAT[slot]])
            text += v
            pos = m.end()
        else:
            text += tpl[pos:]
            if rng.random() < lower_frac:
                low = text.lower()
                if len(low) == len(text):
                    text = low
            rows.append({"text": text, "spans": spans, "source": "orgprose"})
    return rows


def gold_dev():
    """The parts of the gold sets that prep.py keeps out of training (same hash split)."""
    import prep
    g = prep.gold()
    return [r for r in g["dev"]]


def overlaps(a, b):
    return a[0] < b[1] and b[0] < a[1]


def analyse(rows, preds, cat="ORG", show=25):
    """Counts and examples: ORG predicted where gold has another category or nothing, gold ORG missed."""
    fp_kind, fn_kind = Counter(), Counter()
    fp_ex, fn_ex = [], []
    for r, p in zip(rows, preds):
        gold = [(a, b, c) for a, b, c in r["spans"] if c]
        for c, a, b, _ in p:
            if c != cat:
                continue
            hit = [g for g in gold if overlaps((a, b), g)]
            if any(g[2] == cat for g in hit):
                continue
            kind = hit[0][2] if hit else "none"
            fp_kind[kind] += 1
            fp_ex.append((kind, r["text"][a:b], r["text"][:120]))
        for a, b, c in gold:
            if c != cat:
                continue
            hit = [q for q in p if overlaps((a, b), (q[1], q[2]))]
            if any(q[0] == cat for q in hit):
                continue
            kind = hit[0][0] if hit else "none"
            fn_kind[kind] += 1
            fn_ex.append((kind, r["text"][a:b], r["text"][:120]))
    return {"fp_by_overlap": dict(fp_kind), "fn_predicted_as": dict(fn_kind), "fp_examples": fp_ex[:show],
            "fn_examples": fn_ex[:show]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--n", type=int, default=1200)
    ap.add_argument("--seed", type=int, default=20261222)
    ap.add_argument("--eval", action="store_true")
    ap.add_argument("--model", default=os.path.join(OUT, "..", "..", "..", "warden-minilm", "model.int8.onnx"))
    ap.add_argument("--thresholds", default=None, help="JSON dict; default the manifest's")
    ap.add_argument("--rules", default="", help="decoding rules for common.decode (comma list)")
    ap.add_argument("--sweep", action="store_true", help="decode the probabilities cached by --eval")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    if args.write:
        save_jsonl(os.path.join(OUT, "data", "orgdev.jsonl"), generate(args.n, args.seed, "dev"))
        save_jsonl(os.path.join(OUT, "data", "orgdev_gold.jsonl"), gold_dev())
    if args.eval:
        import pickle
        from infer import Entities, manifest_thresholds
        th = json.loads(args.thresholds) if args.thresholds else manifest_thresholds()
        ent = Entities(args.model, th)
        for name in ("orgdev", "orgdev_gold"):
            rows = load_jsonl(os.path.join(OUT, "data", f"{name}.jsonl"))
            cache = []
            for r in rows:
                P, ids, offs, toks, case = ent.token_probs(r["text"])
                cache.append((P, offs, toks))
            with open(os.path.join(OUT, f"{name}.probs.pkl"), "wb") as f:
                pickle.dump(cache, f)
            report(name, rows, cache, th, args.rules)
    elif args.sweep:
        import pickle
        from infer import manifest_thresholds
        th = json.loads(args.thresholds) if args.thresholds else manifest_thresholds()
        for name in ("orgdev", "orgdev_gold"):
            rows = load_jsonl(os.path.join(OUT, "data", f"{name}.jsonl"))
            with open(os.path.join(OUT, f"{name}.probs.pkl"), "rb") as f:
                cache = pickle.load(f)
            report(name, rows, cache, th, args.rules, verbose=args.verbose)


def report(name, rows, cache, th, rules, verbose=True):
    from common import decode
    from metrics import score
    preds = [decode(P, offs, toks, th, text=r["text"], rules=rules) for r, (P, offs, toks) in zip(rows, cache)]
    gold = [[(c, a, b) for a, b, c in r["spans"] if c] for r in rows]
    pr = [[(c, a, b) for c, a, b, _ in p] for p in preds]
    for src in sorted(set(r["source"].split("-")[0] for r in rows)):
        keep = [i for i, r in enumerate(rows) if r["source"].startswith(src)]
        m = score([gold[i] for i in keep], [pr[i] for i in keep], CATEGORIES)
        print(name, src, " ".join(f"{c}:{m[c]['n_gold']}/{m[c]['n_pred']} P{m[c]['overlap_p']:.3f} "
                                  f"R{m[c]['overlap_r']:.3f} F{m[c]['overlap_f1']:.3f}"
                                  for c in CATEGORIES if m[c]["n_gold"] or m[c]["n_pred"]))
    if verbose:
        print(json.dumps(analyse(rows, preds), ensure_ascii=False, indent=0)[:8000])

if __name__ == "__main__":
    main()
