//! The trust boundary: what a peer sends is checked before it lands.
//!
//! A peer's `main` is another organisation's data, written by whatever it
//! runs. Before a merge, the changes the peer made since the common ancestor
//! must keep the schema as it is and follow the rules bd's own writes
//! follow; otherwise the whole incoming change is refused and nothing of it
//! lands (a partial landing would leave half of someone's change, and a
//! refused change is better fixed at its source).
//!
//! The checks are two queries placed in the same dolt script as the merge,
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

/// One rule over the rows a peer changed: the table, the condition a
/// breaking row meets (columns of `dolt_diff`), and the rule in words.
struct Rule {
    table: &'static str,
    breaks: String,
    says: &'static str,
}

fn rules(tracking: &str) -> Vec<Rule> {
    let t = sql::lit(tracking);
    let re = |column: &str, pattern: &str| format!("to_{column} REGEXP {}", sql::lit(pattern));
    let kept = "diff_type <> 'removed'";
    let belongs = |table: &'static str| Rule {
        table,
        breaks: format!("{kept} AND to_issue_id NOT IN (SELECT id FROM issues AS OF {t})"),
        says: "belongs to no issue",
    };
    vec![
        Rule {
            table: "issues",
            breaks: "diff_type = 'removed'".to_owned(),
            says: "was deleted as a raw row (an issue leaves only by a deletion record)",
        },
        Rule {
            table: "issues",
            breaks: format!("{kept} AND NOT {}", re("id", ID)),
            says: "has an id that is not <prefix>-<id>",
        },
        Rule {
            table: "issues",
            breaks: format!("{kept} AND (NOT {} OR NOT {})", re("status", WORD), re("issue_type", WORD)),
            says: "has a status or type that is not a lower-case word of at most 32 characters",
        },
        Rule {
            table: "issues",
            breaks: format!("{kept} AND (to_priority < 0 OR to_priority > 4)"),
            says: "has a priority outside 0-4",
        },
        Rule { table: "issues", breaks: format!("{kept} AND TRIM(to_title) = ''"), says: "has an empty title" },
        Rule {
            table: "issues",
            breaks: format!(
                "{kept} AND ({} OR {} OR {} OR {} OR {} OR {} OR {} OR {} OR {} OR {} OR {})",
                re("acceptance_criteria", CONTROL),
                re("external_ref", ANY_CONTROL),
                re("title", ANY_CONTROL),
                re("id", ANY_CONTROL),
                re("assignee", ANY_CONTROL),
                re("owner", ANY_CONTROL),
                re("created_by", ANY_CONTROL),
                re("description", CONTROL),
                re("notes", CONTROL),
                re("design", CONTROL),
                re("close_reason", CONTROL)
            ),
            says: "holds control characters",
        },
        belongs("comments"),
        belongs("labels"),
        belongs("events"),
        belongs("dependencies"),
        Rule {
            table: "comments",
            breaks: format!("{kept} AND ({} OR {})", re("text", CONTROL), re("author", ANY_CONTROL)),
            says: "holds control characters",
        },
        Rule {
            table: "labels",
            breaks: format!("{kept} AND {}", re("label", ANY_CONTROL)),
            says: "holds control characters",
        },
        Rule {
            table: "events",
            breaks: format!(
                "{kept} AND ({} OR {} OR {} OR {})",
                re("actor", ANY_CONTROL),
                re("old_value", CONTROL),
                re("new_value", CONTROL),
                re("comment", CONTROL)
            ),
            says: "holds control characters",
        },
    ]
}

/// The two checks, as statements of the merge's script: the schema first
/// (a dropped table would break the row checks), then the rows. Each table
/// the peer changed is read once, for all of its rules, and each count is
/// taken once, into a variable, before the statement that fails on it.
pub(super) fn checks(tracking: &str) -> String {
    let t = sql::lit(tracking);
    // The peer's changes since the common ancestor, which is found once.
    let range = format!("@bd_base, {t}");
    let rules = rules(tracking);
    let mut tables: Vec<&str> = Vec::new();
    for rule in &rules {
        if !tables.contains(&rule.table) {
            tables.push(rule.table);
        }
    }
    let count: Vec<String> = tables
        .iter()
        .map(|table| {
            let breaks: Vec<String> =
                rules.iter().filter(|r| r.table == *table).map(|r| format!("({})", r.breaks)).collect();
            format!("(SELECT COUNT(*) FROM dolt_diff({range}, '{table}') WHERE {})", breaks.join(" OR "))
        })
        .collect();
    let fail = |what: &str, n: &str| {
        format!(
            "SET @bd_guard_{what} = {n};\nSELECT IF(@bd_guard_{what} = 0, 'ok', \
             JSON_EXTRACT(CONCAT('{MARKER}:{what}:', @bd_guard_{what}), '$')) AS bd_guard_{what};\n"
        )
    };
    // A peer on another schema version this bd knows (the version guard
    // refuses the others) differs by that migration, which the merge brings.
    let same_version =
        format!("{} <=> {}", crate::tracker::migrate::version_at(Some(&t)), crate::tracker::migrate::version_at(None));
    let mut out = format!("SET @bd_base = DOLT_MERGE_BASE('main', {t});\n");
    out += &fail(
        "schema",
        &format!("(SELECT IF({same_version}, (SELECT COUNT(*) FROM dolt_schema_diff('main', {t})), 0))"),
    );
    out.push_str(&fail("rows", &format!("({})", count.join(" + "))));
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
    let t = sql::lit(&tracking);
    let schema = repo.query(&format!(
        "SELECT from_table_name AS bd_was, to_table_name AS bd_now FROM dolt_schema_diff('main', {t})"
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
    let range = sql::lit(&format!("main...{tracking}"));
    let mut query = String::new();
    for (i, rule) in rules(&tracking).iter().enumerate() {
        let key =
            if rule.table == "issues" { "COALESCE(to_id, from_id)" } else { "COALESCE(to_issue_id, from_issue_id)" };
        if i > 0 {
            query.push_str(" UNION ALL ");
        }
        let _ = write!(
            query,
            "(SELECT '{}' AS bd_table, {key} AS id, {i} AS bd_rule FROM dolt_diff({range}, '{}') WHERE {} LIMIT {SHOWN})",
            rule.table, rule.table, rule.breaks
        );
    }
    let rows = repo.query(&query)?;
    let rules = rules(&tracking);
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
