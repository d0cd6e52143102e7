//! Building SQL text safely: every user value goes through [`lit`].

use std::fmt::Write as _;

use serde_json::Value;

use crate::dolt::Row;

/// A `MySQL` string literal for `value`, with quotes, backslashes and control
/// characters escaped.
#[must_use]
pub fn lit(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            '\u{1a}' => out.push_str("\\Z"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A literal, or `NULL` for `None`.
#[must_use]
pub fn opt(value: Option<&str>) -> String {
    value.map_or_else(|| "NULL".to_owned(), lit)
}

/// A SQL literal for a value read with `dolt sql -r json` (absent = NULL).
#[must_use]
pub fn json_literal(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "NULL".to_owned(),
        Some(Value::String(s)) => lit(s),
        Some(Value::Bool(b)) => if *b { "1" } else { "0" }.to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => lit(&other.to_string()),
    }
}

/// Appends one `INSERT` per row (columns as the row has them).
pub fn inserts(out: &mut String, table: &str, rows: &[Row]) {
    for row in rows {
        // Column names may come from a JSONL file: escape them as identifiers.
        let names: Vec<String> = row.keys().map(|c| format!("`{}`", c.replace('`', "``"))).collect();
        let values: Vec<String> = row.values().map(|v| json_literal(Some(v))).collect();
        let _ = writeln!(out, "INSERT INTO {table} ({}) VALUES ({});", names.join(", "), values.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        assert_eq!(lit("it's a \\ test\n"), "'it\\'s a \\\\ test\\n'");
        assert_eq!(opt(None), "NULL");
    }
}
