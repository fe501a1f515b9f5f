//! The identifier table and the phone rules, row by row: valid numbers
//! (published examples, or computed by the issuer's algorithm), the same
//! numbers with one digit changed, wrong lengths, and text that must stay
//! quiet.

use super::*;

/// (category, valid numbers, invalid ones).
type IdRow = (&'static str, &'static [&'static str], &'static [&'static str]);

/// (text, category, the span it must cover; or None: the category must not
/// be found).
type SentenceRow = (&'static str, &'static str, Option<&'static str>);

/// Whether some row of `category` takes `s` whole: its pattern matches all
/// of `s` and its validator passes.
fn accepts(category: &str, s: &str) -> bool {
    id_rules().filter(|r| r.category == category).any(|r| {
        let whole = Regex::new(&format!("^(?:{})$", r.pattern)).unwrap();
        whole.is_match(s) && (r.check)(s)
    })
}

#[test]
fn every_identifier_accepts_valid_numbers_and_refuses_changed_digits_and_wrong_lengths() {
    // (category, valid, invalid: one digit or letter changed, a wrong
    // length, a structure the issuer never uses)
    let base: &[IdRow] = &[
        ("pii.uk_nhs", &["943 476 5919", "9434765919"], &["943 476 5918", "943 476 591", "000 000 0000"]),
        (
            "pii.uk_nino",
            &["AB 12 34 56 C", "AB123456C"],
            &["QQ 12 34 56 C", "GB123456A", "AB123456E", "AB12345C", "AB 123456 C"],
        ),
        ("pii.es_nif", &["12345678Z", "12345678-Z", "12345678z"], &["12345679Z", "1234567Z", "12345678A"]),
        ("pii.es_nie", &["X1234567L", "Y1234567X"], &["X1234568L", "X123456L", "Y1234567L"]),
        (
            "pii.it_fiscal_code",
            &["RSSMRA85T10A562S", "rssmra85t10a562s"],
            &["RSSMRA85T10A563S", "RSSMRA85T10A562", "RSSMRA85Z10A562S"],
        ),
        ("pii.pl_pesel", &["44051401359"], &["44051401358", "4405140135", "44151401350"]),
        ("pii.sg_nric", &["S1234567D", "T1234567J", "F1234567N", "G1234567X"], &["S1234568D", "S123456D", "A1234567D"]),
        ("pii.au_abn", &["51 824 753 556", "51824753556"], &["51 824 753 557", "5182475355"]),
        ("pii.au_acn", &["010 499 966", "000 000 019"], &["010 499 967", "010 499 96"]),
        ("pii.au_tfn", &["123 456 782"], &["123 456 783", "12 456 782", "111 111 111"]),
        ("pii.au_medicare", &["2123 45670 1", "2123456701"], &["2123 45671 1", "7123 45670 1", "2123 4567 1"]),
        ("pii.in_pan", &["ABCPE1234F"], &["ABCXE1234F", "ABCPE12345", "ABCPE123F"]),
        ("pii.in_aadhaar", &["2345 6789 0124", "234567890124"], &["2345 6789 0125", "1234 5678 9012", "2345 6789 012"]),
        ("pii.us_passport", &["A12345678", "340020013"], &["A1234567", "1234567890", "000000000"]),
        ("pii.us_driver_license", &["F162823540116", "2270-66-1551", "6940579"], &["F12", "0000000"]),
        ("pii.us_itin", &["912-70-1234", "912 70 1234"], &["912-40-1234", "812-70-1234", "912-70-123"]),
        ("pii.us_bank_account", &["12345678901"], &["1234567", "11111111111"]),
        ("pii.us_aba_routing", &["021000021", "011000015"], &["021000022", "02100002", "991000021"]),
        (
            "pii.de_tax_id",
            &["86095742719", "86 095 742 719", "47036892816"],
            &["86095742718", "8609574271", "12345678903", "06095742719"],
        ),
        (
            "pii.fr_nir",
            &["1 85 05 78 006 084 91", "255081416802538", "1 85 05 2A 006 084 35"],
            &["1 85 05 78 006 084 92", "1 85 13 78 006 084 91", "1 85 05 78 006 084 9"],
        ),
        ("pii.nl_bsn", &["111222333", "123456782"], &["111222334", "11122233", "111111111"]),
        (
            "pii.se_personnummer",
            &["811228-9874", "19811228-9874", "8112289874"],
            &["811228-9875", "811328-9874", "81122-9874"],
        ),
        (
            "pii.be_national_number",
            &["85.07.30-033.28", "85073003328", "01.02.03-123.45"],
            &["85.07.30-033.29", "85.27.30-033.28", "01.02.03-123.46"],
        ),
        ("pii.br_cpf", &["529.982.247-25", "52998224725"], &["529.982.247-26", "529.982.247-2", "111.111.111-11"]),
        ("pii.br_cnpj", &["11.222.333/0001-81", "11222333000181"], &["11.222.333/0001-82", "11.222.333/001-81"]),
        ("pii.ca_sin", &["046 454 286", "046-454-286"], &["046 454 287", "846 454 281", "046 454 28"]),
        (
            "pii.mx_curp",
            &["HEGG560427MVZRRL04"],
            &["HEGG560427MVZRRL05", "HEGG561327MVZRRL04", "HEGG560427MXXRRL04", "HEGG560427MVZRRL0"],
        ),
        ("pii.in_voter_id", &["WKH1186253", "ABC1234566"], &["WKH1186263", "WKH118625", "WK11186253", "ABC0000000"]),
        (
            "pii.in_vehicle_registration",
            &["MH 12 AB 1234", "DL3CAB1234", "KA-01-HH-1234", "22 BH 1234 AA"],
            &["XX 12 AB 1234", "MH 12 AB 0000", "MH 12-AB 1234", "MH 12 AB 123"],
        ),
        ("pii.in_passport", &["J8369854", "A12 34567"], &["A0234567", "A123456", "A1234560", "A1111111"]),
        (
            "pii.it_driver_license",
            &["RM1234567X", "U12345678K"],
            &["RM123456X", "RM1111111X", "U1234567K", "RM12345678X"],
        ),
        (
            "pii.it_vat",
            &["01234560561", "IT12345670017", "IT 12345670017"],
            &["01234560562", "IT12345670018", "12345671015", "0123456056", "00000001008"],
        ),
        ("pii.it_identity_card", &["AA 1234567", "CA12345AB", "1234567AB"], &["AA 1111111", "AA123456", "CA1234AB"]),
        ("pii.it_passport", &["YA1234567"], &["YA123456", "YA1111111", "Y12345678"]),
        (
            "pii.kr_rrn",
            &["850101-1234566", "8501011234566", "010203-4123453"],
            &["850101-1234567", "8513011234563", "8501019234568", "850101-123456"],
        ),
        (
            "pii.th_tnin",
            &["1101700123456", "1-1017-00123-45-6", "3 1006 00987 65 9"],
            &["1101700123457", "0101700123458", "9101700123451", "110170012345"],
        ),
        (
            "pii.fi_hetu",
            &["131052-308T", "010101A123N", "150395Y123K"],
            &["131052-308U", "131352-3087", "131052-001W", "131052-30T"],
        ),
        (
            "pii.sg_uen",
            &["53012345B", "200312345H", "T09LL0001D", "S99LP1234L"],
            &["53012345C", "T09LL0001B", "T09AB0001E", "300312345W", "5301234B"],
        ),
        ("pii.us_medical_license", &["AB1234563", "F91234563"], &["AB1234564", "AB123456", "IB1234563"]),
        (
            "pii.uuid",
            &["123e4567-e89b-12d3-a456-426614174000", "6F9619FF-8B86-4D11-B42D-00C04FC964FF"],
            &[
                "123e4567-e89b-02d3-a456-426614174000",
                "123e4567-e89b-12d3-c456-426614174000",
                "00000000-0000-0000-0000-000000000000",
                "123e4567-e89b-12d3-a456-42661417400",
            ],
        ),
        (
            "pii.mac_address",
            &["00:1A:2B:3C:4D:5E", "00-1a-2b-3c-4d-5e", "001a.2b3c.4d5e"],
            &["ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00", "00:1A:2B:3C:4D", "00:1A-2B:3C:4D:5E"],
        ),
        ("pii.swift_bic", &["DEUTDEFF", "DEUTDEFF500", "BNPAFRPPXXX"], &["DEUTQQFF", "DEUTDEF", "DEUTDEFF50"]),
        (
            "pii.crypto_wallet",
            &[
                "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
                "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
                "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
                "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
                "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
                "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
                "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
            ],
            &[
                "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb",
                "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLz",
                "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",
                "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj1",
                "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD",
                "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe",
                "0x0000000000000000000000000000000000000000",
            ],
        ),
    ];
    let table: Vec<IdRow> = base.iter().chain(MORE_EU_IDS).copied().collect();
    let mut failures = Vec::new();
    for (category, valid, invalid) in table.iter().chain(WORLD_IDS) {
        for s in *valid {
            if !accepts(category, s) {
                failures.push(format!("{category} refused valid {s:?}"));
            }
        }
        for s in *invalid {
            if accepts(category, s) {
                failures.push(format!("{category} accepted invalid {s:?}"));
            }
        }
    }
    let tested: Vec<&str> = table.iter().chain(WORLD_IDS).map(|(c, ..)| *c).collect();
    for rule in id_rules() {
        if !tested.contains(&rule.category) {
            failures.push(format!("{} has no row in this table", rule.category));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn found(d: &PiiDetector, text: &str) -> Vec<(String, String)> {
    d.scan(text).into_iter().map(|f| (f.category, text[f.span].to_string())).collect()
}

#[test]
fn weak_identifiers_need_their_words_and_strong_ones_stand_alone() {
    let d = PiiDetector::new("US").unwrap();
    // (text, category, the span it must cover; or None: the category must
    // not be found)
    let base: &[SentenceRow] = &[
        ("NHS number: 943 476 5919", "pii.uk_nhs", Some("943 476 5919")),
        ("ticket 943 476 5919", "pii.uk_nhs", None),
        ("Mijn BSN is 111222333.", "pii.nl_bsn", Some("111222333")),
        ("the batch was 111222333 units", "pii.nl_bsn", None),
        ("SIN: 046 454 286", "pii.ca_sin", Some("046 454 286")),
        ("TFN 123 456 782", "pii.au_tfn", Some("123 456 782")),
        ("ABN 51 824 753 556", "pii.au_abn", Some("51 824 753 556")),
        ("Steuer-ID: 86095742719", "pii.de_tax_id", Some("86095742719")),
        ("86095742719", "pii.de_tax_id", None),
        ("PESEL 44051401359", "pii.pl_pesel", Some("44051401359")),
        ("my aadhaar is 2345 6789 0124", "pii.in_aadhaar", Some("2345 6789 0124")),
        ("passport no A12345678", "pii.us_passport", Some("A12345678")),
        ("model A12345678", "pii.us_passport", None),
        ("My driver's license number is F162823540116", "pii.us_driver_license", Some("F162823540116")),
        ("account number 12345678901", "pii.us_bank_account", Some("12345678901")),
        ("routing 021000021", "pii.us_aba_routing", Some("021000021")),
        ("wire to SWIFT DEUTDEFF500", "pii.swift_bic", Some("DEUTDEFF500")),
        ("ABSTRACT", "pii.swift_bic", None),
        ("NINO AB 12 34 56 C", "pii.uk_nino", Some("AB 12 34 56 C")),
        ("DNI 12345678Z", "pii.es_nif", Some("12345678Z")),
        ("codice fiscale RSSMRA85T10A562S", "pii.it_fiscal_code", Some("RSSMRA85T10A562S")),
        ("CPF 529.982.247-25", "pii.br_cpf", Some("529.982.247-25")),
        ("52998224725", "pii.br_cpf", None),
        ("CURP HEGG560427MVZRRL04", "pii.mx_curp", Some("HEGG560427MVZRRL04")),
        ("n° sécu 1 85 05 78 006 084 91", "pii.fr_nir", Some("1 85 05 78 006 084 91")),
        ("personnummer 811228-9874", "pii.se_personnummer", Some("811228-9874")),
        ("85.07.30-033.28", "pii.be_national_number", Some("85.07.30-033.28")),
        ("ITIN 912-70-1234", "pii.us_itin", Some("912-70-1234")),
        (
            "send to 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa now",
            "pii.crypto_wallet",
            Some("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
        ),
        (
            "eth 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "pii.crypto_wallet",
            Some("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
        ),
        ("voter ID WKH1186253", "pii.in_voter_id", Some("WKH1186253")),
        ("part WKH1186253", "pii.in_voter_id", None),
        ("car MH 12 AB 1234 parked", "pii.in_vehicle_registration", Some("MH 12 AB 1234")),
        ("passport number J8369854", "pii.in_passport", Some("J8369854")),
        ("code J8369854", "pii.in_passport", None),
        ("patente di guida RM1234567X", "pii.it_driver_license", Some("RM1234567X")),
        ("P.IVA 01234560561", "pii.it_vat", Some("01234560561")),
        ("01234560561", "pii.it_vat", None),
        ("VAT IT12345670017", "pii.it_vat", Some("IT12345670017")),
        ("carta d'identità CA12345AB", "pii.it_identity_card", Some("CA12345AB")),
        ("numero passaporto YA1234567", "pii.it_passport", Some("YA1234567")),
        ("YA1234567", "pii.it_passport", None),
        ("주민등록번호 850101-1234566", "pii.kr_rrn", Some("850101-1234566")),
        ("RRN 8501011234566", "pii.kr_rrn", Some("8501011234566")),
        ("8501011234566", "pii.kr_rrn", None),
        ("Thai ID 1-1017-00123-45-6", "pii.th_tnin", Some("1-1017-00123-45-6")),
        ("1101700123456", "pii.th_tnin", None),
        ("hetu 131052-308T", "pii.fi_hetu", Some("131052-308T")),
        ("UEN T09LL0001D", "pii.sg_uen", Some("T09LL0001D")),
        ("UEN 53012345B", "pii.sg_uen", Some("53012345B")),
        ("53012345B", "pii.sg_uen", None),
        ("DEA# AB1234563", "pii.us_medical_license", Some("AB1234563")),
        ("AB1234563", "pii.us_medical_license", None),
        ("session 123e4567-e89b-12d3-a456-426614174000", "pii.uuid", Some("123e4567-e89b-12d3-a456-426614174000")),
        ("device 00:1A:2B:3C:4D:5E joined", "pii.mac_address", Some("00:1A:2B:3C:4D:5E")),
    ];
    let table: Vec<SentenceRow> = base.iter().chain(MORE_EU_SENTENCES).copied().collect();
    let mut failures = Vec::new();
    for (text, category, span) in table.iter().chain(WORLD_SENTENCES) {
        let got = found(&d, text);
        let hit = got.iter().find(|(c, _)| c == category);
        match (span, hit) {
            (Some(want), Some((_, s))) if s == want => {}
            (None, None) => {}
            _ => failures.push(format!("{text:?}: want {category} {span:?}, found {got:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn phones_as_people_write_them_and_numbers_that_are_not_phones() {
    let d = PiiDetector::new("US").unwrap();
    let phone =
        |t: &str| found(&d, t).into_iter().filter(|(c, _)| c == "pii.phone").map(|(_, s)| s).collect::<Vec<_>>();
    let yes: &[(&str, &str)] = &[
        ("call me on 07700 900 123 tonight", "07700 900 123"),
        ("Fax: +46 (0)8 928 571 38", "+46 (0)8 928 571 38"),
        ("Mobile: 03.93.92.16.85", "03.93.92.16.85"),
        ("tel. 0490 75 40 81", "0490 75 40 81"),
        ("Desk: 345-899-3560x4587", "345-899-3560x4587"),
        ("phone (650) 253-0000 ext. 12", "(650) 253-0000 ext. 12"),
        ("office +44 20 7946 0958", "+44 20 7946 0958"),
        ("Telefon: 030 901820", "030 901820"),
        ("whatsapp 0033 6 12 34 56 78", "0033 6 12 34 56 78"),
        ("(37) 788-063 office", "(37) 788-063"),
        ("call 650-253-0000 24/7", "650-253-0000"),
        ("US number (650) 253-0000", "(650) 253-0000"),
        ("+1 650 253 0000", "+1 650 253 0000"),
        ("Legal EB 4861 (713) 853-7557 Phone", "(713) 853-7557"),
        ("Call-in: +1 650 253 0000, passcode: 4153030", "+1 650 253 0000"),
    ];
    let no: &[&str] = &[
        "order number 1234567890 shipped",
        "released on 2024-01-15 12:30",
        "the meeting is 12.03.2024 at 10:00",
        "ISBN 978-3-16-148410-0",
        "pi is 3.14159265358",
        "total 1 234 567 EUR",
        "version 10.15.7.2023",
        "5403926876",
        "the ids were 1234567 and 7654321",
        "invoice 0490 75 40 81",
        "coordinates 48.8584, 2.2945 and 1234567",
    ];
    let mut failures = Vec::new();
    for (text, want) in yes {
        let got = phone(text);
        if got != [*want] {
            failures.push(format!("{text:?}: want {want:?}, found {got:?}"));
        }
    }
    for text in no {
        let got = phone(text);
        if !got.is_empty() {
            failures.push(format!("{text:?}: want no phone, found {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn odd_input_never_panics_and_spans_stay_on_boundaries() {
    let d = PiiDetector::new("GB").unwrap();
    let mut texts: Vec<String> = vec![
        "9".repeat(10_000),
        format!("{}{}", "+".repeat(500), "1".repeat(40)),
        format!("{}0)8 928 571 38{}", "(".repeat(300), ")".repeat(300)),
        format!("{}{}", "call ".repeat(200), "0490 75 40 81 ".repeat(200)),
        "é1é2é3é4é5é6é7é8é9é0".repeat(50),
        "☎️ +٤٤ ٢٠ ٧٩٤٦ ٠٩٥٨ phone ０７７００ ９００ １２３".into(),
        format!("{}0x{}", "x".repeat(1000), "A".repeat(40)),
        "bc1".repeat(100),
        "Phone:\u{200b}07700\u{00a0}900\u{2009}123 ext.".into(),
        "1-2-3-4-5-6-7-8-9-0-1-2-3-4-5-6".into(),
        "00:11:22:33:44:55:66:77:88:99:aa:bb".into(),
        "NHS 943 476 5919 943 476 5919 943 476 5919 tel 943 476 5919".into(),
    ];
    texts.push(texts.concat());
    for t in &texts {
        for f in d.scan(t) {
            assert!(f.span.start < f.span.end && f.span.end <= t.len(), "{f:?}");
            assert!(t.is_char_boundary(f.span.start) && t.is_char_boundary(f.span.end), "{f:?}");
            assert!((0.0..=1.0).contains(&f.score));
        }
    }
}

/// Runs a table of (text, the spans of `category` it must hold) through the
/// whole detector; an empty list means the category must not fire.
fn spans_table(d: &PiiDetector, category: &str, table: &[(&str, &[&str])]) -> Vec<String> {
    let mut failures = Vec::new();
    for (text, want) in table {
        let got: Vec<String> = found(d, text).into_iter().filter(|(c, _)| c == category).map(|(_, s)| s).collect();
        if got != *want {
            failures.push(format!("{text:?}: want {category} {want:?}, found {got:?}"));
        }
    }
    failures
}

#[test]
fn domains_and_url_hosts_but_not_files_versions_abbreviations_or_addresses() {
    let d = PiiDetector::new("US").unwrap();
    let table: &[(&str, &[&str])] = &[
        ("see https://shop.example.co.uk/cart?id=4 now", &["shop.example.co.uk"]),
        ("visit www.example.org today", &["www.example.org"]),
        ("I bought it on amazon.com last week", &["amazon.com"]),
        ("Booking.com sent the invoice", &["Booking.com"]),
        ("the news at bbc.co.uk and spiegel.de", &["bbc.co.uk", "spiegel.de"]),
        ("my blog lives at jane-doe.github.io", &["jane-doe.github.io"]),
        ("docs are on docs.rs/regex", &["docs.rs"]),
        ("check out my website, janedoe.it", &["janedoe.it"]),
        ("ftp://files.example.net/pub", &["files.example.net"]),
        ("short links like bit.ly are everywhere", &["bit.ly"]),
        // Not domains: files, code, versions, abbreviations, e-mail.
        ("open report.pdf and main.rs", &[]),
        ("run setup.py, then edit README.md and build.sh", &[]),
        ("the config lives in src/lib.rs", &[]),
        ("upgrade to version 1.2.3 or v2.0.1-beta", &[]),
        ("fruit, e.g. apples, i.e. not pears", &[]),
        ("write to jane.doe@example.com", &[]),
        ("I did it.it was fine, ok.so what", &[]),
        ("call os.path.join and console.info(x)", &[]),
        ("self.name = user.email", &[]),
        ("ASP.NET and Node.js and Vue.js", &[]),
        ("the Acme.Company merger", &[]),
        ("pay 3.50 for 2.5kg", &[]),
    ];
    let failures = spans_table(&d, "pii.domain", table);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn dates_and_times_as_people_write_them_and_real_calendar_days_only() {
    let d = PiiDetector::new("US").unwrap();
    let table: &[(&str, &[&str])] = &[
        ("released on 2024-03-05T10:30:00Z", &["2024-03-05T10:30:00Z"]),
        ("due 2024/03/05", &["2024/03/05"]),
        ("paid on 05/03/2024 in full", &["05/03/2024"]),
        ("paid on 12/31/2023 in full", &["12/31/2023"]),
        ("Termin am 05.03.2024 um 14:30", &["05.03.2024 um 14:30"]),
        ("the meeting is on March 5th, 2024", &["March 5th, 2024"]),
        ("on the 5th of March we left", &["5th of March"]),
        ("am 5. März 2024 geht es los", &["5. März 2024"]),
        ("le 5 mars 2024", &["5 mars 2024"]),
        ("el 5 de marzo de 2024", &["5 de marzo de 2024"]),
        ("il 5 maggio 2024", &["5 maggio 2024"]),
        ("op 5 maart 2024", &["5 maart 2024"]),
        ("Mon, 5 Mar 2024 10:00 GMT", &["Mon, 5 Mar 2024 10:00 GMT"]),
        ("open Mon-Fri 9am-5pm", &["Mon-Fri 9am-5pm"]),
        ("from Monday to Friday", &["Monday to Friday"]),
        ("June 3-5 in Paris", &["June 3-5"]),
        ("3-5 June in Paris", &["3-5 June"]),
        ("see you at 10:30 pm", &["10:30 pm"]),
        ("wake me at 7am", &["7am"]),
        ("rendez-vous à 14h30", &["14h30"]),
        ("in March 2020 it started", &["March 2020"]),
        ("we moved in 1999 and stayed", &["1999"]),
        ("music of the 1990s", &["1990s"]),
        ("I served there from 2013-2015", &["2013-2015"]),
        ("we leave on the 6th of March.", &["6th of March"]),
        ("doors 19:30-23:00.", &["19:30-23:00"]),
        // Not dates.
        ("31 February 2024", &[]),
        ("29/02/2023", &[]),
        ("2023-02-29", &[]),
        ("13/13/2024", &[]),
        ("version 1.2.10 is out", &[]),
        ("the server 10.1.12.5 answered", &[]),
        ("you may 2 times", &[]),
        ("I march 10 miles a day", &[]),
        ("a ratio of 16:9", &[]),
        ("in 2000 rows of data", &[]),
        ("a half is 1/2 and 3/4 is more", &[]),
        ("Mars 2020 landed", &[]),
    ];
    let failures = spans_table(&d, "pii.date_time", table);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_date_near_a_birth_word_is_a_date_of_birth() {
    let d = PiiDetector::new("US").unwrap();
    let table: &[(&str, &[&str])] = &[
        ("Date of birth: 12/03/1985", &["12/03/1985"]),
        ("DOB 1985-03-12", &["1985-03-12"]),
        ("I was born on March 12, 1985 in Ohio", &["March 12, 1985"]),
        ("she was born in 1985", &["1985"]),
        ("my birthday is 12 March", &["12 March"]),
        ("geboren am 12.03.1985", &["12.03.1985"]),
        ("née le 12 mars 1985", &["12 mars 1985"]),
        ("nacido el 12 de marzo de 1985", &["12 de marzo de 1985"]),
        ("RAPHAEL born: April 6, 1483", &["April 6, 1483"]),
        // The word belongs to the first date after it.
        ("born 3 March 1990, moved 2 June 2010", &["3 March 1990"]),
        ("the meeting is on 12/03/2024", &[]),
        ("born at 10:30", &[]),
    ];
    let failures = spans_table(&d, "pii.date_of_birth", table);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn nationalities_religions_political_and_ethnic_groups_as_words_of_people() {
    let d = PiiDetector::new("US").unwrap();
    let table: &[(&str, &[&str])] = &[
        ("my neighbour is American", &["American"]),
        ("the Muslims and Catholics of the town", &["Muslims", "Catholics"]),
        ("a Roman Catholic priest", &["Roman Catholic"]),
        ("she votes Democrat, he is a Republican", &["Democrat", "Republican"]),
        ("a Buddhist monk and an atheist", &["Buddhist", "atheist"]),
        ("an African American family", &["African American"]),
        ("the Hispanic community", &["Hispanic"]),
        ("he is French and far-right", &["French", "far-right"]),
        ("Jehovah’s Witnesses came by", &["Jehovah’s Witnesses"]),
        ("JEWISH HOLIDAYS", &["JEWISH"]),
        // Not groups of people.
        ("catholic tastes and a democratic vote", &[]),
        ("polish the silver", &[]),
        ("French fries and Indian Ocean", &[]),
        ("I speak French and write in English", &[]),
        ("Your French is perfect; his English has improved", &[]),
        ("I teach him Spanish, and French movies", &[]),
        ("the Spanish translation and French-speaking staff", &[]),
        ("Americana and Democratization", &[]),
    ];
    let failures = spans_table(&d, "pii.nrp", table);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let msg = |t: &str| d.scan(t).into_iter().find(|f| f.category == "pii.nrp").map(|f| f.message).unwrap_or_default();
    assert!(msg("a Muslim woman").contains("GDPR Art. 9"), "{}", msg("a Muslim woman"));
    assert!(msg("a Democrat").contains("political"), "{}", msg("a Democrat"));
}

/// The identifiers of `ids_world.rs`, rows as in the table above: valid
/// numbers (published examples, or computed by the issuer's algorithm and
/// cross-checked with `python-stdnum` where it has the scheme), one
/// character changed, a wrong length, a structure the issuer never uses.
const WORLD_IDS: &[(&str, &[&str], &[&str])] = &[
    ("pii.ng_nin", &["21436587098", "70203141598"], &["21436587097", "2143658709", "00000000000"]),
    ("pii.ng_vehicle_registration", &["ABC-123DE", "KJA 456XY", "LND789AB"], &["ABC-000DE", "ABC-12DE", "AB-123DE"]),
    ("pii.ph_passport", &["EB1234567", "P1234567A"], &["EB123456", "P1234567", "EB1111111", "1B1234567"]),
    (
        "pii.ph_tin",
        &["123-456-782", "004-123-451-000", "004123451000", "101203408"],
        &["123-456-783", "004-123-45", "000-000-000"],
    ),
    ("pii.ph_umid", &["0111-2345678-9", "011123456789"], &["0111-234567-9", "0000-0000000-0"]),
    (
        "pii.za_id_number",
        &["7503305044089", "8001015009087", "9002150129085", "750330 5044 08 9"],
        &["7503305044088", "8503305044089", "750330504408", "7503305044386", "7503305044071", "7513305044088"],
    ),
    ("pii.za_traffic_register_number", &["1234567890123"], &["7503305044089", "123456789012", "0000000000000"]),
    (
        "pii.za_company_registration",
        &["2015/123456/07", "1999/012345/23", "CK1995/012345", "K2001/654321"],
        &["2015/12345/07", "2015/123456/7", "2115/123456/07", "1799/123456/07", "X2001/654321", "CK95/012345"],
    ),
    (
        "pii.za_driver_license",
        &["1234567890AB", "1234567A9B", "12345678901A"],
        &["123456AB", "123456A", "12345ABCDE", "1234567890", "12345678901234567AB"],
    ),
    (
        "pii.za_income_tax_number",
        &["0001339050", "2449494166", "2449/494/16/6", "084308984-8"],
        &["0001339051", "4001339052", "000133905", "5001339050"],
    ),
    ("pii.za_vat", &["4123456789"], &["5123456789", "412345678", "4444444444"]),
    (
        "pii.za_license_plate",
        &["KD93GKGP", "DK 28 LF GP", "GET 103 WP", "123 ABC EC", "CA123ZN"],
        &["123 ABC GP", "KD93GKXX", "12 34 GP", "1234 GP"],
    ),
    ("pii.za_passport", &["A12345678", "M00123456"], &["B12345678", "A1234567", "A11111111"]),
    (
        "pii.us_mbi",
        &["1EG4-TE5-MK73", "1EG4TE5MK73"],
        &["1EG4-TE5-MK7", "0EG4-TE5-MK73", "1SG4-TE5-MK73", "1EG4-TE5MK73", "1EG4TE5MKA3", "1EG4TE5MK7"],
    ),
    (
        "pii.us_npi",
        &["1234567893", "2453190995", "1234 567 893", "1234-567-893"],
        &["1234567894", "3234567899", "123456789", "1111111112"],
    ),
    (
        "pii.us_health_insurance_member_id",
        &["XYZ123456789", "W1234567", "ABCDE-12345678901234", "H12345"],
        &["XYZ", "ABCDEF", "H1234", "ABCDEF123456789012345", "ABCDEFG-12345", "Xyz123456"],
    ),
    (
        "pii.us_prior_authorization_number",
        &["987654321", "PA-987654321", "PA123456"],
        &["12345", "CLM-987654321", "1234567890123", "111111111"],
    ),
    (
        "pii.us_claim_number",
        &["123456789012345", "CLM-123456", "clm123456"],
        &["12345", "PA-123456", "1234567890123456"],
    ),
    ("pii.us_prescription_number", &["1234567", "RX-1234567", "Rx1234567"], &["12345", "CLM-1234567", "1234567890123"]),
    ("pii.us_referral_number", &["12345678", "REF-12345678", "INF-123456"], &["12345", "RX-12345678", "1234567890123"]),
    ("pii.us_ein", &["91-1144442", "04-2103594"], &["07-1144442", "91-114444", "00-1234567", "12-0000000"]),
];

/// Sentences through the whole detector, as in the table above.
const WORLD_SENTENCES: &[(&str, &str, Option<&str>)] = &[
    ("My NIN is 21436587098.", "pii.ng_nin", Some("21436587098")),
    ("ticket 21436587098", "pii.ng_nin", None),
    ("plate number KJA-456XY", "pii.ng_vehicle_registration", Some("KJA-456XY")),
    ("part KJA-456XY", "pii.ng_vehicle_registration", None),
    ("Philippine passport no. P1234567A", "pii.ph_passport", Some("P1234567A")),
    ("sku P1234567A", "pii.ph_passport", None),
    ("BIR TIN: 004-123-451-000", "pii.ph_tin", Some("004-123-451-000")),
    ("UMID CRN 0111-2345678-9", "pii.ph_umid", Some("0111-2345678-9")),
    ("0111-2345678-9", "pii.ph_umid", None),
    ("ID number: 7503305044089", "pii.za_id_number", Some("7503305044089")),
    ("barcode 7503305044089", "pii.za_id_number", None),
    ("750330 5044 08 9", "pii.za_id_number", Some("750330 5044 08 9")),
    ("traffic register number 1234567890123", "pii.za_traffic_register_number", Some("1234567890123")),
    ("traffic register number 7503305044089", "pii.za_traffic_register_number", None),
    ("Acme (Pty) Ltd, 2015/123456/07", "pii.za_company_registration", Some("2015/123456/07")),
    ("CIPC reg no CK1995/012345", "pii.za_company_registration", Some("CK1995/012345")),
    ("driving licence 1234567890AB", "pii.za_driver_license", Some("1234567890AB")),
    ("SARS tax reference 0001339050", "pii.za_income_tax_number", Some("0001339050")),
    ("0001339050", "pii.za_income_tax_number", None),
    ("VAT no. 4123456789", "pii.za_vat", Some("4123456789")),
    ("4123456789", "pii.za_vat", None),
    ("number plate DK 28 LF GP", "pii.za_license_plate", Some("DK 28 LF GP")),
    ("South African passport A12345678", "pii.za_passport", Some("A12345678")),
    ("passport A12345678", "pii.za_passport", None),
    ("Medicare number 1EG4-TE5-MK73", "pii.us_mbi", Some("1EG4-TE5-MK73")),
    ("1EG4-TE5-MK73", "pii.us_mbi", Some("1EG4-TE5-MK73")),
    ("NPI 1234567893", "pii.us_npi", Some("1234567893")),
    ("1234567893", "pii.us_npi", None),
    ("Member ID: XYZ123456789", "pii.us_health_insurance_member_id", Some("XYZ123456789")),
    ("order XYZ123456789", "pii.us_health_insurance_member_id", None),
    ("Prior authorization #: PA-987654321", "pii.us_prior_authorization_number", Some("PA-987654321")),
    ("claim number 123456789012", "pii.us_claim_number", Some("123456789012")),
    ("the claim that 1234567 people agree", "pii.us_claim_number", None),
    ("Rx# 1234567", "pii.us_prescription_number", Some("1234567")),
    ("referral number REF-12345678", "pii.us_referral_number", Some("REF-12345678")),
    ("billing provider EIN 91-1144442", "pii.us_ein", Some("91-1144442")),
    ("91-1144442", "pii.us_ein", None),
];

#[test]
fn south_african_phone_numbers_are_phones_not_a_category_of_their_own() {
    let us = PiiDetector::new("US").unwrap();
    let za = PiiDetector::new("ZA").unwrap();
    let phone = |d: &PiiDetector, t: &str| {
        found(d, t).into_iter().filter(|(c, _)| c == "pii.phone").map(|(_, s)| s).collect::<Vec<_>>()
    };
    assert_eq!(phone(&us, "call +27 82 123 4567"), ["+27 82 123 4567"]);
    assert_eq!(phone(&us, "office +27 21 460 9111"), ["+27 21 460 9111"]);
    assert_eq!(phone(&us, "cell 082 123 4567"), ["082 123 4567"]);
    assert_eq!(phone(&za, "082 123 4567"), ["082 123 4567"]);
    assert!(!found(&za, "082 123 4567").iter().any(|(c, _)| c.starts_with("pii.za_")));
}

/// The rows of `ids_more_eu.rs`. Valid numbers are the issuers' published
/// examples (KVNR `A000500015`, the Rentenversicherungsnummer `15070649C103`,
/// the specimen ID card `L01X00T47` and passport `C01X00T47` with their MRZ
/// digits, the specimen Führerschein `B072RRE2I55`, the DVLA's
/// `MORGA753116SM9IJ`) or computed by the issuer's algorithm and checked
/// with python-stdnum where it has the scheme (USt-IdNr, Steuernummer,
/// GSTIN, BRN, organisationsnummer, TC Kimlik).
const MORE_EU_IDS: &[IdRow] = &[
    ("pii.ca_postal_code", &["K1A 0B1", "K1A0B1", "M5V 3L9"], &["D1A 0B1", "W1A 0B1", "K1O 0B1", "K1A 0B"]),
    ("pii.de_bsnr", &["021234568", "721234567"], &["041234568", "02123456", "020000000"]),
    ("pii.de_lanr", &["123456601", "987654423"], &["123457601", "12345660", "111111101"]),
    ("pii.de_kvnr", &["A000500015", "M123456785", "Z987654321"], &["A000500016", "A00050001", "A000000002"]),
    (
        "pii.de_social_security",
        &["15070649C103", "65170839J003", "12251285M012", "65 170839 J 003"],
        &["15070649C104", "1507064C103", "15071349C103", "15320649C103"],
    ),
    (
        "pii.de_tax_number",
        &["181/815/08155", "12/345/67890", "93815/08152", "12/345/6789/0", "4151081508156", "5133081508159"],
        &["4151181508156", "1251081508156", "12/3456/7890", "181/81/508155", "415108150815"],
    ),
    (
        "pii.de_vat",
        &["DE136695976", "DE 136 695 976", "DE811128135", "136695976"],
        &["DE136695977", "DE13669597", "DE036695975", "136 695 976"],
    ),
    (
        "pii.de_identity_card",
        &["L01X00T47", "L01X00T471", "T22000129", "T220001293"],
        &["L01X00T472", "L01X00T4", "A01X00T47", "LFGHJKLMN"],
    ),
    ("pii.de_passport", &["C01X00T47", "C01X00T478"], &["C01X00T479", "C01X00T4", "CO1XOOT47"]),
    ("pii.de_driver_license", &["B072RRE2I55", "K12000AB121"], &["B072RRE2I65", "B072RRE2I5", "Q072RRE2I55"]),
    (
        "pii.de_vehicle_registration",
        &["B AB 1234", "M-XY 999", "HH-AB 1234E", "LÖ-AB 12", "KA EF 1H", "MIL E 1234E"],
        &["B AB 0123", "MIL AB 1234", "B AB 12345", "B ABC 123"],
    ),
    ("pii.de_postcode", &["10115", "01067", "99998"], &["00999", "99999", "1011", "101155"]),
    ("pii.de_commercial_register", &["HRB 12345", "HRA12345", "HRB 1"], &["HRC 12345", "HRB 0123", "HRB 1234567"]),
    (
        "pii.in_gstin",
        &["27AAPFU0939F1ZV", "29AAGCB7383J1Z4"],
        &["27AAPFU0939F1ZW", "27AAPFU0939F1Z", "40AAPFU0939F1Z7", "27AAPXU0939F1ZV", "27AAPFU0939F0ZV"],
    ),
    (
        "pii.kr_brn",
        &["116-81-13454", "1168113454", "220-81-01238"],
        &["116-81-13455", "116-81-1345", "100-81-13459", "104-81-00000", "116-00-13455"],
    ),
    (
        "pii.kr_driver_license",
        &["11-09-123456-12", "110912345612", "28 15 654321 07"],
        &["27-09-123456-12", "11-09-12345-12", "11-09-111111-12"],
    ),
    ("pii.kr_passport", &["M123A4567", "M12345678"], &["A123A4567", "M123A456", "M11111111"]),
    ("pii.es_passport", &["PAB123456", "XDA654321"], &["PA123456", "PAB12345", "PAB111111"]),
    (
        "pii.se_organisationsnummer",
        &["556036-0793", "5560360793", "202100-5489"],
        &["556036-0794", "556036-079", "811228-9874", "5560360794"],
    ),
    (
        "pii.tr_national_id",
        &["17291716060", "10000000146", "12345678950"],
        &["17291716061", "1729171606", "07291716092"],
    ),
    (
        "pii.tr_vehicle_registration",
        &["34 ABC 123", "06 A 1234", "35-JK-12", "34ABC123"],
        &["82 ABC 123", "34 QBC 123", "34 ABC123", "34 ABCD 123", "34 ABC 12345"],
    ),
    (
        "pii.uk_driver_license",
        &["MORGA753116SM9IJ", "JONES661124J99AB", "MORGA 753116 SM9IJ"],
        &["MORGA713116SM9IJ", "MORGA753326SM9IJ", "MORGA753116SM9I", "M9RGA753116SM9IJ", "MORGA 753116SM9IJ"],
    ),
    ("pii.uk_passport", &["AB1234567"], &["AB123456", "AB1111111", "A12345678"]),
    (
        "pii.uk_postcode",
        &["SW1A 1AA", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "GIR 0AA", "EC1A1BB"],
        &["QW1A 1AA", "SW1A 1AC", "SW1A 1A", "V1 1AA", "SW1A  1AA"],
    ),
    (
        "pii.uk_vehicle_registration",
        &["AB51 ABC", "BD51SMR", "A123 BCD", "ABC 123D"],
        &["AB31 ABC", "AB51 ABI", "QB51 ABC", "AB51 AB", "AB51 ABCD"],
    ),
];

const MORE_EU_SENTENCES: &[SentenceRow] = &[
    ("postal code K1A 0B1", "pii.ca_postal_code", Some("K1A 0B1")),
    ("part K1A 0B1", "pii.ca_postal_code", None),
    ("BSNR: 021234568", "pii.de_bsnr", Some("021234568")),
    ("LANR 123456601", "pii.de_lanr", Some("123456601")),
    ("Versichertennummer A000500015", "pii.de_kvnr", Some("A000500015")),
    ("A000500015", "pii.de_kvnr", None),
    ("Rentenversicherungsnummer 15070649C103", "pii.de_social_security", Some("15070649C103")),
    ("15070649C103", "pii.de_social_security", Some("15070649C103")),
    ("Steuernummer: 181/815/08155", "pii.de_tax_number", Some("181/815/08155")),
    ("181/815/08155", "pii.de_tax_number", None),
    ("USt-IdNr.: DE136695976", "pii.de_vat", Some("DE136695976")),
    ("Rechnung DE 136 695 976", "pii.de_vat", Some("DE 136 695 976")),
    ("USt-IdNr. 136695976", "pii.de_vat", Some("136695976")),
    ("136695976", "pii.de_vat", None),
    ("Personalausweis L01X00T47", "pii.de_identity_card", Some("L01X00T47")),
    ("L01X00T47", "pii.de_identity_card", None),
    ("Reisepass C01X00T47", "pii.de_passport", Some("C01X00T47")),
    ("Führerschein B072RRE2I55", "pii.de_driver_license", Some("B072RRE2I55")),
    ("B072RRE2I55", "pii.de_driver_license", None),
    ("Kennzeichen M-XY 999", "pii.de_vehicle_registration", Some("M-XY 999")),
    ("USE IT 5", "pii.de_vehicle_registration", None),
    ("PLZ 10115 Berlin", "pii.de_postcode", Some("10115")),
    ("we sold 10115 units", "pii.de_postcode", None),
    ("Amtsgericht München HRB 12345", "pii.de_commercial_register", Some("HRB 12345")),
    ("GSTIN 27AAPFU0939F1ZV", "pii.in_gstin", Some("27AAPFU0939F1ZV")),
    ("27AAPFU0939F1ZV", "pii.in_gstin", Some("27AAPFU0939F1ZV")),
    ("사업자등록번호 116-81-13454", "pii.kr_brn", Some("116-81-13454")),
    ("BRN 1168113454", "pii.kr_brn", Some("1168113454")),
    ("1168113454", "pii.kr_brn", None),
    ("운전면허번호 11-09-123456-12", "pii.kr_driver_license", Some("11-09-123456-12")),
    ("여권번호 M123A4567", "pii.kr_passport", Some("M123A4567")),
    ("número de pasaporte PAB123456", "pii.es_passport", Some("PAB123456")),
    ("PAB123456", "pii.es_passport", None),
    ("org.nr 556036-0793", "pii.se_organisationsnummer", Some("556036-0793")),
    ("TC Kimlik No: 17291716060", "pii.tr_national_id", Some("17291716060")),
    ("17291716060", "pii.tr_national_id", None),
    ("plaka 34 ABC 123", "pii.tr_vehicle_registration", Some("34 ABC 123")),
    ("see you at 10 AM 2024", "pii.tr_vehicle_registration", None),
    ("licence MORGA753116SM9IJ", "pii.uk_driver_license", Some("MORGA753116SM9IJ")),
    ("UK passport AB1234567", "pii.uk_passport", Some("AB1234567")),
    ("AB1234567", "pii.uk_passport", None),
    ("postcode SW1A 1AA", "pii.uk_postcode", Some("SW1A 1AA")),
    ("reg AB51 ABC", "pii.uk_vehicle_registration", Some("AB51 ABC")),
    ("the A320 NEO flew", "pii.uk_vehicle_registration", None),
];
