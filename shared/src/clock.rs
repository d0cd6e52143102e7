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

/// Parses an RFC 3339 or DATETIME text into a time.
#[must_use]
pub fn parse(value: &str) -> Option<SystemTime> {
    let rfc = if value.ends_with('Z') { value.to_owned() } else { format!("{}Z", value.replacen(' ', "T", 1)) };
    humantime::parse_rfc3339_weak(&rfc).ok()
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
    }
}
