//! What every string that reaches the audit journal must satisfy, checked
//! once at the boundary, and JSON nesting kept bounded for every reader.
//!
//! The journal ships to stores that refuse some bytes: PostgreSQL's `text`
//! and `jsonb` cannot hold NUL (U+0000), not even as `\u0000` in JSON. A
//! record one store refuses would wedge its shipper, so such a string never
//! becomes a record: the request fails with `INVALID_ARGUMENT` naming the
//! field. Identifiers (tenants, sessions, tools, kinds, label keys) end up
//! in index columns, log lines and console pages, so they refuse every C0
//! control character except tab, line feed and carriage return too.
//!
//! JSON is bounded in depth as well as size: serde_json reads at most 128
//! levels into a `Value`, and every reader of the log does that. Records
//! written before the bound existed may be deeper; [`fold_deep`] makes them
//! readable without recursion.

use crate::error::Error;

/// The deepest JSON a reader parses into a `Value` as it stands (serde_json
/// stops at 128 levels); deeper parts are read as their raw text.
pub const READ_DEPTH: usize = 100;

/// The deepest `limits.max_json_depth` may be: a client's JSON sits two
/// levels down in its record, which must stay within [`READ_DEPTH`].
pub const MAX_JSON_DEPTH: usize = READ_DEPTH - 4;

/// The earliest and latest instants a `google.protobuf.Timestamp` may hold
/// (0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z), as the proto documents.
const TIMESTAMP_SECONDS: std::ops::RangeInclusive<i64> = -62_135_596_800..=253_402_300_799;

/// An identifier: no NUL and no other C0 control character but `\t`, `\n`
/// and `\r`.
pub fn identifier(field: &str, value: &str) -> Result<(), Error> {
    text(field, value)?;
    match value.chars().find(|&c| c < ' ' && !matches!(c, '\t' | '\n' | '\r')) {
        Some(c) => Err(Error::invalid(
            field,
            &format!("contains the control character U+{:04X}, which an identifier may not hold", c as u32),
        )),
        None => Ok(()),
    }
}

/// Free text: anything but NUL.
pub fn text(field: &str, value: &str) -> Result<(), Error> {
    if value.contains('\0') {
        return Err(nul(field));
    }
    Ok(())
}

fn nul(field: &str) -> Error {
    Error::invalid(field, "contains a NUL character (U+0000), which the audit stores cannot hold")
}

/// A JSON document given as a string: valid, at most `max_depth` levels
/// deep, and with no NUL in any key or string (`\u0000` is valid JSON that
/// PostgreSQL's `jsonb` refuses). Returns the parsed value.
pub fn json(field: &str, value: &str, max_depth: usize) -> Result<serde_json::Value, Error> {
    // Measured on the text before parsing, so any depth costs one pass and
    // no stack.
    let depth = nesting_depth(value);
    if depth > max_depth {
        return Err(Error::invalid(field, &format!("nests {depth} levels deep, more than the limit of {max_depth}")));
    }
    let parsed: serde_json::Value =
        serde_json::from_str(value).map_err(|e| Error::invalid(field, &format!("is not valid JSON: {e}")))?;
    if holds_nul(&parsed) {
        return Err(nul(field));
    }
    Ok(parsed)
}

fn holds_nul(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(holds_nul),
        serde_json::Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

/// A `google.protobuf.Timestamp` as the proto defines it: `nanos` in
/// 0..=999,999,999 and the instant within the years 1 to 9999.
pub fn timestamp(field: &str, seconds: i64, nanos: i32) -> Result<time::OffsetDateTime, Error> {
    if !(0..=999_999_999).contains(&nanos) {
        return Err(Error::invalid(field, &format!("has nanos {nanos}, outside 0 to 999999999")));
    }
    if !TIMESTAMP_SECONDS.contains(&seconds) {
        return Err(Error::invalid(field, &format!("has seconds {seconds}, outside the years 1 to 9999")));
    }
    time::OffsetDateTime::from_unix_timestamp_nanos(seconds as i128 * 1_000_000_000 + nanos as i128)
        .map_err(|_| Error::invalid(field, "is not a valid timestamp"))
}

/// The brackets of `json` that open or close an array or object (those
/// outside strings), with their byte offsets. Works on invalid JSON too.
fn brackets(json: &str) -> impl Iterator<Item = (usize, u8)> + '_ {
    let (mut in_string, mut escaped) = (false, false);
    json.bytes().enumerate().filter(move |&(_, b)| {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            return false;
        }
        in_string = b == b'"';
        matches!(b, b'[' | b'{' | b']' | b'}')
    })
}

/// How deeply arrays and objects nest in `json` (0 for a scalar), counted
/// without parsing, so it works for any depth and for invalid JSON.
pub fn nesting_depth(json: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for (_, b) in brackets(json) {
        if matches!(b, b'[' | b'{') {
            depth += 1;
            deepest = deepest.max(depth);
        } else {
            depth = depth.saturating_sub(1);
        }
    }
    deepest
}

/// `json` with every array or object that begins below `max_depth` levels
/// replaced by a JSON string holding its raw text, or `None` when nothing is
/// that deep. The result nests at most `max_depth` levels, so serde_json
/// reads it into a `Value`, and walks, prints and drops that value, without
/// deep recursion. The content is kept (as text); only its shape changes.
pub fn fold_deep(json: &str, max_depth: usize) -> Option<String> {
    if nesting_depth(json) <= max_depth {
        return None;
    }
    let mut out = String::with_capacity(json.len() + 64);
    let mut depth = 0usize;
    // Start of the container being folded and the depth it opened at.
    let mut fold: Option<(usize, usize)> = None;
    let mut copied = 0;
    for (i, b) in brackets(json) {
        if matches!(b, b'[' | b'{') {
            depth += 1;
            if depth > max_depth && fold.is_none() {
                out.push_str(&json[copied..i]);
                fold = Some((i, depth));
            }
        } else {
            if let Some((start, at)) = fold {
                if depth == at {
                    let raw = &json[start..=i];
                    out.push_str(&serde_json::Value::String(raw.to_string()).to_string());
                    copied = i + 1;
                    fold = None;
                }
            }
            depth = depth.saturating_sub(1);
        }
    }
    out.push_str(&json[copied..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> String {
        format!("{}{}", r#"{"a":"#.repeat(levels) + "1", "}".repeat(levels))
    }

    #[test]
    fn identifiers_refuse_controls_and_text_refuses_nul() {
        assert!(identifier("f", "acme-1 tab\there").is_ok());
        assert!(identifier("f", "a\u{1}b").unwrap_err().to_string().contains("U+0001"));
        assert!(identifier("f", "a\0b").unwrap_err().to_string().contains("NUL"));
        assert!(text("f", "line\u{1b}[31m escape is text").is_ok());
        assert!(text("f", "a\0b").is_err());
    }

    #[test]
    fn json_is_bounded_in_depth_and_free_of_nul() {
        assert!(json("f", &nested(64), 64).is_ok());
        let deep = json("f", &nested(65), 64).unwrap_err().to_string();
        assert!(deep.contains("65 levels"), "{deep}");
        // A million levels cost one pass, no stack.
        assert!(json("f", &nested(1_000_000), 64).is_err());
        assert!(json("f", r#"{"k":"a\u0000b"}"#, 64).unwrap_err().to_string().contains("NUL"));
        assert!(json("f", r#"{"a\u0000":1}"#, 64).is_err());
        // An escaped backslash before u0000 is no NUL.
        assert!(json("f", r#"{"k":"\\u0000"}"#, 64).is_ok());
        // Brackets inside strings do not count.
        assert_eq!(nesting_depth(r#"{"k":"[[[[{{{\"]]"}"#), 1);
    }

    #[test]
    fn timestamps_follow_the_proto() {
        assert!(timestamp("t", 1_700_000_000, 999_999_999).is_ok());
        assert!(timestamp("t", 1_700_000_000, 1_000_000_000).is_err());
        assert!(timestamp("t", 1_700_000_000, -1).is_err());
        assert!(timestamp("t", i64::MAX, 0).is_err());
        assert!(timestamp("t", -62_135_596_801, 0).is_err());
    }

    #[test]
    fn folding_keeps_content_and_bounds_depth() {
        assert_eq!(fold_deep(&nested(3), 3), None);
        let deep = format!(r#"{{"x":[1,"]"],"deep":{}}}"#, nested(300));
        let folded = fold_deep(&deep, 10).unwrap();
        assert!(nesting_depth(&folded) <= 10);
        let v: serde_json::Value = serde_json::from_str(&folded).unwrap();
        assert_eq!(v["x"][1], "]");
        // The folded part is the raw text it replaced.
        let mut inner = &v["deep"];
        for _ in 0..9 {
            inner = &inner["a"];
        }
        assert_eq!(inner.as_str().unwrap(), nested(291));
        assert!(fold_deep(&nested(1_000_000), 100).is_some());
    }
}
