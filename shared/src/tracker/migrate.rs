//! Schema versions and the migrations between them.
//!
//! `metadata.schema_version` is versioned with the data: the genesis holds
//! `'1'`, and every migration bumps it in the same commit as its DDL. Towns
//! migrate on their own, so a migration must come out the same everywhere:
//! fixed DDL (no generated defaults, no per-town values), a fixed message and
//! a fixed author. Two towns that made the same migration then merge without
//! a schema conflict, whichever merges first.
//!
//! Migrations run when a town is made (`bd init`, with or without `--from`)
//! and before every exchange with peers (under the write lock), so a town
//! never merges a peer while it is on an older schema than this bd's.
//!
//! Peers: one on a newer schema than this bd knows is refused before any
//! merge or push ([`SchemaAhead`]). One on an older schema is merged: its rows
//! hold a subset of what ours can hold, so nothing is lost, and a push brings
//! its `main` to our version, the very migration it would make itself.
//!
//! This module owns the versions, the steps and the SQL that reads and
//! guards them; the fetches, merges and pushes the guard protects are
//! [`crate::federation`]'s.

use std::fmt;

use serde_json::Value;

use super::Town;
use super::sql::{Sql, ToSql, sql};
use crate::dolt::{Repo, Row};
use crate::env;

/// The schema version the genesis holds.
pub const GENESIS_VERSION: u32 = 1;

/// The author of every migration commit: the same in every town.
pub const AUTHOR: &str = "bd <bd@bd>";

/// One step from version `n - 1` to `n`.
#[derive(Debug)]
pub struct Migration {
    /// The statements; fixed text, the same in every town.
    pub ddl: &'static str,
}

/// The migrations of released schemas, in order: the first leads from the
/// genesis (v1) to v2. None yet.
const RELEASED: &[Migration] = &[];

/// A migration that exists only for tests (`BD_TEST_SCHEMA_V2=1`): the step
/// after the last released one, adding a nullable column with no default,
/// to prove that towns migrating on their own still merge.
const TEST_STEP: Migration = Migration { ddl: "ALTER TABLE issues ADD COLUMN bd_test_v2 TEXT;" };

/// The migrations this bd knows, in order. The test step exists only in
/// debug builds (the suite's), so no variable can migrate a released bd's
/// town to a schema no release knows.
fn migrations() -> Vec<&'static Migration> {
    let mut all: Vec<&'static Migration> = RELEASED.iter().collect();
    if cfg!(debug_assertions) && env::flag(env::BD_TEST_SCHEMA_V2).unwrap_or(false) {
        all.push(&TEST_STEP);
    }
    all
}

/// The newest schema version this bd knows.
#[must_use]
pub fn known() -> u32 {
    GENESIS_VERSION + u32::try_from(migrations().len()).unwrap_or(u32::MAX - GENESIS_VERSION)
}

/// The message of the migration commit to version `to`.
#[must_use]
pub fn message(to: u32) -> String {
    format!("bd: migrate schema to v{to}")
}

/// Whose schema is newer than this bd knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A peer, by name.
    Peer(String),
    /// This town (a newer bd migrated it).
    Town,
}

/// A schema newer than this bd knows: nothing is merged, pushed or made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaAhead {
    /// Whose it is.
    pub holder: Holder,
    /// Its version, as stored (a version that is not a number is unknown too).
    pub found: String,
    /// The newest this bd knows.
    pub known: u32,
}

impl fmt::Display for SchemaAhead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.holder {
            Holder::Peer(name) => write!(f, "peer '{name}' uses schema v{}", self.found)?,
            Holder::Town => write!(f, "this town uses schema v{}", self.found)?,
        }
        write!(
            f,
            "; this bd knows up to v{}: upgrade bd (nothing was changed; any bd that knows v{} can exchange with it)",
            self.known, self.found
        )
    }
}

impl std::error::Error for SchemaAhead {}

/// Reads a version as dolt returns it (text in `metadata.value`).
fn parse(value: Option<&Value>) -> Option<u32> {
    value.and_then(|v| v.as_u64().and_then(|n| u32::try_from(n).ok()).or_else(|| v.as_str()?.trim().parse().ok()))
}

/// The subquery reading the schema version at `at` (a ref as a SQL
/// value), or of the working set when `None`.
fn version_of(at: Option<&Sql>) -> Sql {
    let as_of = at.map(|r| sql!(" AS OF {}", r)).unwrap_or_default();
    sql!("(SELECT value FROM metadata{} WHERE `key` = 'schema_version')", as_of)
}

/// The variables [`read_versions`] sets: the schema version of the peer
/// at its ref, and of this town's working set.
const PEER_VERSION: Sql = Sql::raw("@bd_peer_schema");
const OWN_VERSION: Sql = Sql::raw("@bd_own_schema");

/// The statement that reads the schema versions of the peer at the ref
/// `tracking` (e.g. `b/main`) and of this town, once, into the variables
/// that [`standing_columns`], [`guard`] and the schema check's base read:
/// each read at a ref costs dolt a look-up of that ref's root. It comes
/// before them in the same script, and fails as they would when the ref is
/// missing.
#[must_use]
pub fn read_versions(tracking: &str) -> Sql {
    sql!("SET {} = {}, {} = {};\n", PEER_VERSION, version_of(Some(&tracking.to_sql())), OWN_VERSION, version_of(None))
}

/// A revision of this town whose schema is the one of the schema version
/// the peer is on (after [`read_versions`]): our own `main` when it is on
/// ours, else the commit before our migration away from it. A version this
/// bd cannot place gives `main`, so any difference is seen.
#[must_use]
pub(crate) fn schema_of_version_at() -> Sql {
    let genesis = GENESIS_VERSION.to_string();
    let peer = sql!("COALESCE({}, {})", PEER_VERSION, genesis);
    let own = sql!("COALESCE({}, {})", OWN_VERSION, genesis);
    let mut out = sql!("(CASE WHEN {} = {} THEN 'main'", peer, own);
    for from in GENESIS_VERSION..known() {
        let migrated =
            sql!("(SELECT CONCAT(commit_hash, '~1') FROM dolt_log WHERE message = {} LIMIT 1)", message(from + 1));
        out.push(&sql!(" WHEN {} = {} THEN COALESCE({}, 'main')", peer, from.to_string(), migrated));
    }
    out.push(&Sql::raw(" ELSE 'main' END)"));
    out
}

/// The schema version of a repository's working set.
pub fn version(repo: &Repo) -> anyhow::Result<u32> {
    let rows = repo.query(&sql!("SELECT {} AS v", version_of(None)))?;
    Ok(parse(rows.first().and_then(|r| r.get("v"))).unwrap_or(GENESIS_VERSION))
}

/// Refuses a schema newer than this bd knows.
pub fn check(holder: Holder, found: u32) -> Result<(), SchemaAhead> {
    let known = known();
    if found > known { Err(SchemaAhead { holder, found: found.to_string(), known }) } else { Ok(()) }
}

/// Refuses a stored version (`None`: none stored) this bd does not know.
fn check_stored(holder: Holder, value: Option<&Value>) -> Result<(), SchemaAhead> {
    let Some(value) = value else { return Ok(()) };
    match parse(Some(value)) {
        Some(found) => check(holder, found),
        None => Err(SchemaAhead {
            holder,
            found: crate::error::quoted(&value.as_str().map_or_else(|| value.to_string(), str::to_owned)),
            known: known(),
        }),
    }
}

/// Brings the town to the newest schema this bd knows: one commit per
/// migration, each with its fixed message and author. The caller holds the
/// write lock (or is `bd init`, whose town nobody else sees yet). Without any
/// migration compiled in, nothing is read: every town is at least on the
/// genesis.
pub fn apply(town: &Town) -> anyhow::Result<u32> {
    let steps = migrations();
    if steps.is_empty() {
        return Ok(GENESIS_VERSION);
    }
    let mut current = version(town.repo())?;
    check(Holder::Town, current)?;
    for (to, step) in (GENESIS_VERSION + 1..).zip(steps) {
        if to <= current {
            continue;
        }
        let statements = sql!(
            "{}\nUPDATE metadata SET value = {} WHERE `key` = 'schema_version';",
            Sql::raw(step.ddl),
            to.to_string()
        );
        town.commit_whole_as(&statements, &message(to), AUTHOR)?;
        current = to;
    }
    Ok(current)
}

/// Columns for the fetch script's standing row: the peer's schema version
/// and ours, as [`read_versions`] read them.
#[must_use]
pub fn standing_columns() -> Sql {
    sql!(", {} AS peer_schema, {} AS own_schema", PEER_VERSION, OWN_VERSION)
}

/// The versions this bd knows, as the SQL list `('1', '2', …)`.
fn known_list() -> Sql {
    sql!("({})", Sql::join((GENESIS_VERSION..=known()).map(|v| v.to_string().to_sql()), ", "))
}

/// A statement that stops a script (before its merge or push) when the peer
/// or this town is on a schema this bd does not know (after
/// [`read_versions`]); its failure carries no data, [`check_standing`] says
/// why. The versions are compared as text: dolt casts a TEXT column to 0
/// (`CAST(value AS UNSIGNED)` and `value + 0` both), and a version that is
/// not a number is not one this bd knows either. A `SET`, as a statement
/// that returns no rows costs dolt less.
#[must_use]
pub fn guard() -> Sql {
    let unknown = |version: Sql| sql!("COALESCE({}, {}) NOT IN {}", version, GENESIS_VERSION.to_string(), known_list());
    sql!(
        "SET @bd_schema_known = IF({} OR {}, JSON_EXTRACT('bd-schema-ahead', '$'), 'ok');",
        unknown(PEER_VERSION),
        unknown(OWN_VERSION)
    )
}

/// The refusal for a standing row (see [`standing_columns`]) whose peer or
/// town is on a newer schema than this bd knows.
pub fn check_standing(peer: &str, row: Option<&Row>) -> Result<(), SchemaAhead> {
    let Some(row) = row else { return Ok(()) };
    check_stored(Holder::Peer(peer.to_owned()), row.get("peer_schema"))?;
    check_stored(Holder::Town, row.get("own_schema"))
}

/// The schema version of this town and, from the last fetched state, of
/// each named peer, every one of them fetched before (`None` for a peer
/// without a version).
pub fn versions(repo: &Repo, fetched_peers: &[String]) -> anyhow::Result<(u32, Vec<Option<u32>>)> {
    let mut columns = vec![sql!("{} AS own", version_of(None))];
    for (i, peer) in fetched_peers.iter().enumerate() {
        columns.push(sql!("{} AS p{}", version_of(Some(&format!("{peer}/main").to_sql())), i));
    }
    let rows = repo.query(&sql!("SELECT {}", Sql::join(columns, ", ")))?;
    let row = rows.first();
    let own = parse(row.and_then(|r| r.get("own"))).unwrap_or(GENESIS_VERSION);
    Ok((own, (0..fetched_peers.len()).map(|i| parse(row.and_then(|r| r.get(&format!("p{i}"))))).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_names_both_versions_and_the_fix() {
        let err = SchemaAhead { holder: Holder::Peer("north".into()), found: "3".into(), known: 2 };
        assert!(
            err.to_string().starts_with("peer 'north' uses schema v3; this bd knows up to v2: upgrade bd"),
            "{err}"
        );
        let err = SchemaAhead { holder: Holder::Town, found: "2".into(), known: 1 };
        assert!(err.to_string().starts_with("this town uses schema v2; this bd knows up to v1: upgrade bd"), "{err}");
    }

    /// The ref names a peer: it is quoted wherever the guard reads it.
    #[test]
    fn the_guard_quotes_the_ref() {
        let hostile = "o'b\\x/main";
        let as_of = r"metadata AS OF 'o\'b\\x/main' WHERE";
        let sql = read_versions(hostile);
        assert!(sql.as_str().contains(as_of), "{sql}");
        assert_eq!(sql.as_str().matches("AS OF").count(), 1, "{sql}");
    }

    #[test]
    fn versions_are_read_as_text_or_numbers() {
        assert_eq!(parse(Some(&Value::String("2".into()))), Some(2));
        assert_eq!(parse(Some(&Value::from(3))), Some(3));
        assert_eq!(parse(Some(&Value::String("two".into()))), None);
        assert_eq!(parse(None), None);
    }
}
