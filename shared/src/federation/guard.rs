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

use super::remote::{Peer, PeerError};
use crate::dolt::Repo;
use crate::tracker::migrate;
use crate::tracker::sql::{Sql, sql};

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
const WORD: &str = "[a-z][a-z0-9_-]{0,31}";

/// One rule over the rows a peer sends: the table, the condition a
/// breaking row meets, and the rule in words.
struct Rule {
    table: &'static str,
    breaks: Sql,
    says: &'static str,
    /// Whether the rule holds only for the rows a merge keeps (not those
    /// the peer removed).
    kept: bool,
}

/// The condition of a merge's row that the peer did not remove.
const KEPT: Sql = Sql::raw("diff_type <> 'removed'");

impl Rule {
    fn new(table: &'static str, breaks: Sql, says: &'static str) -> Self {
        Self { table, breaks, says, kept: false }
    }

    /// The condition a breaking row meets.
    fn condition(&self) -> Sql {
        if self.kept { sql!("{} AND ({})", KEPT, self.breaks) } else { self.breaks.clone() }
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
    Copy { sources: &'a [(&'static str, Sql)] },
}

impl Incoming<'_> {
    fn column(self, name: &'static str) -> Sql {
        match self {
            Incoming::Merge { .. } => sql!("to_{}", Sql::raw(name)),
            Incoming::Copy { .. } => sql!("p.{}", Sql::raw(name)),
        }
    }

    /// The `FROM … WHERE` clause of `table`'s rows that meet `breaks`, or
    /// `None` when none of that table's rows come in.
    fn rows(self, table: &'static str, breaks: &Sql) -> Option<Sql> {
        match self {
            Incoming::Merge { tracking } => {
                Some(sql!("FROM dolt_diff(@bd_base, {}, {}) WHERE {}", tracking, table, breaks))
            }
            Incoming::Copy { sources } => {
                sources.iter().find(|(t, _)| *t == table).map(|(_, from)| sql!("{} AND ({})", from, breaks))
            }
        }
    }

    /// What a script reading [`Incoming::rows`] sets first: a merge's
    /// common ancestor, found once, as `@bd_base`.
    fn prelude(self) -> Sql {
        match self {
            Incoming::Merge { tracking } => sql!("SET @bd_base = DOLT_MERGE_BASE('main', {});\n", tracking),
            Incoming::Copy { .. } => Sql::default(),
        }
    }

    /// The id a breaking row is listed by.
    fn key(self, table: &str) -> Sql {
        Sql::raw(match (self, table) {
            (Incoming::Merge { .. }, "issues") => "COALESCE(to_id, from_id)",
            (Incoming::Merge { .. }, _) => "COALESCE(to_issue_id, from_issue_id)",
            (Incoming::Copy { .. }, "issues") => "p.id",
            (Incoming::Copy { .. }, _) => "p.issue_id",
        })
    }
}

fn rules(incoming: Incoming<'_>) -> Vec<Rule> {
    let col = |name: &'static str| incoming.column(name);
    let re = |name: &'static str, pattern: &str| sql!("{} REGEXP {}", col(name), pattern);
    // One match per pattern over the fields joined: dolt matches each
    // REGEXP row by row, the dearest part of the check, and joining makes no
    // new match (the patterns match one character; NULLs are left out).
    let controls = |table: &'static str, fields: &[(&'static str, &str)]| {
        let any = [CONTROL, ANY_CONTROL].iter().filter_map(|pattern| {
            let joined: Vec<Sql> = fields.iter().filter(|(_, p)| p == pattern).map(|(name, _)| col(name)).collect();
            (!joined.is_empty()).then(|| sql!("CONCAT_WS('', {}) REGEXP {}", Sql::join(joined, ", "), *pattern))
        });
        Rule::new(table, Sql::join(any, " OR "), "holds control characters")
    };
    let mut all = vec![
        Rule::new("issues", sql!("NOT {}", re("id", ID)), "has an id that is not <prefix>-<id>"),
        // Both words in one match (both columns are NOT NULL).
        Rule::new(
            "issues",
            sql!("NOT CONCAT({}, ' ', {}) REGEXP {}", col("status"), col("issue_type"), format!("^{WORD} {WORD}$")),
            "has a status or type that is not a lower-case word of at most 32 characters",
        ),
        Rule::new("issues", sql!("{} < 0 OR {} > 4", col("priority"), col("priority")), "has a priority outside 0-4"),
        Rule::new("issues", sql!("TRIM({}) = ''", col("title")), "has an empty title"),
        // The id is not among them: its own rule admits no control character.
        controls(
            "issues",
            &[
                ("acceptance_criteria", CONTROL),
                ("external_ref", ANY_CONTROL),
                ("title", ANY_CONTROL),
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
        for table in ["comments", "labels", "events", "dependencies"] {
            all.push(Rule::new(
                table,
                sql!("to_issue_id NOT IN (SELECT id FROM issues AS OF {})", tracking),
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
                Sql::raw("diff_type = 'removed'"),
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
/// the summary (a table function cannot be skipped by a condition); all
/// but [`ALWAYS_READ`].
fn row_check(incoming: Incoming<'_>) -> Sql {
    let rules = rules(incoming);
    let mut tables: Vec<&'static str> = Vec::new();
    for rule in &rules {
        if !tables.contains(&rule.table) {
            tables.push(rule.table);
        }
    }
    let counts: Vec<(&'static str, Sql)> = tables
        .iter()
        .filter_map(|&table| {
            // The rules on kept rows share one test of the diff type.
            let of = |kept: bool| -> Vec<Sql> {
                rules.iter().filter(|r| r.table == table && r.kept == kept).map(|r| sql!("({})", r.breaks)).collect()
            };
            let mut breaks = of(false);
            let kept = of(true);
            if !kept.is_empty() {
                breaks.push(sql!("({} AND ({}))", KEPT, Sql::join(kept, " OR ")));
            }
            incoming.rows(table, &Sql::join(breaks, " OR ")).map(|rows| (table, sql!("(SELECT COUNT(*) {})", rows)))
        })
        .collect();
    let mut out = incoming.prelude();
    match incoming {
        Incoming::Merge { tracking } => {
            // The issues are read directly: nearly every change holds some,
            // and a prepared statement costs dolt a second planning of its
            // text. The other changed tables' counts are text the prepared
            // statement adds.
            let (direct, prepared): (Vec<_>, Vec<_>) = counts.iter().partition(|(table, _)| *table == ALWAYS_READ);
            let first = direct.first().map_or_else(|| Sql::raw("0"), |(_, count)| count.clone());
            let each = prepared.iter().map(|(table, count)| {
                sql!("IF(FIND_IN_SET({}, @bd_changed) > 0, {}, '')", *table, format!(" + {count}"))
            });
            out.push(&sql!(
                "SET @bd_guard_rows = {}, @bd_changed = (SELECT GROUP_CONCAT(to_table_name) FROM \
                 dolt_diff_summary(@bd_base, {}) WHERE data_change), \
                 @bd_guard_sql = CONCAT('SET @bd_guard_rows = @bd_guard_rows', {});\n\
                 PREPARE bd_guard_rows FROM @bd_guard_sql;\nEXECUTE bd_guard_rows;\n",
                first,
                tracking,
                Sql::join(each, ", ")
            ));
            out.push(&verdict(Guarded::Rows));
        }
        Incoming::Copy { .. } => {
            let all = Sql::join(counts.into_iter().map(|(_, count)| count), " + ");
            out.push(&fail(Guarded::Rows, &sql!("({})", all)));
        }
    }
    out
}

/// The table a merge's row check reads whether or not the summary names it.
const ALWAYS_READ: &str = "issues";

/// What a check guards, naming its variable and its marker.
#[derive(Clone, Copy)]
enum Guarded {
    /// The rows the peer sends.
    Rows,
    /// The peer's schema.
    Schema,
}

impl Guarded {
    /// The variable holding the count of what breaks the rules, and the
    /// marker a failure carries (after [`MARKER`]).
    const fn names(self) -> (&'static str, &'static str) {
        match self {
            Guarded::Rows => ("@bd_guard_rows", "rows"),
            Guarded::Schema => ("@bd_guard_schema", "schema"),
        }
    }
}

/// A statement that fails with the marker when the count `n` is not 0 (the
/// count is taken once, into a variable).
fn fail(what: Guarded, n: &Sql) -> Sql {
    let mut out = sql!("SET {} = {};\n", Sql::raw(what.names().0), n);
    out.push(&verdict(what));
    out
}

/// The statement that fails with the marker when the guard's variable is
/// not 0. The rows' verdict is a result row (`bd_guard_rows`), which tells
/// a reader of the script's output that the rows passed; the schema's is a
/// `SET`, as a statement that returns no rows costs dolt less.
fn verdict(what: Guarded) -> Sql {
    let (var, name) = what.names();
    let test = sql!(
        "IF({} = 0, 'ok', JSON_EXTRACT(CONCAT({}, {}), '$'))",
        Sql::raw(var),
        format!("{MARKER}:{name}:"),
        Sql::raw(var)
    );
    match what {
        Guarded::Rows => sql!("SELECT {} AS {};\n", test, Sql::raw(&var[1..])),
        Guarded::Schema => sql!("SET @bd_schema_checked = {};\n", test),
    }
}

/// The schema check: the peer's schema must be the one this town had at
/// the peer's schema version (our own `main` when on the same version),
/// after [`migrate::read_versions`] in the same script.
fn schema_check(tracking: &str) -> Sql {
    let mut out = set_schema_base();
    out.push(&fail(Guarded::Schema, &sql!("(SELECT COUNT(*) FROM dolt_schema_diff(@bd_schema_base, {}))", tracking)));
    out
}

/// Sets `@bd_schema_base` to the revision the peer's schema is compared
/// with (dolt takes no subquery inside a table function's `CASE`).
fn set_schema_base() -> Sql {
    sql!("SET @bd_schema_base = {};\n", migrate::schema_of_version_at())
}

/// The two checks before a merge, as statements of the merge's script,
/// after its standing has read the schema versions
/// ([`migrate::read_versions`]): the schema first (a dropped table would
/// break the row checks), then the rows.
pub(super) fn checks_after_standing(tracking: &str) -> Sql {
    let mut out = schema_check(tracking);
    out.push(&row_check(Incoming::Merge { tracking }));
    out
}

/// The same checks as a script of their own.
pub(super) fn checks(tracking: &str) -> Sql {
    let mut out = migrate::read_versions(tracking);
    out.push(&checks_after_standing(tracking));
    out
}

/// The same checks before rows are copied from a T3/T4 peer's main at
/// `tracking`: `sources` names each table's incoming rows (alias `p`).
pub(super) fn copy_checks(tracking: &str, sources: &[(&'static str, Sql)]) -> Sql {
    let mut out = migrate::read_versions(tracking);
    out.push(&schema_check(tracking));
    out.push(&row_check(Incoming::Copy { sources }));
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
pub(super) fn copy_refusal(repo: &Repo, peer: &Peer, sources: &[(&'static str, Sql)]) -> anyhow::Result<PeerError> {
    explain(repo, peer, Incoming::Copy { sources })
}

fn explain(repo: &Repo, peer: &Peer, incoming: Incoming<'_>) -> anyhow::Result<PeerError> {
    let tracking = peer.tracking_ref();
    let schema = repo.query(&sql!(
        "{}{}SELECT from_table_name AS bd_was, to_table_name AS bd_now FROM dolt_schema_diff(@bd_schema_base, {})",
        migrate::read_versions(&tracking),
        set_schema_base(),
        tracking
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
    let mut selects = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let Some(rows) = incoming.rows(rule.table, &rule.condition()) else { continue };
        selects.push(sql!(
            "(SELECT {} AS bd_table, {} AS id, {} AS bd_rule {} LIMIT {})",
            rule.table,
            incoming.key(rule.table),
            i,
            rows,
            SHOWN
        ));
    }
    query.push(&Sql::join(selects, " UNION ALL "));
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
