//! Identifiers of Nigeria, the Philippines and South Africa, and the US
//! health-care identifiers: the rows Presidio 2.2.366 ships disabled by
//! default that `ids.rs` lacked (issue #22). Same table, same rule: a form
//! with a strong check stands alone, a weak or unchecked one needs a word
//! of its kind nearby (`rules/pii-context.toml`).
//!
//! Most of these have no check digit at all: passports, plates, licences,
//! a payer's member, claim, authorisation, prescription and referral
//! numbers. They are reported only when named. South African phone
//! numbers are not here: they are phone numbers (`phone.rs` validates
//! `+27` numbers by libphonenumber, and national ones with a phone word or
//! `detectors.phone_region = "ZA"`).

use super::checksum::{luhn, verhoeff, weighted};
use super::ids::{
    all_same, digits, not_one_digit_repeated, number, plausible_date, IdRule, DIGITS_11, DIGITS_13, DIGITS_9,
};

/// Ten bare digits: South African tax and VAT numbers, US NPIs.
const DIGITS_10_BARE: &str = r"(?-u)\b\d{10}\b";

/// A payer-assigned health-care number: digits, perhaps after its prefix
/// (`PA-`, `CLM-`, `RX-`, `REF-`, `INF-`). One regex for the four kinds;
/// each validator takes only its own prefix.
const HEALTH_CARE_NUMBER: &str = r"(?i-u)\b(?:(?:PA|CLM|RX|REF|INF)-?)?\d{6,15}\b";

/// The letters of a Medicare Beneficiary Identifier: A-Z without B, I, L,
/// O, S and Z.
macro_rules! mbi {
    (letter) => {
        "[AC-HJKMNP-RT-Y]"
    };
    (either) => {
        "[AC-HJKMNP-RT-Y0-9]"
    };
}

pub(super) const RULES: &[IdRule] = &[
    IdRule {
        category: "pii.ng_nin",
        pattern: DIGITS_11,
        check: ng_nin,
        needs_context: true,
        score: 0.85,
        message: "Nigerian National Identification Number (Verhoeff valid)",
    },
    IdRule {
        category: "pii.ng_vehicle_registration",
        pattern: r"(?-u)\b[A-Z]{3}[- ]?\d{3}[A-Z]{2}\b",
        check: ng_vehicle_registration,
        needs_context: true,
        score: 0.6,
        message: "Nigerian vehicle registration (no check digit; named nearby)",
    },
    IdRule {
        category: "pii.ph_passport",
        // The pattern of `pii.it_passport`, so that the two share a regex.
        pattern: r"(?-u)\b[A-Z]{2}\d{7}\b",
        check: not_one_digit_repeated,
        needs_context: true,
        score: 0.7,
        message: "Philippine passport number (no check digit; named nearby)",
    },
    IdRule {
        category: "pii.ph_passport",
        pattern: r"(?-u)\b[A-Z]\d{7}[A-Z]\b",
        check: not_one_digit_repeated,
        needs_context: true,
        score: 0.7,
        message: "Philippine passport number (no check digit; named nearby)",
    },
    IdRule {
        category: "pii.ph_tin",
        pattern: DIGITS_9,
        check: ph_tin,
        needs_context: true,
        score: 0.8,
        message: "Philippine TIN (check digit valid)",
    },
    IdRule {
        category: "pii.ph_tin",
        pattern: r"(?-u)\b\d{3}[ -]?\d{3}[ -]?\d{3}[ -]?\d{3}\b",
        check: ph_tin,
        needs_context: true,
        score: 0.8,
        message: "Philippine TIN with branch code (check digit valid)",
    },
    IdRule {
        category: "pii.ph_umid",
        pattern: r"(?-u)\b\d{4}-?\d{7}-?\d\b",
        check: ph_umid,
        needs_context: true,
        score: 0.7,
        message: "Philippine UMID common reference number (no check digit; named nearby)",
    },
    IdRule {
        category: "pii.za_id_number",
        pattern: r"(?-u)\b\d{6} \d{4} \d{2} \d\b",
        check: za_id_number,
        needs_context: false,
        score: 0.85,
        message: "South African ID number (date, citizenship and Luhn valid)",
    },
    IdRule {
        category: "pii.za_id_number",
        pattern: DIGITS_13,
        check: za_id_number,
        needs_context: true,
        score: 0.85,
        message: "South African ID number (date, citizenship and Luhn valid)",
    },
    IdRule {
        category: "pii.za_traffic_register_number",
        pattern: DIGITS_13,
        check: za_traffic_register_number,
        needs_context: true,
        score: 0.6,
        message: "South African traffic register number (no check digit; named nearby)",
    },
    IdRule {
        category: "pii.za_company_registration",
        pattern: r"(?-u)\b(?:19|20)\d{2}/\d{6}/\d{2}\b",
        check: za_company_registration,
        needs_context: false,
        score: 0.75,
        message: "South African company registration number (year and layout valid)",
    },
    IdRule {
        category: "pii.za_company_registration",
        pattern: r"(?-u)\b(?:CK|NR|[KTWBMN])\d{4}/\d{6}\b",
        check: za_company_registration,
        needs_context: true,
        score: 0.7,
        message: "South African company registration number, older form (year valid; named nearby)",
    },
    IdRule {
        category: "pii.za_driver_license",
        pattern: r"(?-u)\b\d{6,13}[A-Z][A-Z0-9]{0,4}\b",
        check: za_driver_license,
        needs_context: true,
        score: 0.7,
        message: "South African driving licence number (no check digit; named nearby)",
    },
    IdRule {
        category: "pii.za_income_tax_number",
        pattern: DIGITS_10_BARE,
        check: za_income_tax_number,
        needs_context: true,
        score: 0.8,
        message: "South African income tax reference number (Luhn valid)",
    },
    IdRule {
        category: "pii.za_income_tax_number",
        pattern: r"(?-u)\b[01239]\d{3}/\d{3}/\d{2}/\d\b|\b[01239]\d{8}-\d\b",
        check: za_income_tax_number,
        needs_context: true,
        score: 0.8,
        message: "South African income tax reference number (Luhn valid)",
    },
    IdRule {
        category: "pii.za_vat",
        pattern: DIGITS_10_BARE,
        check: za_vat,
        needs_context: true,
        score: 0.7,
        message: "South African VAT number (starts with 4; no published check digit; named nearby)",
    },
    IdRule {
        category: "pii.za_license_plate",
        pattern: r"(?-u)\b(?:[A-Z]{2,4}\d{2,4}[A-Z]{0,4}|[A-Z]{2} ?\d{2} ?[A-Z]{2} ?|[A-Z]{2,3} ?\d{2,3} ?|\d{2,3} ?[A-Z]{2,3} ?)(?:GP|ZN|WP|EC|NC|FS|LP|MP|NW)\b",
        check: za_license_plate,
        needs_context: true,
        score: 0.6,
        message: "South African licence plate (province suffix; named nearby)",
    },
    IdRule {
        category: "pii.za_passport",
        pattern: r"(?-u)\b[ADMT]\d{8}\b",
        check: not_one_digit_repeated,
        needs_context: true,
        // Above `pii.us_passport` (letter and eight digits too), so that a
        // South African word names it South African.
        score: 0.75,
        message: "South African passport number (no check digit; named nearby)",
    },
    IdRule {
        category: "pii.us_mbi",
        pattern: concat!(
            r"(?-u)\b[1-9]",
            mbi!(letter),
            mbi!(either),
            r"\d-?",
            mbi!(letter),
            mbi!(either),
            r"\d-?",
            mbi!(letter),
            mbi!(letter),
            r"\d{2}\b"
        ),
        check: us_mbi,
        needs_context: false,
        score: 0.8,
        message: "US Medicare Beneficiary Identifier (character classes valid)",
    },
    IdRule {
        category: "pii.us_npi",
        pattern: DIGITS_10_BARE,
        check: us_npi,
        needs_context: true,
        score: 0.85,
        message: "US National Provider Identifier (Luhn with prefix 80840 valid)",
    },
    IdRule {
        category: "pii.us_npi",
        pattern: r"(?-u)\b[12]\d{3}[ -]\d{3}[ -]\d{3}\b",
        check: us_npi,
        needs_context: true,
        score: 0.85,
        message: "US National Provider Identifier (Luhn with prefix 80840 valid)",
    },
    IdRule {
        category: "pii.us_health_insurance_member_id",
        pattern: r"(?-u)\b[A-Z]{1,5}-?[A-Z0-9]*\d[A-Z0-9]*\b",
        check: us_health_insurance_member_id,
        needs_context: true,
        score: 0.6,
        message: "US health insurance member ID (payer's own format; named nearby)",
    },
    IdRule {
        category: "pii.us_prior_authorization_number",
        pattern: HEALTH_CARE_NUMBER,
        check: us_prior_authorization_number,
        needs_context: true,
        score: 0.6,
        message: "US prior authorisation number (payer's own format; named nearby)",
    },
    IdRule {
        category: "pii.us_claim_number",
        pattern: HEALTH_CARE_NUMBER,
        check: us_claim_number,
        needs_context: true,
        score: 0.6,
        message: "US health-care claim number (payer's own format; named nearby)",
    },
    IdRule {
        category: "pii.us_prescription_number",
        pattern: HEALTH_CARE_NUMBER,
        check: us_prescription_number,
        needs_context: true,
        score: 0.6,
        message: "US prescription number (pharmacy's own format; named nearby)",
    },
    IdRule {
        category: "pii.us_referral_number",
        pattern: HEALTH_CARE_NUMBER,
        check: us_referral_number,
        needs_context: true,
        score: 0.6,
        message: "US referral number (payer's own format; named nearby)",
    },
    IdRule {
        category: "pii.us_ein",
        pattern: r"(?-u)\b\d{2}-\d{7}\b",
        check: us_ein,
        needs_context: true,
        score: 0.8,
        message: "US employer identification number (valid IRS prefix; named nearby)",
    },
];

/// NIMC: eleven digits, the last a Verhoeff check.
fn ng_nin(s: &str) -> bool {
    let d = digits(s);
    d.len() == 11 && verhoeff(&d) && !all_same(&d)
}

/// Since 2011: three letters for the local government area, a serial
/// 001-999 and two letters (year and batch).
fn ng_vehicle_registration(s: &str) -> bool {
    number(&digits(s)) > 0
}

/// BIR, as Presidio checks it: weights 9 down to 2 on the first eight
/// digits, the sum mod 11 is the ninth (a remainder of 10 is never issued);
/// three more digits name the branch (000 for the head office).
fn ph_tin(s: &str) -> bool {
    let d = digits(s);
    matches!(d.len(), 9 | 12) && weighted(&d, &[9, 8, 7, 6, 5, 4, 3, 2]) % 11 == d[8] && !all_same(&d[..9])
}

/// SSS/GSIS: the common reference number, 4-7-1 digits.
fn ph_umid(s: &str) -> bool {
    let d = digits(s);
    d.len() == 12 && !all_same(&d)
}

/// Home Affairs: YYMMDD, a sequence (0000-4999 female, 5000-9999 male), a
/// citizenship digit (0 citizen, 1 permanent resident, 2 refugee), a digit
/// once used for race and now 8 (or 9), and a Luhn digit.
fn za_id_number(s: &str) -> bool {
    let d = digits(s);
    d.len() == 13 && plausible_date(d[2] * 10 + d[3], d[4] * 10 + d[5]) && d[10] <= 2 && d[11] >= 8 && luhn(&d)
}

/// eNaTIS gives people without a South African ID (and organisations) a
/// 13-digit traffic register number; it carries no published check, and a
/// number that is a valid ID number is read as that.
fn za_traffic_register_number(s: &str) -> bool {
    let d = digits(s);
    d.len() == 13 && !all_same(&d) && !za_id_number(s)
}

/// CIPC: `YYYY/NNNNNN/NN` (year of registration, sequence, entity type),
/// or an older letter prefix (`CK` close corporations, ...) before the
/// year. Years 1800-2099 (Presidio compares with today's year).
fn za_company_registration(s: &str) -> bool {
    let letters = s.bytes().take_while(u8::is_ascii_alphabetic).count();
    let year = number(&digits(&s[letters..letters + 4]));
    (1800..=2099).contains(&year) && !all_same(&digits(&s[letters + 5..]))
}

/// eNaTIS licence card: 6-10 digits then 2-5 letters and digits, at least
/// one a letter; 10-14 characters.
fn za_driver_license(s: &str) -> bool {
    let lead = s.bytes().take_while(u8::is_ascii_digit).count();
    // The digit block may end anywhere from 6 to 10 characters in, as long
    // as it leaves 2 to 5 characters for the tail.
    let split_from = 6.max(s.len().saturating_sub(5));
    let split_to = 10.min(lead).min(s.len().saturating_sub(2));
    (10..=14).contains(&s.len()) && split_from <= split_to && !all_same(&digits(&s[..lead]))
}

/// SARS: ten digits starting 0, 1, 2, 3 or 9, with a Luhn digit (the
/// scheme `python-stdnum` implements); VAT numbers start with 4.
fn za_income_tax_number(s: &str) -> bool {
    let d = digits(s);
    d.len() == 10 && matches!(d[0], 0..=3 | 9) && luhn(&d) && !all_same(&d)
}

/// SARS: ten digits starting with 4. No check digit is published.
fn za_vat(s: &str) -> bool {
    let d = digits(s);
    d.len() == 10 && d[0] == 4 && !all_same(&d[1..])
}

/// The nine province suffixes; a body with a letter; the numeric-first
/// layout is the Eastern Cape's.
fn za_license_plate(s: &str) -> bool {
    let compact: String = s.chars().filter(|c| *c != ' ').collect();
    let (body, suffix) = compact.split_at(compact.len() - 2);
    let numeric_first = compact.as_bytes()[0].is_ascii_digit();
    compact.len() >= 5 && body.bytes().any(|b| b.is_ascii_alphabetic()) && (!numeric_first || suffix == "EC")
}

/// CMS: eleven characters in fixed classes (the pattern), written bare or
/// as 4-3-4 with both dashes.
fn us_mbi(s: &str) -> bool {
    matches!(s.matches('-').count(), 0 | 2)
}

/// CMS: ten digits starting 1 (individual) or 2 (organisation); the Luhn
/// check runs over the number with the card issuer prefix 80840 in front.
fn us_npi(s: &str) -> bool {
    let d = digits(s);
    let prefixed: Vec<u32> = [8, 0, 8, 4, 0].into_iter().chain(d.iter().copied()).collect();
    d.len() == 10 && matches!(d[0], 1 | 2) && luhn(&prefixed) && !all_same(&d[..9])
}

/// Payers print their own formats; Presidio's shape: 1-5 letters, an
/// optional dash, 5-14 letters and digits, at least one digit, 6-20
/// characters. Upper case only: member IDs are printed so, and mixed-case
/// words with digits are code.
fn us_health_insurance_member_id(s: &str) -> bool {
    if let Some((prefix, tail)) = s.split_once('-') {
        return s.len() <= 20 && (1..=5).contains(&prefix.len()) && (5..=14).contains(&tail.len());
    }
    // Written bare, the letters of the prefix (1-5 of the leading letters)
    // must leave 5-14 characters.
    let letters = s.bytes().take_while(u8::is_ascii_alphabetic).count();
    let shortest = 1.max(s.len().saturating_sub(14));
    let longest = 5.min(letters).min(s.len().saturating_sub(5));
    shortest <= longest
}

/// A health-care number of at most `max` digits, bare or after `prefix`.
fn payer_number(s: &str, prefixes: &[&str], max: usize) -> bool {
    let letters = s.bytes().take_while(u8::is_ascii_alphabetic).count();
    let prefix = s[..letters].to_ascii_uppercase();
    let d = digits(s);
    (letters == 0 || prefixes.contains(&prefix.as_str())) && (6..=max).contains(&d.len()) && !all_same(&d)
}

fn us_prior_authorization_number(s: &str) -> bool {
    payer_number(s, &["PA"], 12)
}

fn us_claim_number(s: &str) -> bool {
    payer_number(s, &["CLM"], 15)
}

fn us_prescription_number(s: &str) -> bool {
    payer_number(s, &["RX"], 12)
}

fn us_referral_number(s: &str) -> bool {
    payer_number(s, &["REF", "INF"], 12)
}

/// IRS: `NN-NNNNNNN`, the prefix one the IRS assigns (01-06, 10-16, 20-27,
/// 30-39, 40-48, 50-59, 60-68, 71-77, 80-88, 90-95, 98, 99). A provider's
/// tax ID on a claim is its EIN.
fn us_ein(s: &str) -> bool {
    let d = digits(s);
    let prefix = d[0] * 10 + d[1];
    matches!(prefix, 1..=6 | 10..=16 | 20..=27 | 30..=48 | 50..=68 | 71..=77 | 80..=88 | 90..=95 | 98 | 99)
        && !all_same(&d[2..])
}
