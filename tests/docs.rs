//! The reference in `docs/` stays true to the code: every setting `Config`
//! has is in the configuration table of `docs/configuration.md` and every key
//! there is a setting; every metric `telemetry` registers (`warden_*`,
//! `grpc_server_*`) is in the metrics table and every metric named there
//! exists; every personal-data category
//! the `pii` detector reports is in `docs/detection.md` and no other is.

use std::collections::BTreeSet;

fn doc(name: &str) -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/").to_string() + name).unwrap()
}

/// The backticked names in the first cell of each row of the table that
/// follows `heading`.
fn first_cells(text: &str, heading: &str) -> BTreeSet<String> {
    let section = text.split(heading).nth(1).unwrap_or_else(|| panic!("no {heading}"));
    let section = section.split("\n## ").next().unwrap();
    let mut out = BTreeSet::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cell = line.split('|').nth(1).unwrap();
        for (i, part) in cell.split('`').enumerate() {
            if i % 2 == 1 {
                out.insert(part.to_string());
            }
        }
    }
    out
}

/// Dotted paths of every setting: objects are descended into, anything else
/// (numbers, strings, lists, empty maps, `null` for an unset option) is one
/// setting.
fn settings(value: &serde_json::Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                settings(v, &path, out);
            }
        }
        _ => {
            out.insert(prefix.to_string());
        }
    }
}

#[test]
fn every_setting_is_documented_and_every_documented_key_exists() {
    let value = serde_json::to_value(warden::config::Config::default()).unwrap();
    let mut actual = BTreeSet::new();
    settings(&value, "", &mut actual);
    let documented = first_cells(&doc("configuration.md"), "## Configuration");
    // A row may document a group (`auth.tokens` covers its fields).
    let covered = |key: &str| documented.iter().any(|d| key == d || key.starts_with(&format!("{d}.")));
    let missing: Vec<&String> = actual.iter().filter(|k| !covered(k)).collect();
    assert!(missing.is_empty(), "settings missing from docs/configuration.md: {missing:?}");
    let exists = |d: &str| actual.iter().any(|k| k == d || k.starts_with(&format!("{d}.")));
    let stale: Vec<&String> = documented.iter().filter(|d| !exists(d)).collect();
    assert!(stale.is_empty(), "docs/configuration.md documents settings that do not exist: {stale:?}");
}

#[test]
fn every_metric_is_documented_and_every_documented_metric_exists() {
    let source = include_str!("../src/telemetry.rs");
    // Warden's own metrics and the gRPC ones the server layer counts; the
    // `process_*` ones come from metrics-process.
    let actual: BTreeSet<String> = source
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub const ")?.split_once(": &str = \""))
        .filter_map(|(_, rest)| rest.split('"').next())
        .filter(|name| name.starts_with("warden_") || name.starts_with("grpc_server_"))
        .map(String::from)
        .collect();
    assert!(actual.len() > 30, "metric names were read: {actual:?}");
    assert!(actual.contains("grpc_server_handled_total"), "{actual:?}");
    let documented: BTreeSet<String> = first_cells(&doc("configuration.md"), "## Metrics")
        .into_iter()
        .filter(|n| n.starts_with("warden_") || n.starts_with("grpc_server_"))
        .collect();
    let missing: Vec<&String> = actual.difference(&documented).collect();
    assert!(missing.is_empty(), "metrics missing from docs/configuration.md: {missing:?}");
    let stale: Vec<&String> = documented.difference(&actual).collect();
    assert!(stale.is_empty(), "docs/configuration.md lists metrics that do not exist: {stale:?}");
}

#[test]
fn every_personal_data_category_is_documented_and_every_documented_one_exists() {
    let actual: BTreeSet<String> = warden::detect::pii::categories().into_iter().map(String::from).collect();
    let documented: BTreeSet<String> = first_cells(&doc("detection.md"), "## Personal-data categories")
        .into_iter()
        .filter(|n| n.starts_with("pii."))
        .collect();
    let missing: Vec<&String> = actual.difference(&documented).collect();
    assert!(missing.is_empty(), "categories missing from docs/detection.md: {missing:?}");
    let stale: Vec<&String> = documented.difference(&actual).collect();
    assert!(stale.is_empty(), "docs/detection.md lists categories the detector does not report: {stale:?}");
}
