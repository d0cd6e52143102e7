//! Building SQL text safely: every user value goes through [`lit`].

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        assert_eq!(lit("it's a \\ test\n"), "'it\\'s a \\\\ test\\n'");
        assert_eq!(opt(None), "NULL");
    }
}
