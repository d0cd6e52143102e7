//! The trust boundary: what a peer sends is checked before it lands.
//!
//! A peer's `main` is another organisation's data, written by whatever it
//! runs. Before a merge, the changes the peer made since the common ancestor
//! must keep the schema as it is and follow the rules bd's own writes
//! follow; otherwise the whole incoming change is refused and nothing of it
//! lands (a partial landing would leave half of someone's change, and a
//! refused change is better fixed at its source).
//!
//! The checks are two, placed in the same dolt script as the merge,
//! before it: each fails, with a marker in dolt's message, when anything is
//! wrong, so an honest exchange costs no extra dolt process. Only then does
//! [`refusal`] read what exactly was wrong, row by row.

use std::fmt::Write as _;

use super::remote::{Peer, PeerError};
use crate::dolt::Repo;
use crate::tracker::sql;

/// What a failed check carries in dolt's message.
const MARKER: &str = "bd-refused-incoming";

/// Control characters other than line breaks and tabs (Go regexp syntax,
/// which dolt's `REGEXP` uses).
const CONTROL: &str = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]";
/// Any control character, for single-line fields.
const ANY_CONTROL: &str = "[\\x00-\\x1f\\x7f]";
/// An issue id: a town's prefix, `-`, then its own part.
const ID: &str = "^[A-Za-z][A-Za-z0-9_-]*-[A-Za-z0-9._-]+$";
/// A status or type: lower-case word.
const WORD: &str = "^[a-z][a-z0-9_-]{0,31}$";

/// One rule over the rows a peer sends: the table, the condition a
/// breaking row meets, and the rule in words.
struct Rule {
    table: &'static str,
    breaks: String,
    says: &'static str,
    /// Whether the rule holds only for the rows a merge keeps (not those
    /// the peer removed).
    kept: bool,
}

/// The condition of a merge's row that the peer did not remove.
const KEPT: &str = "diff_type <> 'removed'";

impl Rule {
    fn new(table: &'static str, breaks: String, says: &'static str) -> Self {
        Self { table, breaks, says, kept: false }
    }

    /// The condition a breaking row meets.
    fn condition(&self) -> String {
        if self.kept { format!("{KEPT} AND ({})", self.breaks) } else { self.breaks.clone() }
    }
}

/// Where the rows under check are read from.
#[derive(Clone, Copy)]
enum Incoming<'a> {
    /// The changes on a peer's main since the common ancestor (`dolt_diff`
    /// rows, columns `to_*`), before a merge.
    Merge { tracking: &'a str },
    /// Rows copied as they are from a T3/T4 peer's main (alias `p`): each
    /// table's `FROM … WHERE …` naming exactly the rows that would land.
    Copy { sources: &'a [(&'static str, String)] },
}

impl Incoming<'_> {
    fn column(self, name: &str) -> String {
        match self {
            Incoming::Merge { .. } => format!("to_{name}"),
            Incoming::Copy { .. } => format!("p.{name}"),
        }
    }

    /// The `FROM … WHERE` clause of `table`'s rows that meet `breaks`, or
    /// `None` when none of that table's rows come in.
    fn rows(self, table: &str, breaks: &str) -> Option<String> {
        match self {
            Incoming::Merge { tracking } => {
                Some(format!("FROM dolt_diff(@bd_base, {}, '{table}') WHERE {breaks}", sql::lit(tracking)))
            }
            Incoming::Copy { sources } => {
                sources.iter().find(|(t, _)| *t == table).map(|(_, from)| format!("{from} AND ({breaks})"))
            }
        }
    }

    /// What a script reading [`Incoming::rows`] sets first: a merge's
    /// common ancestor, found once, as `@bd_base`.
    fn prelude(self) -> String {
        match self {
            Incoming::Merge { tracking } => {
                format!("SET @bd_base = DOLT_MERGE_BASE('main', {});\n", sql::lit(tracking))
            }
            Incoming::Copy { .. } => String::new(),
        }
    }

    /// The id a breaking row is listed by.
    fn key(self, table: &str) -> &'static str {
        match (self, table) {
            (Incoming::Merge { .. }, "issues") => "COALESCE(to_id, from_id)",
            (Incoming::Merge { .. }, _) => "COALESCE(to_issue_id, from_issue_id)",
            (Incoming::Copy { .. }, "issues") => "p.id",
            (Incoming::Copy { .. }, _) => "p.issue_id",
        }
    }
}

fn rules(incoming: Incoming<'_>) -> Vec<Rule> {
    let col = |name: &str| incoming.column(name);
    let re = |name: &str, pattern: &str| format!("{} REGEXP {}", col(name), sql::lit(pattern));
    // One match per pattern over the fields joined: dolt matches each
    // REGEXP row by row, the dearest part of the check, and joining makes no
    // new match (the patterns match one character; NULLs are left out).
    let controls = |table: &'static str, fields: &[(&str, &str)]| {
        let any: Vec<String> = [CONTROL, ANY_CONTROL]
            .iter()
            .filter_map(|pattern| {
                let joined: Vec<String> =
                    fields.iter().filter(|(_, p)| p == pattern).map(|(name, _)| col(name)).collect();
                (!joined.is_empty())
                    .then(|| format!("CONCAT_WS('', {}) REGEXP {}", joined.join(", "), sql::lit(pattern)))
            })
            .collect();
        Rule::new(table, any.join(" OR "), "holds control characters")
    };
    let mut all = vec![
        Rule::new("issues", format!("NOT {}", re("id", ID)), "has an id that is not <prefix>-<id>"),
        Rule::new(
            "issues",
            format!("NOT {} OR NOT {}", re("status", WORD), re("issue_type", WORD)),
            "has a status or type that is not a lower-case word of at most 32 characters",
        ),
        Rule::new("issues", format!("{p} < 0 OR {p} > 4", p = col("priority")), "has a priority outside 0-4"),
        Rule::new("issues", format!("TRIM({}) = ''", col("title")), "has an empty title"),
        controls(
            "issues",
            &[
                ("acceptance_criteria", CONTROL),
                ("external_ref", ANY_CONTROL),
                ("title", ANY_CONTROL),
                ("id", ANY_CONTROL),
                ("assignee", ANY_CONTROL),
                ("owner", ANY_CONTROL),
                ("created_by", ANY_CONTROL),
                ("description", CONTROL),
                ("notes", CONTROL),
                ("design", CONTROL),
                ("close_reason", CONTROL),
            ],
        ),
        controls("comments", &[("text", CONTROL), ("author", ANY_CONTROL)]),
        controls("labels", &[("label", ANY_CONTROL)]),
        controls(
            "events",
            &[("actor", ANY_CONTROL), ("old_value", CONTROL), ("new_value", CONTROL), ("comment", CONTROL)],
        ),
    ];
    if let Incoming::Merge { tracking } = incoming {
        // A merge can also remove rows, and add child rows to any issue.
        let t = sql::lit(tracking);
        for table in ["comments", "labels", "events", "dependencies"] {
            all.push(Rule::new(
                table,
                format!("to_issue_id NOT IN (SELECT id FROM issues AS OF {t})"),
                "belongs to no issue",
            ));
        }
        for rule in &mut all {
            rule.kept = true;
        }
        all.insert(
            0,
            Rule::new(
                "issues",
                "diff_type = 'removed'".to_owned(),
                "was deleted as a raw row (an issue leaves only by a deletion record)",
            ),
        );
    }
    all
}

/// The row check: statements that fail with the marker when any row under
/// check breaks a rule. Each table is read once, for all of its rules.
///
/// Before a merge, only the tables the peer changed are read: dolt's summary
/// of the change names them, and reading a table's diff costs dolt about a
/// millisecond even when it is empty, so the count is a statement built from
/// the summary (a table function cannot be skipped by a condition).
fn row_check(incoming: Incoming<'_>) -> String {
    let rules = rules(incoming);
    let mut tables: Vec<&str> = Vec::new();
    for rule in &rules {
        if !tables.contains(&rule.table) {
            tables.push(rule.table);
        }
    }
    let counts: Vec<(&str, String)> = tables
        .iter()
        .filter_map(|table| {
            // The rules on kept rows share one test of the diff type.
            let of = |kept: bool| -> Vec<String> {
                rules
                    .iter()
                    .filter(|r| r.table == *table && r.kept == kept)
                    .map(|r| format!("({})", r.breaks))
                    .collect()
            };
            let mut breaks = of(false);
            let kept = of(true);
            if !kept.is_empty() {
                breaks.push(format!("({KEPT} AND ({}))", kept.join(" OR ")));
            }
            incoming.rows(table, &breaks.join(" OR ")).map(|rows| (*table, format!("(SELECT COUNT(*) {rows})")))
        })
        .collect();
    let mut out = incoming.prelude();
    match incoming {
        Incoming::Merge { tracking } => {
            let each: Vec<String> = counts
                .iter()
                .map(|(table, count)| {
                    format!("IF(FIND_IN_SET('{table}', @bd_changed) > 0, {}, '')", sql::lit(&format!(" + {count}")))
                })
                .collect();
            let _ = writeln!(
                out,
                "SET @bd_changed = (SELECT GROUP_CONCAT(to_table_name) FROM dolt_diff_summary(@bd_base, {}) \
                 WHERE data_change), @bd_guard_sql = CONCAT('SET @bd_guard_rows = 0', {});\n\
                 PREPARE bd_guard_rows FROM @bd_guard_sql;\nEXECUTE bd_guard_rows;",
                sql::lit(tracking),
                each.join(", ")
            );
            out.push_str(&verdict("rows"));
        }
        Incoming::Copy { .. } => {
            let all: Vec<&str> = counts.iter().map(|(_, count)| count.as_str()).collect();
            out.push_str(&fail("rows", &format!("({})", all.join(" + "))));
        }
    }
    out
}

/// A statement that fails with the marker when the count `n` is not 0 (the
/// count is taken once, into a variable).
fn fail(what: &str, n: &str) -> String {
    format!("SET @bd_guard_{what} = {n};\n{}", verdict(what))
}

/// The statement that fails with the marker when `@bd_guard_{what}` is not 0.
fn verdict(what: &str) -> String {
    format!(
        "SELECT IF(@bd_guard_{what} = 0, 'ok', JSON_EXTRACT(CONCAT('{MARKER}:{what}:', @bd_guard_{what}), '$')) \
         AS bd_guard_{what};\n"
    )
}

/// The schema check: the peer's schema must be the one this town had at
/// the peer's schema version (our own `main` when on the same version).
fn schema_check(tracking: &str) -> String {
    let t = sql::lit(tracking);
    let mut out = set_schema_base(&t);
    out.push_str(&fail("schema", &format!("(SELECT COUNT(*) FROM dolt_schema_diff(@bd_schema_base, {t}))")));
    out
}

/// Sets `@bd_schema_base` to the revision the peer's schema is compared
/// with (dolt takes no subquery inside a table function's `CASE`).
fn set_schema_base(tracking: &str) -> String {
    format!("SET @bd_schema_base = {};\n", crate::tracker::migrate::schema_of_version_at(tracking))
}

/// The two checks before a merge, as statements of the merge's script: the
/// schema first (a dropped table would break the row checks), then the rows.
pub(super) fn checks(tracking: &str) -> String {
    let mut out = schema_check(tracking);
    out.push_str(&row_check(Incoming::Merge { tracking }));
    out
}

/// The same checks before rows are copied from a T3/T4 peer's main at
/// `tracking`: `sources` names each table's incoming rows (alias `p`).
pub(super) fn copy_checks(tracking: &str, sources: &[(&'static str, String)]) -> String {
    let mut out = schema_check(tracking);
    out.push_str(&row_check(Incoming::Copy { sources }));
    out
}

/// Whether a failed script stopped at [`checks`].
pub(super) fn refused(reason: &str) -> bool {
    reason.contains(MARKER)
}

/// The most rows a refusal lists.
const SHOWN: usize = 20;

/// What exactly the peer sent that bd refuses (read after [`checks`] failed).
pub(super) fn refusal(repo: &Repo, peer: &Peer) -> anyhow::Result<PeerError> {
    let tracking = peer.tracking_ref();
    explain(repo, peer, Incoming::Merge { tracking: &tracking })
}

/// What exactly the peer's rows hold that bd refuses (read after
/// [`copy_checks`] failed).
pub(super) fn copy_refusal(repo: &Repo, peer: &Peer, sources: &[(&'static str, String)]) -> anyhow::Result<PeerError> {
    explain(repo, peer, Incoming::Copy { sources })
}

fn explain(repo: &Repo, peer: &Peer, incoming: Incoming<'_>) -> anyhow::Result<PeerError> {
    let t = sql::lit(&peer.tracking_ref());
    let schema = repo.query(&format!(
        "{}SELECT from_table_name AS bd_was, to_table_name AS bd_now FROM dolt_schema_diff(@bd_schema_base, {t})",
        set_schema_base(&t)
    ))?;
    if !schema.is_empty() {
        let changes: Vec<String> = schema
            .iter()
            .map(|r| {
                let name = |c: &str| r.get(c).and_then(serde_json::Value::as_str).filter(|n| !n.is_empty());
                let (what, table) = match (name("bd_was"), name("bd_now")) {
                    (Some(was), None) => ("drops the table", was),
                    (None, Some(now)) => ("adds the table", now),
                    (Some(was), Some(_)) => ("changes the columns, keys or indexes of", was),
                    (None, None) => ("changes", "?"),
                };
                format!("{what} {}", crate::error::quoted(table))
            })
            .collect();
        return Ok(peer.error(
            "sent a change to the schema, which bd refuses",
            format!(
                "its main {}; this bd knows no such migration. Nothing was applied; this town is as it was",
                changes.join(", ")
            ),
        ));
    }
    let mut query = incoming.prelude();
    let rules = rules(incoming);
    for (i, rule) in rules.iter().enumerate() {
        let Some(rows) = incoming.rows(rule.table, &rule.condition()) else { continue };
        if i > 0 {
            query.push_str(" UNION ALL ");
        }
        let _ = write!(
            query,
            "(SELECT '{}' AS bd_table, {} AS id, {i} AS bd_rule {rows} LIMIT {SHOWN})",
            rule.table,
            incoming.key(rule.table)
        );
    }
    let rows = repo.query(&query)?;
    let listed: Vec<String> = rows
        .iter()
        .take(SHOWN)
        .map(|r| {
            let text = |c: &str| r.get(c).and_then(serde_json::Value::as_str).unwrap_or("?");
            let rule =
                r.get("bd_rule").and_then(serde_json::Value::as_u64).and_then(|i| rules.get(usize::try_from(i).ok()?));
            let says = rule.map_or("breaks a rule", |r| r.says);
            format!("{} row of issue {} {says}", text("bd_table"), crate::error::quoted(text("id")))
        })
        .collect();
    Ok(peer.error(
        "sent rows bd refuses",
        format!(
            "{}{}. Nothing of its change was applied; this town is as it was. Ask the peer to repair its main",
            listed.join("; "),
            if rows.len() > SHOWN { " (and more)" } else { "" }
        ),
    ))
}
