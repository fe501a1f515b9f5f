//! National identifiers, account numbers, network and wallet addresses: one
//! table row per written form, each with its candidate pattern, its
//! validator (the issuer's check digits and structure) and whether it needs
//! a context word nearby.
//!
//! The rule: a form whose structure or checksum is strong (letters in fixed
//! places, a check letter, mod 97, a 32-bit hash) is reported alone; a digit
//! run with a weak check (nine digits and mod 11 pass one time in eleven) is
//! reported only when a word of its kind is near (`rules/pii-context.toml`).
//! Forms that are strong only when written with their separators
//! (`529.982.247-25`) have one row for the written form and one, needing
//! context, for the bare digits. Rows with equal patterns share one regex.

use std::str::FromStr;

use sha3::{Digest, Keccak256};

use super::checksum::{iso7064_mod11_10, luhn, mod_of, verhoeff, weighted};

/// One written form of one identifier.
pub(super) struct IdRule {
    /// `pii.<kind>`; `<kind>` also names its words in `rules/pii-context.toml`.
    pub category: &'static str,
    /// Candidate pattern; `(?-u)` keeps `\d` and `\b` ASCII (and the DFA fast).
    pub pattern: &'static str,
    /// Validates a candidate the pattern matched.
    pub check: fn(&str) -> bool,
    /// Report only with a context word of its kind nearby.
    pub needs_context: bool,
    pub score: f64,
    pub message: &'static str,
}

impl IdRule {
    pub(super) fn kind(&self) -> &'static str {
        self.category.strip_prefix("pii.").unwrap_or(self.category)
    }
}

// Shapes several identifiers share, so that they share one regex.
pub(super) const DIGITS_9: &str = r"(?-u)\b\d{3}[ .-]?\d{3}[ .-]?\d{3}\b";
pub(super) const DIGITS_11: &str = r"(?-u)\b\d{11}\b";
pub(super) const DIGITS_10: &str = r"(?-u)\b\d{3}[ -]?\d{3}[ -]?\d{4}\b";
pub(super) const DIGITS_13: &str = r"(?-u)\b\d{13}\b";

pub(super) const RULES: &[IdRule] = &[
    IdRule {
        category: "pii.uk_nhs",
        pattern: DIGITS_10,
        check: uk_nhs,
        needs_context: true,
        score: 0.85,
        message: "UK NHS number (mod-11 valid)",
    },
    IdRule {
        category: "pii.uk_nino",
        pattern: r"(?-u)\b[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b",
        check: uk_nino,
        needs_context: false,
        score: 0.85,
        message: "UK National Insurance number (valid prefix and suffix)",
    },
    IdRule {
        category: "pii.es_nif",
        pattern: r"(?-u)\b\d{8}-?[A-Za-z]\b",
        check: es_nif,
        needs_context: false,
        score: 0.85,
        message: "Spanish NIF/DNI (check letter valid)",
    },
    IdRule {
        category: "pii.es_nie",
        pattern: r"(?-u)\b[XYZxyz]-?\d{7}-?[A-Za-z]\b",
        check: es_nie,
        needs_context: false,
        score: 0.85,
        message: "Spanish NIE (check letter valid)",
    },
    IdRule {
        category: "pii.it_fiscal_code",
        pattern: r"(?-u)\b[A-Za-z]{6}[0-9LMNP-Vlmnp-v]{2}[A-Za-z][0-9LMNP-Vlmnp-v]{2}[A-Za-z][0-9LMNP-Vlmnp-v]{3}[A-Za-z]\b",
        check: it_fiscal_code,
        needs_context: false,
        score: 0.9,
        message: "Italian fiscal code (check character valid)",
    },
    IdRule {
        category: "pii.pl_pesel",
        pattern: DIGITS_11,
        check: pl_pesel,
        needs_context: true,
        score: 0.85,
        message: "Polish PESEL (date and check digit valid)",
    },
    IdRule {
        category: "pii.sg_nric",
        pattern: r"(?-u)\b[STFGstfg]\d{7}[A-Za-z]\b",
        check: sg_nric,
        needs_context: false,
        score: 0.85,
        message: "Singapore NRIC/FIN (check letter valid)",
    },
    IdRule {
        category: "pii.au_abn",
        pattern: r"(?-u)\b\d{2} ?\d{3} ?\d{3} ?\d{3}\b",
        check: au_abn,
        needs_context: true,
        score: 0.85,
        message: "Australian Business Number (mod-89 valid)",
    },
    IdRule {
        category: "pii.au_acn",
        pattern: DIGITS_9,
        check: au_acn,
        needs_context: true,
        score: 0.85,
        message: "Australian Company Number (check digit valid)",
    },
    IdRule {
        category: "pii.au_tfn",
        pattern: DIGITS_9,
        check: au_tfn,
        needs_context: true,
        score: 0.85,
        message: "Australian Tax File Number (mod-11 valid)",
    },
    IdRule {
        category: "pii.au_medicare",
        pattern: r"(?-u)\b[2-6]\d{3} ?\d{5} ?\d(?:[ /-]?\d)?\b",
        check: au_medicare,
        needs_context: true,
        score: 0.85,
        message: "Australian Medicare number (check digit valid)",
    },
    IdRule {
        category: "pii.in_pan",
        pattern: r"(?-u)\b[A-Z]{3}[ABCFGHJLPT][A-Z]\d{4}[A-Z]\b",
        check: in_pan,
        needs_context: false,
        score: 0.7,
        message: "Indian PAN (structure valid; PANs have no check digit)",
    },
    IdRule {
        category: "pii.in_aadhaar",
        pattern: r"(?-u)\b[2-9]\d{3}[ -]?\d{4}[ -]?\d{4}\b",
        check: in_aadhaar,
        needs_context: true,
        score: 0.85,
        message: "Indian Aadhaar number (Verhoeff valid)",
    },
    IdRule {
        category: "pii.us_passport",
        pattern: r"(?-u)\b(?:[A-Z]\d{8}|\d{9})\b",
        check: us_passport,
        needs_context: true,
        score: 0.7,
        message: "US passport number (no check digit; named nearby)",
    },
    IdRule {
        category: "pii.us_driver_license",
        pattern: r"(?-u)\b(?:[A-Z]{1,2}[ -]?\d{4,14}|\d{2}[A-Z]{3}\d{5,6}|\d{3,4}(?:-\d{2,4}){1,3}|\d{7,12})\b",
        check: us_driver_license,
        needs_context: true,
        score: 0.7,
        message: "US driver's licence number (no check digit; named nearby)",
    },
    IdRule {
        category: "pii.us_itin",
        pattern: r"(?-u)\b9\d{2}-\d{2}-\d{4}\b",
        check: us_itin,
        needs_context: false,
        score: 0.85,
        message: "US ITIN (valid group range)",
    },
    IdRule {
        category: "pii.us_itin",
        pattern: r"(?-u)\b9\d{2} ?\d{2} ?\d{4}\b",
        check: us_itin,
        needs_context: true,
        score: 0.85,
        message: "US ITIN (valid group range)",
    },
    IdRule {
        category: "pii.us_bank_account",
        pattern: r"(?-u)\b\d{8,17}\b",
        check: us_bank_account,
        needs_context: true,
        score: 0.6,
        message: "bank account number (no check digit; named nearby)",
    },
    IdRule {
        category: "pii.us_aba_routing",
        pattern: r"(?-u)\b[0-3]\d{3}-?\d{4}-?\d\b",
        check: us_aba_routing,
        needs_context: true,
        score: 0.8,
        message: "US ABA routing number (check digit valid)",
    },
    IdRule {
        category: "pii.de_tax_id",
        pattern: r"(?-u)\b[1-9]\d ?\d{3} ?\d{3} ?\d{3}\b",
        check: de_tax_id,
        needs_context: true,
        score: 0.85,
        message: "German tax identification number (ISO 7064 valid)",
    },
    IdRule {
        category: "pii.fr_nir",
        pattern: r"(?-u)\b[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[ABab]) ?\d{3} ?\d{3} ?\d{2}\b",
        check: fr_nir,
        needs_context: false,
        score: 0.85,
        message: "French social security number (NIR key valid)",
    },
    IdRule {
        category: "pii.nl_bsn",
        pattern: DIGITS_9,
        check: nl_bsn,
        needs_context: true,
        score: 0.85,
        message: "Dutch citizen service number (eleven-test valid)",
    },
    IdRule {
        category: "pii.se_personnummer",
        pattern: r"(?-u)\b(?:\d{2})?\d{6}[-+]\d{4}\b",
        check: se_personnummer,
        needs_context: false,
        score: 0.85,
        message: "Swedish personal identity number (date and Luhn valid)",
    },
    IdRule {
        category: "pii.se_personnummer",
        pattern: r"(?-u)\b(?:\d{2})?\d{10}\b",
        check: se_personnummer,
        needs_context: true,
        score: 0.85,
        message: "Swedish personal identity number (date and Luhn valid)",
    },
    IdRule {
        category: "pii.be_national_number",
        pattern: r"(?-u)\b\d{2}\.\d{2}\.\d{2}-\d{3}\.\d{2}\b",
        check: be_national_number,
        needs_context: false,
        score: 0.85,
        message: "Belgian national number (date and mod-97 valid)",
    },
    IdRule {
        category: "pii.be_national_number",
        pattern: DIGITS_11,
        check: be_national_number,
        needs_context: true,
        score: 0.85,
        message: "Belgian national number (date and mod-97 valid)",
    },
    IdRule {
        category: "pii.br_cpf",
        pattern: r"(?-u)\b\d{3}\.\d{3}\.\d{3}-\d{2}\b",
        check: br_cpf,
        needs_context: false,
        score: 0.9,
        message: "Brazilian CPF (both check digits valid)",
    },
    IdRule {
        category: "pii.br_cpf",
        pattern: DIGITS_11,
        check: br_cpf,
        needs_context: true,
        score: 0.85,
        message: "Brazilian CPF (both check digits valid)",
    },
    IdRule {
        category: "pii.br_cnpj",
        pattern: r"(?-u)\b\d{2}\.\d{3}\.\d{3}/\d{4}-\d{2}\b",
        check: br_cnpj,
        needs_context: false,
        score: 0.9,
        message: "Brazilian CNPJ (both check digits valid)",
    },
    IdRule {
        category: "pii.br_cnpj",
        pattern: r"(?-u)\b\d{14}\b",
        check: br_cnpj,
        needs_context: true,
        score: 0.85,
        message: "Brazilian CNPJ (both check digits valid)",
    },
    IdRule {
        category: "pii.ca_sin",
        pattern: DIGITS_9,
        check: ca_sin,
        needs_context: true,
        score: 0.85,
        message: "Canadian social insurance number (Luhn valid)",
    },
    IdRule {
        category: "pii.mx_curp",
        pattern: r"(?-u)\b[A-Z]{4}\d{6}[HMX][A-Z]{5}[0-9A-Z]\d\b",
        check: mx_curp,
        needs_context: false,
        score: 0.9,
        message: "Mexican CURP (date, state and check digit valid)",
    },
    IdRule {
        category: "pii.in_voter_id",
        pattern: r"(?-u)\b[A-Z]{3}\d{7}\b",
        check: in_voter_id,
        needs_context: true,
        score: 0.8,
        message: "Indian voter ID (EPIC; Luhn valid)",
    },
    IdRule {
        category: "pii.in_vehicle_registration",
        pattern: r"(?-u)\b(?:[A-Z]{2}[ -]?\d{1,2}[ -]?[A-Z]{1,3}[ -]?\d{4}|\d{2}[ -]?BH[ -]?\d{4}[ -]?[A-Z]{1,2})\b",
        check: in_vehicle_registration,
        needs_context: false,
        score: 0.6,
        message: "Indian vehicle registration (valid state code; no check digit)",
    },
    IdRule {
        category: "pii.in_passport",
        pattern: r"(?-u)\b[A-Z][1-9]\d ?\d{4}[1-9]\b",
        check: in_passport,
        needs_context: true,
        score: 0.7,
        message: "Indian passport number (no check digit; named nearby)",
    },
    IdRule {
        category: "pii.it_driver_license",
        pattern: r"(?-u)\b(?:[A-Z]{2}\d{7}[A-Z]|U1[0-9A-Z]{7}[A-Z])\b",
        check: it_driver_license,
        needs_context: true,
        score: 0.7,
        message: "Italian driving licence number (no check digit; named nearby)",
    },
    IdRule {
        category: "pii.it_vat",
        pattern: r"(?-u)\bIT ?\d{11}\b",
        check: it_vat,
        needs_context: false,
        score: 0.85,
        message: "Italian VAT number (partita IVA; office code and Luhn valid)",
    },
    IdRule {
        category: "pii.it_vat",
        pattern: DIGITS_11,
        check: it_vat,
        needs_context: true,
        score: 0.85,
        message: "Italian VAT number (partita IVA; office code and Luhn valid)",
    },
    IdRule {
        category: "pii.it_identity_card",
        pattern: r"(?-u)\b(?:[A-Z]{2} ?\d{7}|[A-Z]{2}\d{5}[A-Z]{2}|\d{7}[A-Z]{2})\b",
        check: not_one_digit_repeated,
        needs_context: true,
        score: 0.7,
        message: "Italian identity card number (no check digit; named nearby)",
    },
    IdRule {
        category: "pii.it_passport",
        pattern: r"(?-u)\b[A-Z]{2}\d{7}\b",
        check: not_one_digit_repeated,
        needs_context: true,
        score: 0.7,
        message: "Italian passport number (no check digit; named nearby)",
    },
    IdRule {
        category: "pii.kr_rrn",
        pattern: r"(?-u)\b\d{6}-\d{7}\b",
        check: kr_rrn,
        needs_context: false,
        score: 0.85,
        message: "Korean resident registration number (date and check digit valid)",
    },
    IdRule {
        category: "pii.kr_rrn",
        pattern: DIGITS_13,
        check: kr_rrn,
        needs_context: true,
        score: 0.85,
        message: "Korean resident registration number (date and check digit valid)",
    },
    IdRule {
        category: "pii.th_tnin",
        pattern: r"(?-u)\b\d[ -]\d{4}[ -]\d{5}[ -]\d{2}[ -]\d\b",
        check: th_tnin,
        needs_context: false,
        score: 0.85,
        message: "Thai national ID number (check digit valid)",
    },
    IdRule {
        category: "pii.th_tnin",
        pattern: DIGITS_13,
        check: th_tnin,
        needs_context: true,
        score: 0.85,
        message: "Thai national ID number (check digit valid)",
    },
    IdRule {
        category: "pii.fi_hetu",
        pattern: r"(?-u)\b\d{6}[-+A-FU-Y]\d{3}[0-9A-FHJ-NPR-Y]\b",
        check: fi_hetu,
        needs_context: false,
        score: 0.9,
        message: "Finnish personal identity code (date and check character valid)",
    },
    IdRule {
        category: "pii.sg_uen",
        pattern: r"(?-u)\b[TSR]\d{2}[A-Z]{2}\d{4}[A-Z]\b",
        check: sg_uen,
        needs_context: false,
        score: 0.85,
        message: "Singapore UEN (entity type and check letter valid)",
    },
    IdRule {
        category: "pii.sg_uen",
        pattern: r"(?-u)\b\d{8,9}[A-Z]\b",
        check: sg_uen,
        needs_context: true,
        score: 0.8,
        message: "Singapore UEN (check letter valid)",
    },
    IdRule {
        category: "pii.us_medical_license",
        pattern: r"(?-u)\b[ABCDEFGHJKLMPRSTUX][A-Z9]\d{7}\b",
        check: us_dea,
        needs_context: true,
        score: 0.8,
        message: "US DEA registration number (check digit valid; named nearby)",
    },
    IdRule {
        category: "pii.uuid",
        pattern: r"(?i-u)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
        check: uuid,
        needs_context: false,
        score: 0.6,
        message: "UUID (RFC 9562 version and variant)",
    },
    IdRule {
        category: "pii.mac_address",
        pattern: r"(?i-u)\b(?:[0-9a-f]{2}(?::[0-9a-f]{2}){5}|[0-9a-f]{2}(?:-[0-9a-f]{2}){5}|[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4})\b",
        check: mac_address,
        needs_context: false,
        score: 0.7,
        message: "MAC address",
    },
    IdRule {
        category: "pii.swift_bic",
        pattern: r"(?-u)\b[A-Z]{6}[A-Z2-9][A-NP-Z0-9](?:[A-Z0-9]{3})?\b",
        check: swift_bic,
        needs_context: true,
        score: 0.75,
        message: "SWIFT/BIC code (valid country; named nearby)",
    },
    IdRule {
        category: "pii.crypto_wallet",
        pattern: r"(?-u)\b[13][1-9A-HJ-NP-Za-km-z]{25,34}\b",
        check: bitcoin_base58,
        needs_context: false,
        score: 0.9,
        message: "Bitcoin address (Base58Check valid)",
    },
    IdRule {
        category: "pii.crypto_wallet",
        pattern: r"(?-u)\b(?:bc1|BC1|tb1|TB1)[02-9ac-hj-np-zAC-HJ-NP-Z]{8,87}\b",
        check: bitcoin_bech32,
        needs_context: false,
        score: 0.9,
        message: "Bitcoin SegWit address (Bech32/Bech32m checksum valid)",
    },
    IdRule {
        category: "pii.crypto_wallet",
        pattern: r"(?-u)\b0x[0-9a-fA-F]{40}\b",
        check: ethereum_checksummed,
        needs_context: false,
        score: 0.9,
        message: "Ethereum address (EIP-55 checksum valid)",
    },
    IdRule {
        category: "pii.crypto_wallet",
        pattern: r"(?-u)\b0x[0-9a-fA-F]{40}\b",
        check: ethereum_one_case,
        needs_context: false,
        score: 0.7,
        message: "Ethereum address (one case, so no checksum to test)",
    },
];

pub(super) fn digits(s: &str) -> Vec<u32> {
    s.chars().filter_map(|c| c.to_digit(10)).collect()
}

/// The number written by `d` (at most 9 digits, so it fits).
pub(super) fn number(d: &[u32]) -> u32 {
    d.iter().fold(0, |n, x| n * 10 + x)
}

pub(super) fn all_same(d: &[u32]) -> bool {
    d.windows(2).all(|w| w[0] == w[1])
}

/// Whether a day of a month can exist (29 February in any year: the
/// identifiers that carry a date also carry a checksum).
pub(super) fn plausible_date(month: u32, day: u32) -> bool {
    let days = match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// NHS Digital: weights 10..2 on the first nine digits; 11 minus the sum mod
/// 11 is the tenth (11 means 0, 10 is never issued).
fn uk_nhs(s: &str) -> bool {
    let d = digits(s);
    let check = match 11 - weighted(&d, &[10, 9, 8, 7, 6, 5, 4, 3, 2]) % 11 {
        11 => 0,
        c => c,
    };
    d.len() == 10 && check != 10 && check == d[9] && !all_same(&d)
}

/// HMRC: neither prefix letter is D, F, I, Q, U or V; the second is not O;
/// BG, GB, KN, NK, NT, TN and ZZ are never issued; spaces all or none.
fn uk_nino(s: &str) -> bool {
    let b = s.as_bytes();
    let spaces = s.matches(' ').count();
    let forbidden = |c: u8| b"DFIQUV".contains(&c);
    !forbidden(b[0])
        && !forbidden(b[1])
        && b[1] != b'O'
        && !["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"].contains(&&s[..2])
        && (spaces == 0 || spaces == 4)
}

const DNI_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

fn check_letter(s: &str) -> u8 {
    s.as_bytes()[s.len() - 1].to_ascii_uppercase()
}

/// Interior: the DNI number mod 23 picks the letter.
fn es_nif(s: &str) -> bool {
    let d = digits(s);
    d.len() == 8 && DNI_LETTERS[(number(&d) % 23) as usize] == check_letter(s)
}

/// X, Y and Z stand for 0, 1 and 2, then as a DNI.
fn es_nie(s: &str) -> bool {
    let lead = match s.as_bytes()[0].to_ascii_uppercase() {
        b'X' => 0,
        b'Y' => 1,
        _ => 2,
    };
    let d = digits(s);
    d.len() == 7 && DNI_LETTERS[((lead * 10_000_000 + number(&d)) % 23) as usize] == check_letter(s)
}

/// Agenzia delle Entrate: odd and even positions map to values by two
/// tables; the sum mod 26 is the last letter. The month letter is one of
/// twelve; digits may be replaced by L-V (omocodia).
fn it_fiscal_code(s: &str) -> bool {
    const ODD: [u32; 26] =
        [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];
    const ODD_DIGITS: [u32; 10] = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21];
    let up: Vec<u8> = s.bytes().map(|b| b.to_ascii_uppercase()).collect();
    if !b"ABCDEHLMPRST".contains(&up[8]) {
        return false;
    }
    let sum: u32 = up[..15]
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let (digit, letter) = (c.is_ascii_digit(), u32::from(c.wrapping_sub(b'A')));
            match (i % 2 == 0, digit) {
                (true, true) => ODD_DIGITS[usize::from(c - b'0')],
                (true, false) => ODD[letter as usize % 26],
                (false, true) => u32::from(c - b'0'),
                (false, false) => letter,
            }
        })
        .sum();
    u32::from(up[15] - b'A') == sum % 26
}

/// Weights 1,3,7,9 repeated; the date's month carries the century (+20 for
/// the 2000s, +80 for the 1800s, ...).
fn pl_pesel(s: &str) -> bool {
    let d = digits(s);
    let check = (10 - weighted(&d, &[1, 3, 7, 9, 1, 3, 7, 9, 1, 3]) % 10) % 10;
    let month = (d[2] * 10 + d[3]) % 20;
    d.len() == 11 && check == d[10] && plausible_date(month, d[4] * 10 + d[5]) && !all_same(&d)
}

/// ICA: weights 2,7,6,5,4,3,2; T and G add 4; the sum mod 11 picks the
/// letter from the series' table.
fn sg_nric(s: &str) -> bool {
    let up = s.to_ascii_uppercase();
    let first = up.as_bytes()[0];
    let d = digits(&up);
    let sum = weighted(&d, &[2, 7, 6, 5, 4, 3, 2]) + if matches!(first, b'T' | b'G') { 4 } else { 0 };
    let table: &[u8; 11] = if matches!(first, b'S' | b'T') { b"JZIHGFEDCBA" } else { b"XWUTRQPNMLK" };
    table[(sum % 11) as usize] == up.as_bytes()[8]
}

/// ATO: subtract 1 from the first digit, weights 10,1,3,...,19, sum mod 89.
fn au_abn(s: &str) -> bool {
    let mut d = digits(s);
    if d.len() != 11 || d[0] == 0 {
        return false;
    }
    d[0] -= 1;
    weighted(&d, &[10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19]).is_multiple_of(89)
}

/// ASIC: weights 8..1 on the first eight; the complement mod 10 is the ninth.
fn au_acn(s: &str) -> bool {
    let d = digits(s);
    d.len() == 9 && (10 - weighted(&d, &[8, 7, 6, 5, 4, 3, 2, 1]) % 10) % 10 == d[8] && !all_same(&d)
}

/// ATO: weights 1,4,3,7,5,8,6,9,10 (nine digits), sum mod 11.
fn au_tfn(s: &str) -> bool {
    let d = digits(s);
    d.len() == 9 && weighted(&d, &[1, 4, 3, 7, 5, 8, 6, 9, 10]).is_multiple_of(11) && !all_same(&d)
}

/// Services Australia: first digit 2-6; weights 1,3,7,9 twice give the ninth
/// digit; then the issue number and an optional individual reference.
fn au_medicare(s: &str) -> bool {
    let d = digits(s);
    (10..=11).contains(&d.len()) && weighted(&d, &[1, 3, 7, 9, 1, 3, 7, 9]) % 10 == d[8]
}

/// Income Tax Department: five letters (the fourth the holder's type), four
/// digits, a letter. No check digit: the structure is the evidence.
fn in_pan(s: &str) -> bool {
    s.len() == 10
}

/// UIDAI: twelve digits, not starting 0 or 1, Verhoeff check.
fn in_aadhaar(s: &str) -> bool {
    let d = digits(s);
    d.len() == 12 && verhoeff(&d) && !all_same(&d[..11])
}

fn us_passport(s: &str) -> bool {
    !all_same(&digits(s))
}

fn us_driver_license(s: &str) -> bool {
    let d = digits(s);
    (4..=15).contains(&d.len()) && !all_same(&d)
}

/// IRS: 9XX-XX-XXXX with the middle group in 50-65, 70-88, 90-92 or 94-99.
fn us_itin(s: &str) -> bool {
    let d = digits(s);
    d.len() == 9 && matches!(d[3] * 10 + d[4], 50..=65 | 70..=88 | 90..=92 | 94..=99)
}

fn us_bank_account(s: &str) -> bool {
    !all_same(&digits(s))
}

/// ABA: weights 3,7,1 repeated, sum mod 10; the first two digits are a
/// Federal Reserve district (00-12, 21-32) or its electronic range.
fn us_aba_routing(s: &str) -> bool {
    let d = digits(s);
    d.len() == 9
        && matches!(d[0] * 10 + d[1], 0..=12 | 21..=32 | 61..=72 | 80)
        && weighted(&d, &[3, 7, 1, 3, 7, 1, 3, 7, 1]).is_multiple_of(10)
        && !all_same(&d)
}

/// BZSt: eleven digits, the first not 0; in the first ten exactly one digit
/// repeats (twice or three times); ISO 7064 MOD 11,10 check.
fn de_tax_id(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 11 || d[0] == 0 {
        return false;
    }
    let mut counts = [0u8; 10];
    for &x in &d[..10] {
        counts[x as usize] += 1;
    }
    let repeated = counts.iter().filter(|&&c| c > 1).count();
    let most = counts.iter().max().copied().unwrap_or(0);
    repeated == 1 && most <= 3 && iso7064_mod11_10(&d[..10]) == d[10]
}

/// INSEE: sex, year, month (01-12, or 20-42 and 50-99 for unknown or
/// provisional), department (2A/2B for Corsica count as 19/18), commune,
/// order; the key is 97 minus the first 13 digits mod 97.
fn fr_nir(s: &str) -> bool {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
    if compact.len() != 15 {
        return false;
    }
    let corsica = compact.replace("2A", "19").replace("2B", "18");
    let d = digits(&corsica);
    let month = d[3] * 10 + d[4];
    let key = d[13] * 10 + d[14];
    d.len() == 15 && matches!(month, 1..=12 | 20..=42 | 50..=99) && u64::from(key) == 97 - mod_of(&d[..13], 97)
}

/// The eleven-test: weights 9..2 and -1, sum mod 11.
fn nl_bsn(s: &str) -> bool {
    let d = digits(s);
    d.len() == 9 && (weighted(&d, &[9, 8, 7, 6, 5, 4, 3, 2]) + 10 * 11 - d[8]).is_multiple_of(11) && !all_same(&d)
}

/// Skatteverket: (YY)YYMMDD, a birth number, a Luhn digit over the last
/// ten; a day plus 60 is a coordination number.
fn se_personnummer(s: &str) -> bool {
    let d = digits(s);
    let d = match d.len() {
        12 => &d[2..],
        10 => &d[..],
        _ => return false,
    };
    let day = d[4] * 10 + d[5];
    let day = if day > 60 { day - 60 } else { day };
    plausible_date(d[2] * 10 + d[3], day) && luhn(d) && !all_same(d)
}

/// BOSA: YYMMDD, a serial, and 97 minus (the first nine digits mod 97) as
/// the check; for births from 2000 a 2 is put in front first. Month and day
/// may be 0 when unknown (and month + 20 or + 40 for bis numbers).
fn be_national_number(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 11 {
        return false;
    }
    let (month, day) = ((d[2] * 10 + d[3]) % 20, d[4] * 10 + d[5]);
    let check = u64::from(d[9] * 10 + d[10]);
    let base = mod_of(&d[..9], 97);
    let born_2000: Vec<u32> = std::iter::once(2).chain(d[..9].iter().copied()).collect();
    let base2000 = mod_of(&born_2000, 97);
    (month <= 12 && day <= 31) && (check == 97 - base || check == 97 - base2000) && !all_same(&d)
}

/// Receita Federal: two mod-11 check digits (weights 10..2, then 11..2).
fn br_cpf(s: &str) -> bool {
    let d = digits(s);
    let dv = |n: usize| {
        let w: Vec<u32> = (2..=n as u32 + 1).rev().collect();
        (weighted(&d, &w) * 10) % 11 % 10
    };
    d.len() == 11 && dv(9) == d[9] && dv(10) == d[10] && !all_same(&d)
}

/// Receita Federal: two mod-11 check digits with weights 5..2,9..2 and
/// 6..2,9..2.
fn br_cnpj(s: &str) -> bool {
    let d = digits(s);
    let dv = |w: &[u32]| match weighted(&d, w) % 11 {
        r if r < 2 => 0,
        r => 11 - r,
    };
    d.len() == 14
        && dv(&[5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]) == d[12]
        && dv(&[6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]) == d[13]
        && !all_same(&d)
}

/// Service Canada: Luhn over nine digits; 8 is never a first digit (0 is
/// the range of the published examples, so it stays).
fn ca_sin(s: &str) -> bool {
    let d = digits(s);
    d.len() == 9 && d[0] != 8 && luhn(&d) && !all_same(&d)
}

/// RENAPO: four letters, the birth date, sex, the state of birth, three
/// consonants, a disambiguator and a check digit: each of the first 17
/// characters' values in `0-9A-NÑO-Z` times 18 minus its position, and 10
/// minus the sum mod 10.
fn mx_curp(s: &str) -> bool {
    const STATES: [&str; 33] = [
        "AS", "BC", "BS", "CC", "CL", "CM", "CS", "CH", "DF", "DG", "GT", "GR", "HG", "JC", "MC", "MN", "MS", "NT",
        "NL", "OC", "PL", "QT", "QR", "SP", "SL", "SR", "TC", "TS", "TL", "VZ", "YN", "ZS", "NE",
    ];
    let b = s.as_bytes();
    let value = |c: u8| match c {
        b'0'..=b'9' => u32::from(c - b'0'),
        b'A'..=b'N' => u32::from(c - b'A') + 10,
        // Ñ sits between N and O in the alphabet the check uses.
        _ => u32::from(c.wrapping_sub(b'A')) + 11,
    };
    let sum: u32 = b[..17].iter().enumerate().map(|(i, &c)| value(c) * (18 - i as u32)).sum();
    let d = digits(&s[4..10]);
    plausible_date(d[2] * 10 + d[3], d[4] * 10 + d[5])
        && STATES.contains(&&s[11..13])
        && (10 - sum % 10) % 10 == u32::from(b[17] - b'0')
}

/// Election Commission of India: three letters naming the constituency
/// (FUSN), six serial digits and a Luhn digit over the seven.
fn in_voter_id(s: &str) -> bool {
    let d = digits(s);
    d.len() == 7 && luhn(&d) && !all_same(&d)
}

/// The state and union-territory codes of Indian registration plates
/// (Motor Vehicles Act), old and new (OR/OD, UA/UK, CT/CG, TS/TG).
const IN_STATES: [&str; 41] = [
    "AN", "AP", "AR", "AS", "BR", "CG", "CH", "CT", "DD", "DL", "DN", "GA", "GJ", "HP", "HR", "JH", "JK", "KA", "KL",
    "LA", "LD", "MH", "ML", "MN", "MP", "MZ", "NL", "OD", "OR", "PB", "PY", "RJ", "SK", "TG", "TN", "TR", "TS", "UA",
    "UK", "UP", "WB",
];

/// A state code, a district (RTO) number, a series of letters and a number
/// 0001-9999; or the Bharat series `YY BH NNNN XX`. Separators all alike.
fn in_vehicle_registration(s: &str) -> bool {
    let seps: Vec<char> = s.chars().filter(|c| *c == ' ' || *c == '-').collect();
    let alike = seps.windows(2).all(|w| w[0] == w[1]);
    let compact: String = s.chars().filter(char::is_ascii_alphanumeric).collect();
    let serial = number(&digits(&compact[compact.len().saturating_sub(4)..]));
    let bharat = compact.as_bytes()[0].is_ascii_digit();
    alike && (bharat || (IN_STATES.contains(&&compact[..2]) && serial > 0)) && !all_same(&digits(s))
}

/// Passport Seva: a letter and seven digits; no published check digit.
fn in_passport(s: &str) -> bool {
    let d = digits(s);
    d.len() == 7 && !all_same(&d)
}

/// Motorizzazione: a province's letters, seven digits and a letter (paper
/// licences), or U1 and eight characters (the card since 1999).
fn it_driver_license(s: &str) -> bool {
    not_one_digit_repeated(s)
}

/// Documents without a check digit: a run of one repeated digit is a
/// placeholder.
fn not_one_digit_repeated(s: &str) -> bool {
    !all_same(&digits(s))
}

/// Agenzia delle Entrate: seven digits for the holder, three for the
/// provincial office (001-100, or 120, 121, 888 and 999 for special
/// registrations) and a Luhn digit.
fn it_vat(s: &str) -> bool {
    let d = digits(s);
    d.len() == 11 && matches!(number(&d[7..10]), 1..=100 | 120 | 121 | 888 | 999) && luhn(&d) && number(&d[..7]) != 0
}

/// Ministry of the Interior: YYMMDD, a digit for sex and century (1-8;
/// 5-8 for foreign residents), five more and a check digit: weights
/// 2-9, 2-5, and 11 minus the sum mod 11 (mod 10). Numbers issued since
/// October 2020 no longer carry the check and are missed.
fn kr_rrn(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 13 || !(1..=8).contains(&d[6]) {
        return false;
    }
    let sum = weighted(&d, &[2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]);
    plausible_date(d[2] * 10 + d[3], d[4] * 10 + d[5]) && (11 - sum % 11) % 10 == d[12]
}

/// Department of Provincial Administration: a category digit (1-8), then
/// eleven digits and a check digit: weights 13 down to 2, and 11 minus the
/// sum mod 11 (mod 10).
fn th_tnin(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 13 || !(1..=8).contains(&d[0]) {
        return false;
    }
    let w: Vec<u32> = (2..=13).rev().collect();
    (11 - weighted(&d, &w) % 11) % 10 == d[12] && !all_same(&d)
}

/// Digital and Population Data Services Agency: DDMMYY, a century sign
/// (+ for the 1800s; -, Y, X, W, V, U for the 1900s; A-F for the 2000s),
/// an individual number 002-999 and a check character: the nine digits
/// mod 31 in `0-9A-Y` without G, I, O, Q and Z.
fn fi_hetu(s: &str) -> bool {
    const CHECK: &[u8; 31] = b"0123456789ABCDEFHJKLMNPRSTUVWXY";
    let d = digits(&s[..6]);
    let individual = digits(&s[7..10]);
    let mut nine = d.clone();
    nine.extend(&individual);
    let n = u64::from(number(&nine));
    number(&individual) >= 2
        && plausible_date(d[2] * 10 + d[3], d[0] * 10 + d[1])
        && CHECK[(n % 31) as usize] == s.as_bytes()[10]
}

/// ACRA and the other issuing agencies: eight digits and a check letter
/// (businesses), a year, five digits and a check letter (local companies),
/// or T/S/R with a year, an entity type, four digits and a check letter
/// (everything else). Each form has its weights and letter table.
fn sg_uen(s: &str) -> bool {
    const ENTITY_TYPES: [&str; 39] = [
        "LP", "LL", "FC", "PF", "RF", "MQ", "MM", "NB", "CC", "CS", "MB", "FM", "GS", "DP", "CP", "NR", "CM", "CD",
        "MD", "HS", "VH", "CH", "MH", "CL", "XL", "CX", "HC", "RP", "TU", "TC", "FB", "FN", "PA", "PB", "SS", "MC",
        "SM", "GA", "GB",
    ];
    const OTHER: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWX0123456789";
    let b = s.as_bytes();
    let last = b[b.len() - 1];
    let d = digits(s);
    match (b[0].is_ascii_digit(), d.len()) {
        (true, 8) => b"XMKECAWLJDB"[(weighted(&d, &[10, 4, 9, 3, 8, 2, 7, 1]) % 11) as usize] == last,
        (true, 9) => {
            let year = number(&d[..4]);
            (1900..=2099).contains(&year)
                && b"ZKCMDNERGWH"[(weighted(&d, &[10, 8, 6, 4, 9, 7, 5, 3, 1]) % 11) as usize] == last
        }
        (false, _) if ENTITY_TYPES.contains(&&s[3..5]) => {
            let value = |c: &u8| OTHER.iter().position(|x| x == c).map_or(0, |p| p as u32);
            let sum: u32 = b[..9].iter().zip([4, 3, 5, 3, 10, 2, 2, 5, 7]).map(|(c, w)| value(c) * w).sum();
            OTHER[((sum + 11 - 5) % 11) as usize] == last
        }
        _ => false,
    }
}

/// DEA: a registrant-type letter, a letter (or 9), six digits and a check
/// digit: the first, third and fifth digits plus twice the second, fourth
/// and sixth, last digit.
fn us_dea(s: &str) -> bool {
    let d = digits(&s[2..]);
    d.len() == 7 && (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10 == d[6] && !all_same(&d)
}

/// RFC 9562: the version nibble 1-8 and the variant bits `10`; the nil and
/// max UUIDs are placeholders.
fn uuid(s: &str) -> bool {
    let b = s.as_bytes();
    let variant = b[19].to_ascii_lowercase();
    (b'1'..=b'8').contains(&b[14]) && matches!(variant, b'8' | b'9' | b'a' | b'b')
}

/// Six octets; all-zero and broadcast are placeholders, not devices.
fn mac_address(s: &str) -> bool {
    let hex: String = s.chars().filter(char::is_ascii_hexdigit).collect::<String>().to_ascii_lowercase();
    hex.len() == 12 && hex != "000000000000" && hex != "ffffffffffff"
}

/// ISO 9362: bank, ISO 3166 country, location, optional branch.
fn swift_bic(s: &str) -> bool {
    phonenumber::country::Id::from_str(&s[4..6]).is_ok()
}

/// P2PKH (version 0) or P2SH (version 5): 25 bytes whose last four are the
/// double SHA-256 of the rest (`bs58` checks them).
fn bitcoin_base58(s: &str) -> bool {
    bs58::decode(s).with_check(None).into_vec().is_ok_and(|payload| payload.len() == 21 && matches!(payload[0], 0 | 5))
}

/// SegWit: Bech32 for version 0, Bech32m from version 1 (BIP 173, BIP 350).
fn bitcoin_bech32(s: &str) -> bool {
    bech32::segwit::decode(s).is_ok()
}

fn mixed_case(hex: &str) -> bool {
    hex.bytes().any(|b| b.is_ascii_uppercase()) && hex.bytes().any(|b| b.is_ascii_lowercase())
}

/// EIP-55: a letter is upper case where the Keccak-256 of the lower-case
/// address has a nibble of 8 or more.
fn ethereum_checksummed(s: &str) -> bool {
    let hex = &s[2..];
    if !mixed_case(hex) {
        return false;
    }
    let hash = Keccak256::digest(hex.to_ascii_lowercase().as_bytes());
    hex.bytes().enumerate().all(|(i, c)| {
        let nibble = (hash[i / 2] >> if i % 2 == 0 { 4 } else { 0 }) & 0x0f;
        !c.is_ascii_alphabetic() || c.is_ascii_uppercase() == (nibble >= 8)
    })
}

/// An address in one case carries no checksum; all one digit (the zero
/// address, `0xfff…`) is a placeholder, not a wallet.
fn ethereum_one_case(s: &str) -> bool {
    let hex = &s.as_bytes()[2..];
    !mixed_case(&s[2..]) && hex.iter().any(|&b| b != hex[0])
}
