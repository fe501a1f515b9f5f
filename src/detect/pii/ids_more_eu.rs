//! The identifiers of Germany, the UK, Spain, Sweden and Turkey, and the
//! remaining Canadian, Indian and Korean forms, that Presidio 2.2.366 ships
//! as disabled recognizers: the same table as `ids.rs` (one row per written
//! form, its validator, whether it needs its name nearby), kept apart so the
//! tables stay readable.
//!
//! Where the issuer publishes a check (KVNR, Rentenversicherungsnummer, LANR,
//! the ICAO digit of German documents, the Führerschein digit, USt-IdNr,
//! GSTIN, Korean BRN, organisationsnummer, TC Kimlik) the validator computes
//! it; postcodes, plates and passports have none, so they are reported only
//! with their name nearby, as are the checks that pass one time in ten or
//! eleven on a bare digit run.

use super::checksum::{iso7064_mod11_10, luhn, weighted};
use super::ids::{all_same, digits, number, plausible_date, IdRule, DIGITS_11, DIGITS_13, DIGITS_9};

/// German document numbers (Personalausweis, Reisepass): nine characters
/// from the ICAO set without vowels and look-alikes, the first a letter,
/// optionally followed by the machine-readable zone's check digit.
const DE_DOCUMENT: &str = r"(?-u)\b[CFGHJ-NPRTV-Z][CFGHJ-NPRTV-Z0-9]{8}\d?\b";
const DIGITS_10: &str = r"(?-u)\b\d{10}\b";
/// Royal Mail: the outward code (area and district, the letters each
/// position may hold) and the inward code (sector digit, unit letters
/// without C, I, K, M, O or V); the Girobank code is the one exception.
const UK_POSTCODE_SPACED: &str = r"(?-u)\b(?:GIR 0AA|[A-PR-UWYZ](?:\d[ABCDEFGHJKPSTUW]?|\d{2}|[A-HK-Y]\d[ABEHMNPRVWXY]?|[A-HK-Y]\d{2}) \d[ABD-HJLNP-UW-Z]{2})\b";
const UK_POSTCODE_BARE: &str = r"(?-u)\b(?:GIR0AA|[A-PR-UWYZ](?:\d[ABCDEFGHJKPSTUW]?|\d{2}|[A-HK-Y]\d[ABEHMNPRVWXY]?|[A-HK-Y]\d{2})\d[ABD-HJLNP-UW-Z]{2})\b";

pub(super) const RULES: &[IdRule] = &[
    IdRule {
        category: "pii.ca_postal_code",
        pattern: r"(?-u)\b[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] \d[ABCEGHJ-NPRSTV-Z]\d\b",
        check: the_pattern_is_the_rule,
        needs_context: true,
        score: 0.6,
        message: "Canadian postal code (valid letters; named nearby)",
    },
    IdRule {
        category: "pii.ca_postal_code",
        pattern: r"(?-u)\b[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\d[ABCEGHJ-NPRSTV-Z]\d\b",
        check: the_pattern_is_the_rule,
        needs_context: true,
        score: 0.6,
        message: "Canadian postal code (valid letters; named nearby)",
    },
    IdRule {
        category: "pii.de_bsnr",
        pattern: DIGITS_9,
        check: de_bsnr,
        needs_context: true,
        score: 0.7,
        message: "German practice number (BSNR; valid KV region; named nearby)",
    },
    IdRule {
        category: "pii.de_lanr",
        pattern: DIGITS_9,
        check: de_lanr,
        needs_context: true,
        score: 0.8,
        message: "German lifetime physician number (LANR; check digit valid; named nearby)",
    },
    IdRule {
        category: "pii.de_kvnr",
        pattern: r"(?-u)\b[A-Z]\d{9}\b",
        check: de_kvnr,
        needs_context: true,
        score: 0.85,
        message: "German health insurance number (KVNR; check digit valid)",
    },
    IdRule {
        category: "pii.de_social_security",
        pattern: r"(?-u)\b\d{2} ?\d{6} ?[A-Z] ?\d{3}\b",
        check: de_social_security,
        needs_context: false,
        score: 0.85,
        message: "German pension insurance number (Rentenversicherungsnummer; date and check digit valid)",
    },
    IdRule {
        category: "pii.de_tax_number",
        pattern: r"(?-u)\b(?:\d{2,3}/\d{3,4}/\d{4,5}|\d{5}/\d{5}|\d{2}/\d{3}/\d{4}/\d|\d{2,3} \d{3} \d{5})\b",
        check: de_tax_number,
        needs_context: true,
        score: 0.7,
        message: "German tax number (Steuernummer; a state's layout; named nearby)",
    },
    IdRule {
        category: "pii.de_tax_number",
        pattern: DIGITS_13,
        check: de_tax_number,
        needs_context: true,
        score: 0.7,
        message: "German tax number (Steuernummer, 13-digit form; tax office prefix valid; named nearby)",
    },
    IdRule {
        category: "pii.de_vat",
        pattern: r"(?-u)\bDE[ .-]?\d{3}[ .-]?\d{3}[ .-]?\d{3}\b",
        check: de_vat,
        needs_context: false,
        score: 0.85,
        message: "German VAT number (USt-IdNr; ISO 7064 valid)",
    },
    IdRule {
        category: "pii.de_vat",
        pattern: DIGITS_9,
        check: de_vat,
        needs_context: true,
        score: 0.85,
        message: "German VAT number (USt-IdNr; ISO 7064 valid)",
    },
    IdRule {
        category: "pii.de_identity_card",
        pattern: DE_DOCUMENT,
        check: de_document,
        needs_context: true,
        score: 0.75,
        message: "German identity card number (ICAO characters; named nearby)",
    },
    IdRule {
        category: "pii.de_passport",
        pattern: DE_DOCUMENT,
        check: de_document,
        needs_context: true,
        score: 0.75,
        message: "German passport number (ICAO characters; named nearby)",
    },
    IdRule {
        category: "pii.de_driver_license",
        pattern: r"(?-u)\b[A-P]\d{2}[0-9A-Z]{6}[0-9X][0-9A-Z]\b",
        check: de_driver_license,
        needs_context: true,
        score: 0.8,
        message: "German driving licence number (Führerscheinnummer; check digit valid; named nearby)",
    },
    IdRule {
        category: "pii.de_vehicle_registration",
        pattern: r"(?-u)\b(?:[A-Z]|Ä|Ö|Ü){1,3}[ -][A-Z]{1,2}[ -]?[1-9]\d{0,3}[EH]?\b",
        check: de_vehicle_registration,
        needs_context: true,
        score: 0.6,
        message: "German vehicle registration (Kfz-Kennzeichen; at most eight characters; named nearby)",
    },
    IdRule {
        category: "pii.de_postcode",
        pattern: r"(?-u)\b\d{5}\b",
        check: de_postcode,
        needs_context: true,
        score: 0.5,
        message: "German postcode (PLZ; named nearby)",
    },
    IdRule {
        category: "pii.de_commercial_register",
        pattern: r"(?-u)\bHR[AB] ?[1-9]\d{0,5}\b",
        check: the_pattern_is_the_rule,
        needs_context: false,
        score: 0.7,
        message: "German commercial register number (Handelsregister HRA/HRB)",
    },
    IdRule {
        category: "pii.in_gstin",
        pattern: r"(?-u)\b\d{2}[A-Z]{3}[ABCFGHJLPT][A-Z]\d{4}[A-Z][1-9A-Z]Z[0-9A-Z]\b",
        check: in_gstin,
        needs_context: false,
        score: 0.9,
        message: "Indian GSTIN (state code, PAN and mod-36 check character valid)",
    },
    IdRule {
        category: "pii.kr_brn",
        pattern: r"(?-u)\b\d{3}-\d{2}-\d{5}\b",
        check: kr_brn,
        needs_context: false,
        score: 0.8,
        message: "Korean business registration number (check digit valid)",
    },
    IdRule {
        category: "pii.kr_brn",
        pattern: DIGITS_10,
        check: kr_brn,
        needs_context: true,
        score: 0.8,
        message: "Korean business registration number (check digit valid)",
    },
    IdRule {
        category: "pii.kr_driver_license",
        pattern: r"(?-u)\b\d{2}[- ]?\d{2}[- ]?\d{6}[- ]?\d{2}\b",
        check: kr_driver_license,
        needs_context: true,
        score: 0.7,
        message: "Korean driver's licence number (valid region; named nearby)",
    },
    IdRule {
        category: "pii.kr_passport",
        pattern: r"(?-u)\b[MSROD](?:\d{3}[A-Z]\d{4}|\d{8})\b",
        check: not_one_digit_repeated,
        needs_context: true,
        score: 0.7,
        message: "Korean passport number (no check digit; named nearby)",
    },
    IdRule {
        category: "pii.es_passport",
        pattern: r"(?-u)\b[A-Z]{3}\d{6}\b",
        check: not_one_digit_repeated,
        needs_context: true,
        score: 0.7,
        message: "Spanish passport number (no check digit; named nearby)",
    },
    IdRule {
        category: "pii.se_organisationsnummer",
        pattern: r"(?-u)\b\d{6}-\d{4}\b",
        check: se_organisationsnummer,
        needs_context: false,
        score: 0.8,
        message: "Swedish organisation number (third digit and Luhn valid)",
    },
    IdRule {
        category: "pii.se_organisationsnummer",
        pattern: DIGITS_10,
        check: se_organisationsnummer,
        needs_context: true,
        score: 0.8,
        message: "Swedish organisation number (third digit and Luhn valid)",
    },
    IdRule {
        category: "pii.tr_national_id",
        pattern: DIGITS_11,
        check: tr_national_id,
        needs_context: true,
        score: 0.85,
        message: "Turkish national ID number (TC Kimlik; both check digits valid)",
    },
    IdRule {
        category: "pii.tr_vehicle_registration",
        pattern: r"(?-u)\b(?:0[1-9]|[1-7]\d|8[01])(?: ?[A-PR-VYZ]{1,3} ?|-[A-PR-VYZ]{1,3}-)\d{2,4}\b",
        check: tr_vehicle_registration,
        needs_context: true,
        score: 0.6,
        message: "Turkish vehicle registration (plaka; province code valid; named nearby)",
    },
    IdRule {
        category: "pii.uk_driver_license",
        pattern: r"(?-u)\b[A-Z][A-Z9]{4} ?\d[0156]\d[0-3]\d\d ?[A-Z][A-Z9]\d[A-Z]{2}\b",
        check: uk_driver_license,
        needs_context: false,
        score: 0.85,
        message: "UK driving licence number (surname, birth date and initials valid)",
    },
    IdRule {
        category: "pii.uk_passport",
        pattern: r"(?-u)\b[A-Z]{2}\d{7}\b",
        check: not_one_digit_repeated,
        needs_context: true,
        score: 0.7,
        message: "UK passport number (no check digit; named nearby)",
    },
    IdRule {
        category: "pii.uk_postcode",
        pattern: UK_POSTCODE_SPACED,
        check: the_pattern_is_the_rule,
        needs_context: true,
        score: 0.6,
        message: "UK postcode (valid letters for each position; named nearby)",
    },
    IdRule {
        category: "pii.uk_postcode",
        pattern: UK_POSTCODE_BARE,
        check: the_pattern_is_the_rule,
        needs_context: true,
        score: 0.6,
        message: "UK postcode (valid letters for each position; named nearby)",
    },
    IdRule {
        category: "pii.uk_vehicle_registration",
        pattern: r"(?-u)\b[A-HJ-PR-Y]{2}\d{2}[ -]?[A-HJ-PR-Z]{3}\b",
        check: uk_vehicle_registration,
        needs_context: true,
        score: 0.7,
        message: "UK vehicle registration (current format; valid age identifier; named nearby)",
    },
    IdRule {
        category: "pii.uk_vehicle_registration",
        pattern: r"(?-u)\b(?:[A-HJ-NPR-TV-Y]\d{1,3}[ -]?[A-HJ-PR-Y][A-HJ-PR-Z]{2}|[A-HJ-PR-Z]{3}[ -]?\d{1,3}[ -]?[A-HJ-NPR-TV-Y])\b",
        check: not_one_digit_repeated,
        needs_context: true,
        score: 0.6,
        message: "UK vehicle registration (prefix or suffix format; named nearby)",
    },
];

fn not_one_digit_repeated(s: &str) -> bool {
    !all_same(&digits(s))
}

/// The value of a character in the check-digit schemes that read letters
/// as numbers: 0-9, then A = 10 to Z = 35.
fn value36(c: u8) -> u32 {
    match c {
        b'0'..=b'9' => u32::from(c - b'0'),
        _ => u32::from(c.to_ascii_uppercase().wrapping_sub(b'A')) % 26 + 10,
    }
}

/// The digit sum of a product: the "Quersumme" German schemes take.
fn cross_sum(n: u32) -> u32 {
    n / 10 + n % 10
}

/// Forms whose pattern holds every rule the issuer publishes: Canada
/// Post's letters (no D, F, I, O, Q or U; no W or Z first), Royal Mail's,
/// and a register's prefix.
fn the_pattern_is_the_rule(_: &str) -> bool {
    true
}

/// KBV: the regional Kassenärztliche Vereinigung's two digits (Arztnummern-
/// Richtlinie, Anlage 1) and a serial; no published check digit.
fn de_bsnr(s: &str) -> bool {
    const KV: [u32; 19] = [1, 2, 3, 17, 20, 35, 38, 46, 51, 52, 71, 72, 73, 74, 78, 83, 88, 93, 98];
    let d = digits(s);
    d.len() == 9 && s.len() == 9 && KV.contains(&(d[0] * 10 + d[1])) && number(&d[2..]) != 0
}

/// KBV Arztnummern-Richtlinie: six digits for the physician, weights 4 and 9
/// alternating, 10 minus the sum mod 10 as the seventh; then the specialty.
fn de_lanr(s: &str) -> bool {
    let d = digits(s);
    d.len() == 9 && s.len() == 9 && (10 - weighted(&d, &[4, 9, 4, 9, 4, 9]) % 10) % 10 == d[6] && !all_same(&d[..6])
}

/// GKV-Spitzenverband (§ 290 SGB V): the letter as two digits (A = 01),
/// then eight digits; weights 1 and 2 alternating, the digit sum of each
/// product, mod 10 is the tenth digit.
fn de_kvnr(s: &str) -> bool {
    let b = s.as_bytes();
    let letter = u32::from(b[0] - b'A') + 1;
    let mut d = vec![letter / 10, letter % 10];
    d.extend(digits(&s[1..9]));
    let sum: u32 = d.iter().zip([1, 2].iter().cycle()).map(|(x, w)| cross_sum(x * w)).sum();
    sum % 10 == u32::from(b[9] - b'0') && !all_same(&d[2..])
}

/// Deutsche Rentenversicherung (VKVV § 2 and § 4): area, birth date (the
/// day + 50 when the number would repeat), the initial of the birth name, a
/// serial and a check digit: the letter as two digits, weights
/// 2,1,2,5,7,1,2,1,2,1,2,1, the digit sum of each product, mod 10.
fn de_social_security(s: &str) -> bool {
    let compact: String = s.chars().filter(|c| *c != ' ').collect();
    let b = compact.as_bytes();
    if b.len() != 12 {
        return false;
    }
    let d = digits(&compact[..8]);
    let day = d[2] * 10 + d[3];
    let day = if day > 50 { day - 50 } else { day };
    let letter = u32::from(b[8] - b'A') + 1;
    let mut all = d.clone();
    all.extend([letter / 10, letter % 10]);
    all.extend(digits(&compact[9..11]));
    let sum: u32 = all.iter().zip([2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1]).map(|(x, w)| cross_sum(x * w)).sum();
    plausible_date(d[4] * 10 + d[5], day) && sum % 10 == u32::from(b[11] - b'0')
}

/// The tax offices' layouts (BMF; the table python-stdnum keeps): 10 or 11
/// digits grouped as the state writes them (`FF/BBB/UUUUP`,
/// `FFF/BBB/UUUUP`, `FFF/BBBB/UUUP` in NRW, `FFBBB/UUUUP` in BW,
/// `FF/BBB/UUUU/P` in RP, spaces in Bremen and Hesse), or the 13-digit
/// national form: the state's tax office prefix, a 0, then the district,
/// serial and check digit. The states' check-digit methods are not applied.
fn de_tax_number(s: &str) -> bool {
    let groups: Vec<usize> = s.split(['/', ' ']).map(str::len).collect();
    let d = digits(s);
    match groups.as_slice() {
        [13] => {
            let prefix = d[0] * 10 + d[1];
            let office =
                matches!(d[0], 5 | 9) || [10, 11, 21, 22, 23, 24, 26, 27, 28, 30, 31, 32, 40, 41].contains(&prefix);
            office && d[4] == 0 && !all_same(&d[5..])
        }
        [2, 3, 5] | [3, 3, 5] | [3, 4, 4] | [5, 5] | [2, 3, 4, 1] => !all_same(&d),
        _ => false,
    }
}

/// BZSt: nine digits, the first not 0, ISO 7064 MOD 11,10 over the first
/// eight; `DE` in front when written for another country.
fn de_vat(s: &str) -> bool {
    let d = digits(s);
    let bare = !s.starts_with("DE");
    d.len() == 9 && (!bare || s.len() == 9) && d[0] != 0 && iso7064_mod11_10(&d[..8]) == d[8] && !all_same(&d)
}

/// ICAO Doc 9303: weights 7, 3, 1 over the characters' values, mod 10. The
/// nine printed characters carry no check of their own (a placeholder of
/// letters only is not a number); the zone's tenth digit, when written,
/// must be right.
fn de_document(s: &str) -> bool {
    let b = s.as_bytes();
    let check = |n: usize| b[..n].iter().zip([7, 3, 1].iter().cycle()).map(|(&c, w)| value36(c) * w).sum::<u32>() % 10;
    b[1..9].iter().any(u8::is_ascii_digit)
        && !all_same(&digits(s))
        && (b.len() == 9 || check(9) == u32::from(b[9] - b'0'))
}

/// KBA (FeV Anlage 8): the licensing authority (a state letter A-P, two
/// digits for the district, one character), a five-character serial, a
/// check character (values 0-35, weights 9 to 1, mod 11, 10 written X)
/// and the issue number.
fn de_driver_license(s: &str) -> bool {
    let b = s.as_bytes();
    let r = b[..9].iter().zip((1..=9).rev()).map(|(&c, w)| value36(c) * w).sum::<u32>() % 11;
    let want = if r == 10 { b'X' } else { b'0' + r as u8 };
    b[9] == want
}

/// FZV § 8: the district's one to three letters, one or two letters and a
/// number of one to four digits; eight characters at most, plus E
/// (electric) or H (historic).
fn de_vehicle_registration(s: &str) -> bool {
    let body = s.trim_end_matches(['E', 'H']);
    let chars = body.chars().filter(|c| c.is_alphanumeric()).count();
    chars <= 8
}

/// Deutsche Post: five digits, 01001 to 99998 (no Leitregion 00).
fn de_postcode(s: &str) -> bool {
    (1001..=99998).contains(&number(&digits(s)))
}

/// GSTN: the state's code (01-38, 97 for other territory, 99 for the
/// centre), the holder's PAN, the registration's number in the state, Z,
/// and a check character: Luhn over the fifteen characters in base 36.
fn in_gstin(s: &str) -> bool {
    let b = s.as_bytes();
    let state = number(&digits(&s[..2]));
    let sum: u32 = b
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &c)| {
            let v = value36(c) * if i % 2 == 1 { 2 } else { 1 };
            v / 36 + v % 36
        })
        .sum();
    matches!(state, 1..=38 | 97 | 99) && number(&digits(&s[7..11])) != 0 && sum.is_multiple_of(36)
}

/// National Tax Service: the tax office (101 and up), the kind of business
/// (not 00), a serial and a check digit: weights 1,3,7,1,3,7,1,3,5, plus the
/// tens of the ninth digit times five, 10 minus the sum mod 10.
fn kr_brn(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 10 {
        return false;
    }
    let ninth = d[8] * 5;
    let sum = weighted(&d, &[1, 3, 7, 1, 3, 7, 1, 3]) + ninth + ninth / 10;
    number(&d[..3]) >= 101 && number(&d[3..5]) != 0 && number(&d[5..9]) != 0 && (10 - sum % 10) % 10 == d[9]
}

/// Korean National Police Agency: a region (11-26, 28), the year of issue,
/// a serial and two check digits whose method is not published.
fn kr_driver_license(s: &str) -> bool {
    let d = digits(s);
    d.len() == 12 && matches!(d[0] * 10 + d[1], 11..=26 | 28) && !all_same(&d[4..10])
}

/// Bolagsverket: ten digits, the third 2 or more (a personnummer's month is
/// at most 12), Luhn.
fn se_organisationsnummer(s: &str) -> bool {
    let d = digits(s);
    d.len() == 10 && d[2] >= 2 && luhn(&d) && !all_same(&d)
}

/// NVİ: eleven digits, the first not 0; the tenth is seven times the sum of
/// the odd places minus the sum of the even places (of the first nine),
/// mod 10; the eleventh the sum of the first ten, mod 10.
fn tr_national_id(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 11 || d[0] == 0 {
        return false;
    }
    let odd: u32 = d[..9].iter().step_by(2).sum();
    let even: u32 = d[1..8].iter().step_by(2).sum();
    // Seven times the odd sum minus the even sum, kept unsigned: minus
    // `even` is plus nine times it, mod 10.
    (odd * 7 + 9 * even) % 10 == d[9] && d[..10].iter().sum::<u32>() % 10 == d[10] && !all_same(&d)
}

/// Karayolları Trafik Yönetmeliği: a province (01-81), letters of the
/// Turkish alphabet that are also ASCII (no Q, W or X), a number; one kind
/// of separator.
fn tr_vehicle_registration(s: &str) -> bool {
    matches!(s.matches(' ').count(), 0 | 2)
}

/// DVLA: five letters of the surname (padded with 9), the decade, the month
/// (+50 for women), the day, the year's last digit, two initials (9 when
/// there is none), a digit and two check letters.
fn uk_driver_license(s: &str) -> bool {
    let compact: String = s.chars().filter(|c| *c != ' ').collect();
    let surname = compact[..5].trim_end_matches('9');
    let d = digits(&compact[5..11]);
    let month = (d[1] * 10 + d[2]) % 50;
    !surname.contains('9') && plausible_date(month, d[3] * 10 + d[4]) && s.matches(' ').count() != 1
}

/// DVLA since September 2001: the area's two letters, the age identifier
/// (March 02-29, September 51-79 by the scheme's calendar) and three
/// random letters.
fn uk_vehicle_registration(s: &str) -> bool {
    matches!(number(&digits(s)), 2..=29 | 51..=79)
}
