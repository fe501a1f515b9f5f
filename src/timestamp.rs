//! Times, one way. A domain time is an `OffsetDateTime` in UTC; records,
//! reports and the console write it as RFC 3339 ([`format`]); people and
//! clients may give RFC 3339 or a bare date ([`parse`]); the log's index
//! counts unix nanoseconds ([`format_nanos`] turns one back into text).
//! Protobuf `Timestamp`s are the transport's and are converted in `server/`.

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// RFC 3339, or a bare date (midnight UTC); the result is in UTC.
pub fn parse(s: &str) -> Result<OffsetDateTime, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("is required (RFC 3339 or a date such as 2026-11-01)".into());
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t.to_offset(UtcOffset::UTC));
    }
    let date = time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| format!("{s:?} is neither RFC 3339 nor a date such as 2026-11-01"))?;
    Ok(date.midnight().assume_utc())
}

/// RFC 3339 in UTC (`2026-11-01T09:00:00Z`).
pub fn format(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC).format(&Rfc3339).unwrap_or_default()
}

/// [`format`] of a time in unix nanoseconds; empty when out of range.
pub fn format_nanos(nanos: i128) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(nanos).map(format).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3339_and_dates_into_utc() {
        assert_eq!(format(parse("2026-11-01T10:00:00+01:00").unwrap()), "2026-11-01T09:00:00Z");
        assert_eq!(format(parse(" 2026-11-01 ").unwrap()), "2026-11-01T00:00:00Z");
        assert!(parse("").unwrap_err().contains("required"));
        assert!(parse("yesterday").unwrap_err().contains("neither RFC 3339 nor a date"));
    }

    #[test]
    fn nanos_round_trip_and_out_of_range_is_empty() {
        let t = parse("2026-11-01T09:00:00.5Z").unwrap();
        assert_eq!(format_nanos(t.unix_timestamp_nanos()), "2026-11-01T09:00:00.5Z");
        assert_eq!(format_nanos(i128::MAX), "");
    }
}
