//! The rules every value bd writes follows, in one place: the column
//! limits come from the schema itself ([`schema::SCHEMA`]), so a command's
//! input, an imported JSONL line and the database can never disagree about
//! what fits. Commands check their input here before the first statement
//! runs; nothing too long ever reaches dolt as SQL. Quoting what passes is
//! [`super::sql`]'s.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde_json::Value;

use super::schema;
use crate::clock;
use crate::error::{self, UserError};

/// Checks one piece of a command's input (`what` names it as the user gave
/// it: "title", "label", "--assignee") against the column it is stored in.
pub fn fits(table: &str, column: &str, what: &str, value: &str) -> Result<(), UserError> {
    let Some(col) = schema_columns(table).iter().find(|c| c.name == column) else {
        return Ok(());
    };
    let (len, max, unit) = match col.ty {
        Type::Varchar(max) => (value.chars().count(), max, "characters"),
        Type::Text => (value.len(), TEXT_BYTES, "bytes"),
        Type::Int | Type::DateTime | Type::Json => return Ok(()),
    };
    if len <= max {
        return Ok(());
    }
    let article = if what.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    Err(UserError::usage(format!(
        "the {what} {} is too long: it is {len} {unit}, and {article} {what} holds at most {max} {unit}",
        error::quoted(value)
    ))
    .with_hint(format!("shorten the {what} to at most {max} {unit}; nothing was written")))
}

/// Checks an issue id given on the command line (the rule ids follow
/// everywhere, see `check_id`).
pub fn id(value: &str) -> Result<(), UserError> {
    check_id(value).map(drop).map_err(|p| UserError::usage(p.to_string()).with_hint("give an id as `bd list` shows it"))
}

/// Checks what a dependency given on the command line points at: an issue
/// id, or another project's capability as beads writes it,
/// `external:PROJECT:CAPABILITY` (each part as an id is written).
pub fn dependency_target(value: &str) -> Result<(), UserError> {
    let Some(rest) = value.strip_prefix("external:") else { return id(value) };
    let parts: Vec<&str> = rest.split(':').collect();
    let fine = value.len() <= 255 && parts.len() == 2 && parts.iter().all(|p| check_id(p).is_ok());
    if fine {
        return Ok(());
    }
    Err(UserError::usage(format!(
        "the dependency target {} is not valid: an external dependency is `external:PROJECT:CAPABILITY`, each \
         part 1 or more ASCII letters, digits, '-', '_' and '.', 255 characters in all",
        error::quoted(value)
    ))
    .with_hint("give an id as `bd list` shows it, or `external:PROJECT:CAPABILITY`"))
}

/// Checks a dependency target named to remove it: whatever a dependency
/// row can hold (one imported from beads may point anywhere), only bounded
/// and free of hidden characters, since it is shown back in messages.
pub fn stored_target(value: &str) -> Result<(), UserError> {
    if let Some(odd) = error::unusual_char(value, false) {
        return Err(UserError::usage(format!("the dependency target {} contains {odd}", error::quoted(value)))
            .with_hint("give the target as `bd dep list` shows it"));
    }
    fits("dependencies", "depends_on_id", "dependency target", value)
}

/// Checks a status or type given on the command line (`what` names the
/// option): both are open sets, so any word of [`WORD_RULE`] is accepted.
pub fn word(what: &str, value: &str) -> Result<(), UserError> {
    check_word(what, value).map_err(|p| {
        UserError::usage(p.to_string())
            .with_hint(format!("give the {what} as a lowercase word such as `open` or `task`"))
    })
}

/// The most bytes a `TEXT` column holds.
const TEXT_BYTES: usize = 65_535;

/// What a status or an issue type is: a word that reads the same in every
/// town, fits its column, and needs no quoting in a shell or a filter.
pub const WORD_RULE: &str = "a status or type is 1 to 32 lowercase ASCII letters, digits, '_' and '-'";

/// One problem with a piece of input: the rule it breaks, and what exactly
/// is wrong with it. An importer lists each rule once above the lines that
/// break it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The rule, the same text for every value that breaks it.
    pub rule: String,
    /// What is wrong with this value.
    pub detail: String,
}

impl Problem {
    pub(super) fn new(rule: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { rule: rule.into(), detail: detail.into() }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; {}", self.detail, self.rule)
    }
}

/// The rule issue ids follow.
pub(super) const ID_RULE: &str =
    "ids are 1 to 255 ASCII letters, digits, '-', '_' and '.', starting with a letter or digit";

/// Issue ids are what `bd create` makes (`prefix-abc123`) or similar: no
/// spaces, controls or look-alikes that would make two ids read the same.
pub(super) fn check_id(id: &str) -> Result<String, Problem> {
    let problem = if let Some(odd) = error::unusual_char(id, true) {
        Some(format!("it contains {odd}"))
    } else if id.is_empty() || id.len() > 255 {
        Some(format!("it is {} characters long", id.len()))
    } else if !id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        Some("it does not start with a letter or digit".to_owned())
    } else {
        id.chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .map(|c| format!("it contains '{c}'"))
    };
    match problem {
        None => Ok(id.to_owned()),
        Some(problem) => Err(Problem::new(ID_RULE, format!("the id {} is not valid: {problem}", error::quoted(id)))),
    }
}

/// Checks a status or type against [`WORD_RULE`]; `what` names it.
pub(super) fn check_word(what: &str, value: &str) -> Result<(), Problem> {
    let good = !value.is_empty()
        && value.len() <= 32
        && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if good {
        Ok(())
    } else {
        Err(Problem::new(WORD_RULE, format!("the {what} {} is not such a word", error::quoted(value))))
    }
}

/// A column's type, as far as a JSONL value must match it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Type {
    /// `VARCHAR(n)`: at most n characters.
    Varchar(usize),
    /// `TEXT`: at most 65,535 bytes.
    Text,
    /// `INT`: a whole number in 32 bits.
    Int,
    /// `DATETIME(6)`: a UTC date-time.
    DateTime,
    /// `JSON`: any JSON value.
    Json,
}

/// A column of the schema.
#[derive(Debug, Clone, Copy)]
pub(super) struct Column {
    pub(super) name: &'static str,
    pub(super) ty: Type,
    nullable: bool,
    /// NOT NULL without a default: a row must give it.
    pub(super) required: bool,
}

impl Column {
    /// Checks a value against the column; returns it as the database
    /// stores it (date-times in `YYYY-MM-DD HH:MM:SS.ffffff`, JSON as text).
    pub(super) fn check(&self, table: &str, value: Value) -> Result<Value, Problem> {
        let rule = self.rule(table);
        let wrong = |value: &Value| Problem::new(&rule, format!("it is {}", kind_of(value)));
        match (self.ty, value) {
            (_, Value::Null) if self.nullable => Ok(Value::Null),
            (_, Value::Null) => Err(Problem::new(&rule, "it is null")),
            (Type::Varchar(max), Value::String(s)) => {
                let len = s.chars().count();
                if len <= max {
                    Ok(Value::String(s))
                } else {
                    Err(Problem::new(&rule, format!("it is {len} characters long")))
                }
            }
            (Type::Text, Value::String(s)) if s.len() <= TEXT_BYTES => Ok(Value::String(s)),
            (Type::Text, Value::String(s)) => Err(Problem::new(&rule, format!("it is {} bytes long", s.len()))),
            (Type::Int, Value::Number(n)) if n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) => {
                Ok(Value::Number(n))
            }
            (Type::DateTime, Value::String(s)) => clock::parse(&s)
                .map(|t| Value::String(clock::to_sql(t)))
                .ok_or_else(|| Problem::new(&rule, format!("{} is not a date-time", error::quoted(&s)))),
            (Type::Json, Value::String(s)) => match serde_json::from_str::<Value>(&s) {
                Ok(_) => Ok(Value::String(s)),
                Err(e) => Err(Problem::new(&rule, format!("it holds text that is not JSON: {e}"))),
            },
            // Stored as its JSON text.
            (Type::Json, value) => Ok(Value::String(value.to_string())),
            (Type::Int, Value::Number(n)) => Err(Problem::new(&rule, format!("{n} does not fit"))),
            (_, value) => Err(wrong(&value)),
        }
    }

    /// Whether an issue that leaves this column out holds "" in it: text
    /// that may not be NULL, which upstream beads leaves out when empty.
    pub(super) fn defaults_empty(&self) -> bool {
        self.required && self.ty == Type::Text
    }

    /// The rule a value of this column follows, in words.
    fn rule(&self, table: &str) -> String {
        let name = self.name;
        let what = match self.ty {
            Type::Varchar(max) => format!("a string of at most {max} characters"),
            Type::Text => format!("a string of at most {TEXT_BYTES} bytes"),
            Type::Int => "a whole number of 32 bits".to_owned(),
            Type::DateTime => {
                "a UTC date-time, RFC 3339 (2026-12-01T08:13:12.788380Z) or YYYY-MM-DD HH:MM:SS.ffffff".to_owned()
            }
            Type::Json => "JSON, or a string holding JSON text".to_owned(),
        };
        let null = if self.nullable { " or null" } else { "" };
        format!("{table}.{name} is {what}{null}")
    }
}

/// The columns of `table`, read from [`schema::SCHEMA`] so the importer's
/// checks follow the schema wherever it goes.
pub(super) fn schema_columns(table: &str) -> &'static [Column] {
    static TABLES: LazyLock<BTreeMap<&'static str, Vec<Column>>> = LazyLock::new(|| parse_schema(schema::SCHEMA));
    TABLES.get(table).map_or(&[], Vec::as_slice)
}

fn parse_schema(schema: &'static str) -> BTreeMap<&'static str, Vec<Column>> {
    let mut tables: BTreeMap<&'static str, Vec<Column>> = BTreeMap::new();
    let mut current = None;
    for line in schema.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("CREATE TABLE ") {
            current = rest.split_whitespace().next();
            continue;
        }
        let Some(table) = current else { continue };
        if line.starts_with(')') {
            current = None;
            continue;
        }
        let mut words = line.split_whitespace();
        let (Some(name), Some(ty)) = (words.next(), words.next()) else { continue };
        let ty = match ty.trim_end_matches(',') {
            "TEXT" => Type::Text,
            "INT" => Type::Int,
            "DATETIME(6)" => Type::DateTime,
            "JSON" => Type::Json,
            other => match other.strip_prefix("VARCHAR(").and_then(|n| n.strip_suffix(')')).map(str::parse) {
                Some(Ok(max)) => Type::Varchar(max),
                // Index and key lines.
                _ => continue,
            },
        };
        let not_null = line.contains("NOT NULL");
        tables.entry(table).or_default().push(Column {
            name: name.trim_matches('`'),
            ty,
            nullable: !not_null,
            required: not_null && !line.contains("DEFAULT"),
        });
    }
    tables
}

/// How a JSON value is named in an error.
pub(super) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_column_has_a_known_type() {
        let tables = parse_schema(schema::SCHEMA);
        let count = |t: &str| tables.get(t).map_or(0, Vec::len);
        assert_eq!(
            [count("issues"), count("labels"), count("comments"), count("dependencies"), count("events")],
            [20, 2, 5, 5, 8],
            "every column of the schema is parsed (a new column type needs a Type here)"
        );
        let priority = tables["issues"].iter().find(|c| c.name == "priority").expect("priority");
        assert_eq!((priority.ty, priority.nullable, priority.required), (Type::Int, false, false));
        let title = tables["issues"].iter().find(|c| c.name == "title").expect("title");
        assert_eq!((title.ty, title.required), (Type::Varchar(500), true));
    }
}
