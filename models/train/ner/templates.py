"""Hand-written templates (written for this project, CC0) filled with Faker values in many locales.

Slots: {PER} full name, {FIRST} first name, {LAST} last name, {CITY}, {COUNTRY}, {REGION} (state/region),
{ADDR} full postal address (multi-line or one line), {STREET} street address only, {ORG} company.
LOC = city / region / country; ADDR = a street address (with or without city and postcode); ORG = company.
Negative templates (no entity) keep capitalised common words, months and weekdays quiet.
"""
import random
import re

from faker import Faker

LOCALES = ["en_US", "en_GB", "en_AU", "en_CA", "en_IN", "en_IE", "en_NZ", "de_DE", "de_AT", "de_CH", "fr_FR",
           "fr_CA", "es_ES", "es_MX", "it_IT", "nl_NL", "pt_BR", "pt_PT", "sv_SE", "da_DK", "no_NO", "fi_FI",
           "pl_PL", "cs_CZ", "hu_HU", "ro_RO", "tr_TR", "el_GR", "ru_RU", "uk_UA", "ja_JP", "zh_CN", "ko_KR",
           "hi_IN", "id_ID", "vi_VN", "th_TH", "he_IL", "ar_AA", "fa_IR", "en_PH", "es_CO", "es_AR", "hr_HR",
           "sk_SK", "lt_LT", "lv_LV", "et_EE", "sl_SI", "bg_BG"]

TEMPLATES = [
    "My name is {PER} and I live at {ADDR}.",
    "Please send the invoice to {PER}, {ADDR}",
    "Hi {FIRST}, can you call me back when you get a chance?",
    "{PER} joined {ORG} as a senior analyst last year.",
    "I'm flying from {CITY} to {CITY2} next week for a meeting with {ORG}.",
    "Ship to:\n{PER}\n{ADDR}",
    "Our office moved to {STREET}, {CITY}.",
    "Can you draft an email to {PER} about the contract with {ORG}?",
    "Dear {PER},\n\nThank you for your order. It will be delivered to {ADDR}.\n\nKind regards,\n{PER2}\n{ORG}",
    "{FIRST} {LAST} was born in {CITY}, {COUNTRY}.",
    "What's the weather like in {CITY} this weekend?",
    "I used to work for {ORG} in {COUNTRY}.",
    "The package for {PER} is stuck at the depot near {STREET}.",
    "Write a short bio for {PER}, the CEO of {ORG}.",
    "Meeting notes: attendees {PER}, {PER2} and {FIRST3}. Location: {ADDR}.",
    "is {ORG} hiring in {CITY}?",
    "Tell {FIRST} that the keys are with {PER2}.",
    "Customer: {PER}\nAddress: {ADDR}\nCompany: {ORG}",
    "Name: {PER}; city: {CITY}; country: {COUNTRY}",
    "We visited {CITY} and then drove to {REGION}.",
    "{ORG} reported higher revenue in {COUNTRY} this quarter.",
    "Hello, this is {PER} from {ORG}. I am calling about your account.",
    "My landlord, {PER}, wants me out of {STREET} by the end of the month.",
    "How far is {CITY} from {CITY2}?",
    "{PER} and {PER2} are getting married in {CITY} next spring.",
    "Forward this to {FIRST} at {ORG}, please.",
    "The new warehouse is at {ADDR}",
    "Can you recommend restaurants near {STREET} in {CITY}?",
    "Signed, {PER}",
    "I need a reference letter for {PER}, who worked with me at {ORG} for three years.",
    "Return address: {ADDR}",
    "{LAST} said the shipment left {COUNTRY} on time.",
    "According to {PER}, {ORG} will open a branch in {CITY}.",
    "Book a table for {FIRST} at 7pm.",
    "Translate this letter from {PER} to {PER2} into French.",
    "Mr. {LAST} from {ORG} asked about the delivery to {CITY}.",
    "Ms. {LAST} lives in {REGION}, {COUNTRY}.",
    "Patient: {PER}, resident of {CITY}.",
    "The conference is hosted by {ORG} in {CITY}, {COUNTRY}.",
    "Hey {FIRST}! Long time no see. How is life in {CITY}?",
    "{PER} ({ORG}) will present the results.",
    "Please update my address to {ADDR} and my name to {PER}.",
    "I grew up in {COUNTRY} but moved to {CITY} for university.",
    "{ORG} and {ORG2} signed a partnership agreement.",
    "Lunch with {FIRST} at the place on {STREET}?",
    "Summarize the complaint from {PER} regarding {ORG}.",
    "Contact person: {PER}, {ORG}, {ADDR}",
    "The suspect, {PER}, was last seen in {CITY}.",
    "{FIRST}, could you review the slides before Monday?",
    "From: {PER}\nTo: {PER2}\nSubject: Visit to {CITY}",
]

NEGATIVE = [
    "Can you help me write a cover letter for a marketing job?",
    "Will you mark the report as done before Friday?",
    "Rose petals and lily pads are my favourite things in May.",
    "Grace period ends on Monday, so Bill me later.",
    "The Bank of the river flooded after the Storm.",
    "Please summarize this article in three bullet points.",
    "What is the difference between a list and a tuple in Python?",
    "I Love This Song So Much!!!",
    "Turn off the lights in the Living Room.",
    "Set an alarm for 7 AM tomorrow.",
    "How do I reset my password?",
    "Happy New Year to Everyone!",
    "The Main Street Journal style guide says: Use Title Case For Headings.",
    "Is it safe to eat raw cookie dough?",
    "Summer sale: Up To 50% Off All Items",
    "Thanks, that works for me.",
    "Can I get a refund if the order arrives late?",
    "Explain the theory of relativity like I'm five.",
    "Add milk, eggs and bread to my shopping list.",
    "What time does the store close on Sunday?",
    "Apply the Patch and restart the Server.",
    "Read the Terms and Conditions before you Sign Up.",
    "Chapter One: The Beginning",
    "Who won the game last night?",
    "Sort the array in descending order and return the Top 5.",
]

SLOT = re.compile(r"\{(PER2?|FIRST3?|LAST|CITY2?|COUNTRY|REGION|ADDR|STREET|ORG2?)\}")
CAT = {"PER": "PER", "PER2": "PER", "FIRST": "PER", "FIRST3": "PER", "LAST": "PER", "CITY": "LOC",
       "CITY2": "LOC", "COUNTRY": "LOC", "REGION": "LOC", "ADDR": "ADDR", "STREET": "ADDR", "ORG": "ORG",
       "ORG2": "ORG"}


def _fakers(seed):
    fs = []
    for loc in LOCALES:
        try:
            f = Faker(loc)
        except Exception:
            continue
        f.seed_instance(seed + len(fs))
        fs.append(f)
    return fs


def _value(f, slot, rng):
    try:
        if slot.startswith("PER"):
            return f.name() if rng.random() < 0.8 else f"{f.first_name()} {f.last_name()}"
        if slot.startswith("FIRST"):
            return f.first_name()
        if slot == "LAST":
            return f.last_name()
        if slot.startswith("CITY"):
            return f.city()
        if slot == "COUNTRY":
            return f.country()
        if slot == "REGION":
            for m in ("state", "region", "administrative_unit", "province", "county"):
                if hasattr(f, m):
                    return getattr(f, m)()
            return f.city()
        if slot == "ADDR":
            a = f.address()
            r = rng.random()
            if r < 0.4:
                a = ", ".join(x.strip() for x in a.split("\n"))
            return a
        if slot == "STREET":
            return f.street_address()
        if slot.startswith("ORG"):
            return f.company()
    except Exception:
        return None
    return None


def generate(n, seed, neg_frac=0.12, lower_frac=0.1):
    rng = random.Random(seed)
    fs = _fakers(seed)
    en = [f for f in fs if f.locales[0].startswith("en")]
    rows = []
    while len(rows) < n:
        if rng.random() < neg_frac:
            t = rng.choice(NEGATIVE)
            rows.append({"text": t.lower() if rng.random() < lower_frac else t, "spans": [], "source": "faker-template"})
            continue
        tpl = rng.choice(TEMPLATES)
        f = rng.choice(fs) if rng.random() < 0.7 else rng.choice(en)
        text, spans, pos, ok = "", [], 0, True
        for m in SLOT.finditer(tpl):
            text += tpl[pos:m.start()]
            v = _value(f if rng.random() < 0.85 else rng.choice(fs), m.group(1), rng)
            if not v:
                ok = False
                break
            v = v.strip()
            spans.append([len(text), len(text) + len(v), CAT[m.group(1)]])
            text += v
            pos = m.end()
        if not ok:
            continue
        text += tpl[pos:]
        if rng.random() < lower_frac:
            text = text.lower()  # same length for these scripts? checked below
            if len(text) != len(tpl) and False:
                pass
        rows.append({"text": text, "spans": spans, "source": "faker-template"})
    # lower() can change length for a few scripts (e.g. 'İ'): drop rows whose spans no longer fit
    return [r for r in rows if all(0 <= s < e <= len(r["text"]) for s, e, _ in r["spans"])]


if __name__ == "__main__":
    for r in generate(12, 1):
        print(r["text"].replace("\n", " | "), [(r["text"][s:e], c) for s, e, c in r["spans"]])
