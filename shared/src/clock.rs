//! Timestamps: UTC, microsecond precision, one format in the database
//! (`YYYY-MM-DD HH:MM:SS.ffffff`) and RFC 3339 in output.

use std::time::SystemTime;

/// Now, in the database's DATETIME(6) format.
#[must_use]
pub fn now_sql() -> String {
    to_sql(SystemTime::now())
}

/// A time in the database's DATETIME(6) format.
#[must_use]
pub fn to_sql(time: SystemTime) -> String {
    let rfc = humantime::format_rfc3339_micros(time).to_string();
    rfc.trim_end_matches('Z').replacen('T', " ", 1)
}

/// Converts a database DATETIME (`2026-01-02 03:04:05.123456`) to RFC 3339
/// (`2026-01-02T03:04:05.123456Z`); other text is returned unchanged.
#[must_use]
pub fn sql_to_rfc3339(value: &str) -> String {
    if value.len() >= 19 && value.as_bytes()[10] == b' ' {
        format!("{}T{}Z", &value[..10], &value[11..])
    } else {
        value.to_owned()
    }
}

/// Parses an RFC 3339 or DATETIME text into a time. RFC 3339 may carry a
/// numeric offset (`+01:00`), as Go writes local times; DATETIME is UTC.
#[must_use]
pub fn parse(value: &str) -> Option<SystemTime> {
    if let Some((local, east)) = offset(value) {
        let utc = humantime::parse_rfc3339_weak(&format!("{local}Z")).ok()?;
        return if east >= 0 {
            utc.checked_sub(std::time::Duration::from_secs(east.unsigned_abs()))
        } else {
            utc.checked_add(std::time::Duration::from_secs(east.unsigned_abs()))
        };
    }
    let rfc = if value.ends_with('Z') { value.to_owned() } else { format!("{}Z", value.replacen(' ', "T", 1)) };
    humantime::parse_rfc3339_weak(&rfc).ok()
}

/// Splits `2026-01-02T03:04:05+01:00` into the local time and the offset
/// east of UTC in seconds; `None` when the text ends in no offset.
fn offset(value: &str) -> Option<(&str, i64)> {
    let split = value.len().checked_sub(6)?;
    let (local, zone) = (value.get(..split)?, value.get(split..)?);
    let sign = match zone.as_bytes() {
        [b'+', _, _, b':', _, _] => 1,
        [b'-', _, _, b':', _, _] => -1,
        _ => return None,
    };
    if !local.contains('T') {
        return None;
    }
    let hours: i64 = zone.get(1..3)?.parse().ok()?;
    let minutes: i64 = zone.get(4..6)?.parse().ok()?;
    Some((local, sign * (hours * 3600 + minutes * 60)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_and_rfc3339_round_trip() {
        let t = parse("2026-11-28T13:37:46.123456Z").expect("parse");
        assert_eq!(to_sql(t), "2026-11-28 13:37:46.123456");
        assert_eq!(sql_to_rfc3339("2026-11-28 13:37:46.123456"), "2026-11-28T13:37:46.123456Z");
        assert_eq!(parse("2026-11-28 13:37:46.123456"), Some(t));
        assert_eq!(parse("2026-11-28T14:37:46.123456+01:00"), Some(t), "Go writes local times with an offset");
        assert_eq!(
            parse("2026-11-28T12:37:46.123456789-01:00").map(to_sql).as_deref(),
            Some("2026-11-28 13:37:46.123456")
        );
        assert_eq!(parse("2026-11-28 13:37:46-01:00"), None);
    }
}
