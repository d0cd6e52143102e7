//! SQL text built safely: the one quoting function (`lit`) and [`Sql`],
//! a fragment that can only be made from text written in bd's source and
//! values quoted by `lit`, so a value from a user, a file or a peer can
//! never become SQL by being spliced in unquoted.
//!
//! Statements are written with the `sql!` template, whose holes take
//! [`ToSql`] values (text is quoted, numbers are written as numbers, `None`
//! is `NULL`, other fragments go in as they are); names that arrive at run
//! time (a column read from dolt or a JSONL file) go through
//! [`Sql::ident`]. This module owns the quoting and the fragment type; what
//! the statements say belongs to the modules that write them (the
//! tracker's, federation's, `doctor`'s), and running them to
//! [`crate::dolt`], whose runner takes only [`Sql`].

use std::borrow::Cow;
use std::fmt;

use serde_json::Value;

use crate::dolt::Row;

/// Builds an [`Sql`] from a template written in the source and one
/// [`ToSql`] value per `{}` hole: `sql!("SELECT * FROM issues WHERE id = {}",
/// id)` quotes `id`. A wrong number of values, or a hole that names a
/// variable, does not compile.
macro_rules! sql {
    ($template:literal $(, $arg:expr)* $(,)?) => {{
        const HOLES: usize = $crate::tracker::sql::holes($template);
        let args: [&dyn $crate::tracker::sql::ToSql; HOLES] = [$(&$arg),*];
        $crate::tracker::sql::Sql::fill($template, &args)
    }};
}

pub(crate) use sql;

/// A `MySQL` string literal for `value`, with quotes, backslashes and control
/// characters escaped: the one place bd quotes a value for SQL. Everything
/// outside this module quotes through [`ToSql`].
#[must_use]
fn lit(value: &str) -> String {
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

/// A piece of SQL that is safe to run: made only of text written in bd's
/// source ([`Sql::raw`], the `sql!` template), values quoted by `lit` and
/// names quoted by [`Sql::ident`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sql(Cow<'static, str>);

impl Sql {
    /// Text written in bd's source (`'static`, so it cannot be a value
    /// that arrived at run time).
    #[must_use]
    pub const fn raw(text: &'static str) -> Self {
        Self(Cow::Borrowed(text))
    }

    /// A quoted identifier: a name that arrived at run time (a column read
    /// from dolt or a JSONL file, a table a peer's rows name).
    #[must_use]
    pub fn ident(name: &str) -> Self {
        Self(Cow::Owned(format!("`{}`", name.replace('`', "``"))))
    }

    /// The fragments with `separator` between them.
    #[must_use]
    pub fn join(parts: impl IntoIterator<Item = Sql>, separator: &'static str) -> Self {
        let mut out = String::new();
        for (i, part) in parts.into_iter().enumerate() {
            if i > 0 {
                out.push_str(separator);
            }
            out.push_str(part.as_str());
        }
        Self(Cow::Owned(out))
    }

    /// Appends another fragment.
    pub fn push(&mut self, more: &Sql) {
        self.0.to_mut().push_str(more.as_str());
    }

    /// One `INSERT` per row, with the columns the row has (a row read from
    /// dolt, or checked from a JSONL line: its column names are quoted).
    #[must_use]
    pub fn inserts(table: &'static str, rows: &[Row]) -> Self {
        let mut out = Sql::default();
        for row in rows {
            let names = Sql::join(row.keys().map(|c| Sql::ident(c)), ", ");
            let values = Sql::join(row.values().map(ToSql::to_sql), ", ");
            out.push(&sql!("INSERT INTO {} ({}) VALUES ({});\n", Sql::raw(table), names, values));
        }
        out
    }

    /// The text, for the runner.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it is empty (a plan with nothing to do).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Fills the `{}` holes of `template` with `args`, in order (what
    /// `sql!` expands to; it checks the count when it compiles).
    #[doc(hidden)]
    #[must_use]
    pub fn fill(template: &'static str, args: &[&dyn ToSql]) -> Self {
        let mut out = String::with_capacity(template.len() + 16 * args.len());
        let mut args = args.iter();
        let mut pieces = template.split("{}");
        if let Some(first) = pieces.next() {
            out.push_str(first);
        }
        for piece in pieces {
            if let Some(arg) = args.next() {
                out.push_str(arg.to_sql().as_str());
            }
            out.push_str(piece);
        }
        Self(Cow::Owned(out))
    }
}

impl fmt::Display for Sql {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A value that a hole of `sql!` takes.
pub trait ToSql {
    /// The value as SQL.
    fn to_sql(&self) -> Sql;
}

impl ToSql for Sql {
    fn to_sql(&self) -> Sql {
        self.clone()
    }
}

/// Text is a value: quoted.
impl ToSql for str {
    fn to_sql(&self) -> Sql {
        Sql(Cow::Owned(lit(self)))
    }
}

impl ToSql for String {
    fn to_sql(&self) -> Sql {
        self.as_str().to_sql()
    }
}

/// A value read from dolt or a JSONL line: text quoted, numbers as they
/// are, booleans as `1`/`0`, JSON `null` as `NULL`, arrays and objects as
/// their JSON text.
impl ToSql for Value {
    fn to_sql(&self) -> Sql {
        match self {
            Value::Null => Sql::raw("NULL"),
            Value::String(s) => s.to_sql(),
            Value::Bool(b) => Sql::raw(if *b { "1" } else { "0" }),
            Value::Number(n) => Sql(Cow::Owned(n.to_string())),
            other => other.to_string().to_sql(),
        }
    }
}

/// `None` is `NULL`.
impl<T: ToSql> ToSql for Option<T> {
    fn to_sql(&self) -> Sql {
        self.as_ref().map_or(Sql::raw("NULL"), T::to_sql)
    }
}

impl<T: ToSql + ?Sized> ToSql for &T {
    fn to_sql(&self) -> Sql {
        (**self).to_sql()
    }
}

macro_rules! numbers {
    ($($ty:ty),*) => {$(
        impl ToSql for $ty {
            fn to_sql(&self) -> Sql {
                Sql(Cow::Owned(self.to_string()))
            }
        }
    )*};
}

numbers!(i64, u32, u64, usize);

/// The number of `{}` holes in a `sql!` template. Any other brace stops
/// the build: `{name}` would splice `name` in unquoted.
#[doc(hidden)]
#[must_use]
pub const fn holes(template: &str) -> usize {
    let bytes = template.as_bytes();
    let (mut i, mut n) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'{' if i + 1 < bytes.len() && bytes[i + 1] == b'}' => {
                n += 1;
                i += 1;
            }
            b'{' | b'}' => panic!(
                "a sql! template holds braces only as empty pairs, its holes: a named hole would splice a value in unquoted"
            ),
            _ => {}
        }
        i += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        assert_eq!(lit("it's a \\ test\n"), "'it\\'s a \\\\ test\\n'");
        assert_eq!(None::<&str>.to_sql().as_str(), "NULL");
    }

    #[test]
    fn the_template_quotes_text_and_keeps_fragments() {
        let title = "x'); DROP TABLE issues; --";
        let q = sql!("SELECT {} FROM issues WHERE title = {} LIMIT {}", Sql::raw("id"), title, 3usize);
        assert_eq!(q.as_str(), "SELECT id FROM issues WHERE title = 'x\\'); DROP TABLE issues; --' LIMIT 3");
        assert_eq!(sql!("SELECT 1").as_str(), "SELECT 1");
        assert_eq!(Sql::ident("a`b").as_str(), "`a``b`");
        assert_eq!(Sql::join([Sql::raw("a"), "b".to_sql()], ", ").as_str(), "a, 'b'");
    }

    #[test]
    fn holes_are_counted_and_named_holes_refused() {
        assert_eq!(holes("a {} b {}"), 2);
        assert!(std::panic::catch_unwind(|| holes("a {name}")).is_err());
    }
}
