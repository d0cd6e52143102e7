//! The tracker: a town (its identity, its Dolt repository, who acts) and
//! every read and write of its work items.
//!
//! Every write takes the town's write lock, checks its input against
//! [`validate`], runs as one `dolt sql` transaction and ends in exactly one
//! Dolt commit whose author is the acting person, or changes nothing.
//!
//! The tracker owns the SQL of issues and their rows, written only with
//! [`sql`], behind typed functions ([`Town::create`], [`Town::edit`],
//! [`Town::list`], …) so that handlers hold none. It leaves running dolt to
//! [`crate::dolt`], the `.beads/` directory and its lock file to
//! [`crate::workspace`], settings to [`crate::config`], exchanges with peers
//! to [`crate::federation`] (which works on the town's repository) and
//! printing to [`crate::output`].

mod comment;
mod create;
mod edit;
pub mod genesis;
mod graph;
mod id;
mod issue;
pub mod jsonl;
pub mod migrate;
pub mod schema;
pub mod sql;
pub mod validate;

use std::time::Duration;

use serde_json::Value;

pub use create::NewIssue;
pub use edit::Edit;
pub use graph::{BLOCKS, Blocked, DELETED, DEP_TYPES, Filter, Link, Stats, TreeNode, settable_status};
pub use id::{issue_id, random_base36, row_id};
pub use issue::{Comment, Issue, IssueList, IssueType, Status, Written, parse_priority};

use crate::config::{Key, Resolved, SyncMode};
use crate::dolt::{Dolt, DoltError, Repo, Row};
use crate::env;
use crate::error::{self, UserError};
use crate::output::Printer;
use crate::workspace::{Workspace, WriteLock};
use sql::{Sql, sql};

/// A person recorded as the author of writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    /// Display name.
    pub name: String,
    /// Email (or a stable pseudo-address).
    pub email: String,
}

impl Author {
    /// The acting person: `BD_ACTOR`, else `$USER`, else `bd`; the address is
    /// `<name>@<town>` so commits need no global dolt identity.
    #[must_use]
    pub fn acting(town: &str) -> Self {
        let name = env::get(env::BD_ACTOR).or_else(|| env::get(env::USER)).unwrap_or_else(|| "bd".to_owned());
        let local: String =
            name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect();
        Self { email: format!("{local}@{town}"), name }
    }

    /// `Name <email>`, as dolt's `--author` takes it.
    #[must_use]
    pub fn signature(&self) -> String {
        format!("{} <{}>", self.name, self.email)
    }
}

/// A town: its workspace, its Dolt repository and who it is.
#[derive(Debug, Clone)]
pub struct Town {
    workspace: Workspace,
    repo: Repo,
    name: String,
    prefix: String,
    actor: Author,
    lock_wait: Duration,
    mode: SyncMode,
    export_file: String,
    printer: Option<Printer>,
}

impl Town {
    /// Opens an initialised town.
    pub fn open(workspace: Workspace, dolt: &Dolt, config: &Resolved) -> anyhow::Result<Self> {
        if !workspace.has_dolt() {
            let legacy = std::fs::read_dir(workspace.beads_dir())
                .into_iter()
                .flatten()
                .flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "db"));
            let err = if legacy {
                UserError::failure(format!(
                    "{} holds a legacy SQLite database; bd requires the Dolt backend",
                    workspace.beads_dir().display()
                ))
                .with_hint("export it with the old tool (`bd export`), run `bd init` here, then `bd import` the JSONL")
            } else {
                UserError::failure(format!("no Dolt database in {}", workspace.dolt_dir().display()))
                    .with_hint("run `bd init` to create this town")
            };
            return Err(err.into());
        }
        let name = config.string(Key::TownName).unwrap_or_else(|| default_town_name(&workspace));
        let prefix = config.string(Key::TownPrefix).unwrap_or_else(|| default_prefix(&name));
        let actor = Author::acting(&name);
        let lock_wait = config.duration(Key::LockTimeout)?;
        let mode = config.sync_mode()?;
        let export_file = export_file(config)?;
        Ok(Self {
            repo: dolt.repo(workspace.dolt_dir()),
            workspace,
            name,
            prefix,
            actor,
            lock_wait,
            mode,
            export_file,
            printer: None,
        })
    }

    /// Gives the town the printer its warnings go to (a write that dolt
    /// committed before it failed says so).
    #[must_use]
    pub fn with_printer(mut self, printer: Printer) -> Self {
        self.printer = Some(printer);
        self
    }

    /// Assembles a town that `init` just created.
    #[must_use]
    pub fn new(workspace: Workspace, repo: Repo, name: String, prefix: String) -> Self {
        let actor = Author::acting(&name);
        Self {
            workspace,
            repo,
            name,
            prefix,
            actor,
            lock_wait: Duration::from_secs(10),
            mode: SyncMode::GitPortable,
            export_file: "issues.jsonl".to_owned(),
            printer: None,
        }
    }

    /// The sync mode the town was opened with.
    #[must_use]
    pub fn mode(&self) -> SyncMode {
        self.mode
    }

    /// The JSONL export file's name under `.beads/` (`export.path`).
    #[must_use]
    pub fn export_file(&self) -> &str {
        &self.export_file
    }

    /// How long a writer waits for another (`lock.timeout`).
    #[must_use]
    pub fn lock_wait(&self) -> Duration {
        self.lock_wait
    }

    /// The workspace.
    #[must_use]
    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    /// The Dolt repository.
    #[must_use]
    pub fn repo(&self) -> &Repo {
        &self.repo
    }

    /// The town's name (its federation identity).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The issue-id prefix.
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The value written to `source_system` for issues created here.
    #[must_use]
    pub fn source_system(&self) -> String {
        format!("bd:{}", self.name)
    }

    /// The acting person.
    #[must_use]
    pub fn actor(&self) -> &Author {
        &self.actor
    }

    /// Runs `statements` and commits the result as one Dolt commit with
    /// `message`, under the write lock. Returns the commit hash.
    pub fn write(&self, statements: &Sql, message: &str) -> anyhow::Result<String> {
        let lock = self.lock()?;
        self.write_locked(&lock, statements, message)
    }

    /// Takes the town's write lock (waiting up to `lock.timeout`).
    pub fn lock(&self) -> anyhow::Result<WriteLock> {
        self.workspace.lock_for_write(self.lock_wait)
    }

    /// Like [`Town::write`], for a caller that already holds the lock because
    /// it read what it writes from.
    pub fn write_locked(&self, _lock: &WriteLock, statements: &Sql, message: &str) -> anyhow::Result<String> {
        let rows = self.commit_whole(statements, message)?;
        if self.mode == SyncMode::Realtime {
            // Realtime mode keeps the JSONL export current after every write.
            jsonl::write(self)?;
        }
        Ok(rows.iter().rev().find_map(|r| r.get("hash").and_then(Value::as_str)).unwrap_or_default().to_owned())
    }

    /// Runs `statements` and their commit as one transaction, so a failing
    /// statement leaves the working set exactly as it was, and only when
    /// the working set holds no changes bd did not make (those would be
    /// committed under our message). The check is the script's first query,
    /// so it costs no dolt process of its own. The caller holds the lock.
    fn commit_whole(&self, statements: &Sql, message: &str) -> anyhow::Result<Vec<Row>> {
        validate::fits("events", "actor", "acting person (BD_ACTOR or $USER)", &self.actor.name)?;
        self.commit_whole_as(statements, message, &self.actor.signature())
    }

    /// [`Town::commit_whole`] with another author (migrations are made by
    /// bd itself, the same in every town).
    fn commit_whole_as(&self, statements: &Sql, message: &str, author: &str) -> anyhow::Result<Vec<Row>> {
        let script = sql!(
            "SET autocommit = 0;\n{};\n{}\nCALL DOLT_COMMIT('-A', '-m', {}, '--author', {});\nCOMMIT;\n",
            PENDING_GUARD,
            statements,
            message,
            author
        );
        let out = match self.repo.call(["sql", "-r", "json"]).sql(&script).run() {
            Ok(out) => out,
            Err(err) => {
                if let Some(refusal) = self.pending_changes(&err) {
                    return Err(refusal.into());
                }
                return self.committed_despite(err, message);
            }
        };
        Ok(crate::dolt::parse_rows(&out.stdout).unwrap_or_default())
    }

    /// After a write script failed: whether its commit happened anyway.
    /// dolt can fail after committing (on a full disk it commits, then
    /// crashes while closing the store), and a user told "failed" would run
    /// the command again and make a duplicate. The evidence, in order: the
    /// row `DOLT_COMMIT` printed, checked against the branch while dolt can
    /// still read it; else a head that moved past the guard's `bd_head` to a
    /// commit with our message. When the guard printed nothing, the script
    /// stopped before its commit. Committed: success with a warning.
    fn committed_despite(&self, err: DoltError, message: &str) -> anyhow::Result<Vec<Row>> {
        let rows = err.stdout().and_then(|s| crate::dolt::parse_rows(s).ok()).unwrap_or_default();
        let field = |name: &str| rows.iter().rev().find_map(|r| r.get(name)?.as_str().map(str::to_owned));
        let (printed, before) = (field("hash"), field("bd_head"));
        let head = self
            .repo
            .query(&Sql::raw("SELECT commit_hash AS h, message AS m FROM dolt_log WHERE commit_hash = HASHOF('HEAD')"))
            .ok()
            .and_then(|r| r.into_iter().next());
        let committed = match (&head, &printed) {
            (Some(row), _) => {
                let hash = row.get("h").and_then(Value::as_str);
                let moved = before.is_some() && hash != before.as_deref();
                let ours = row.get("m").and_then(Value::as_str) == Some(message);
                (printed.is_some() && hash == printed.as_deref()) || (printed.is_none() && moved && ours)
            }
            // dolt cannot read now; it printed the commit only once it was written.
            (None, Some(_)) => true,
            (None, None) if before.is_none() => false,
            (None, None) => {
                return Err(anyhow::Error::new(err).context(format!(
                    "the write may or may not have been committed: dolt failed during it and cannot read the \
                     database now to tell; once the cause below is fixed, look with `bd list` or `bd show` (or \
                     `dolt log` in {}) before running the command again",
                    self.repo.dir().display()
                )));
            }
        };
        if !committed {
            return Err(err.into());
        }
        if let Some(printer) = &self.printer {
            let hash = printed.or_else(|| head.and_then(|r| r.get("h")?.as_str().map(str::to_owned)));
            printer.warn(&format!(
                "the change was committed ({}) and is saved, so do not run the command again; dolt failed \
                 afterwards: {err}",
                hash.as_deref().unwrap_or("commit")
            ));
        }
        Ok(rows)
    }

    /// The refusal for a write the pending-changes guard stopped, naming
    /// the tables; `None` for any other failure.
    fn pending_changes(&self, err: &DoltError) -> Option<UserError> {
        let text = err.stderr()?;
        // dolt quotes the invalid JSON text; the guard's own text (or a
        // title quoting it) has the marker after a single quote.
        let (_, rest) = text.split_once(&format!("\"{PENDING_MARKER}"))?;
        let tables: String = rest.chars().take_while(|&c| c != '"' && c != '\n').collect();
        let tables: Vec<String> = tables.split(',').map(str::to_owned).collect();
        Some(pending_error(&tables, self.repo.dir()))
    }

    /// The tables with changes in the working set that no commit holds
    /// (what a write would refuse to commit), for `bd doctor`.
    pub fn pending_tables(&self) -> anyhow::Result<Vec<String>> {
        let rows = self.repo.query(&Sql::raw("SELECT table_name FROM dolt_status ORDER BY table_name"))?;
        Ok(rows.iter().filter_map(|r| r.get("table_name").and_then(Value::as_str).map(str::to_owned)).collect())
    }

    /// Issues matching a WHERE clause over `issues i`, with their labels.
    fn issues_where(&self, condition: &Sql) -> anyhow::Result<Vec<Issue>> {
        self.issues_limited(condition, None)
    }

    /// Like [`Town::issues_where`], the first `limit` of them (most urgent,
    /// then oldest, first).
    fn issues_limited(&self, condition: &Sql, limit: Option<usize>) -> anyhow::Result<Vec<Issue>> {
        Ok(self.issues_with(&Sql::default(), condition, limit)?.into_iter().map(|(issue, _)| issue).collect())
    }

    /// Like [`Town::issues_limited`], with `extra` columns (each `, expr AS
    /// name`, over `issues i`) read in the same query and returned with
    /// each issue's row.
    fn issues_with(&self, extra: &Sql, condition: &Sql, limit: Option<usize>) -> anyhow::Result<Vec<(Issue, Row)>> {
        let limit = limit.map(|n| sql!(" LIMIT {}", n)).unwrap_or_default();
        // One query: the labels ride along as a JSON array per issue.
        let rows = self.repo.query(&sql!(
            "SELECT {}, JSON_ARRAYAGG(l.label) AS labels{} FROM issues i LEFT JOIN labels l ON l.issue_id = i.id \
                 WHERE {} GROUP BY i.id ORDER BY i.priority, i.created_at, i.id{}",
            issue::SELECT_COLUMNS,
            extra,
            condition,
            limit
        ))?;
        Ok(rows
            .into_iter()
            .map(|row: Row| {
                let mut labels = text_array(row.get("labels"));
                labels.sort();
                (Issue::from_row(&row, labels), row)
            })
            .collect())
    }

    /// One issue by id; a "no such issue" error otherwise, also for an
    /// issue deleted (whose deletion record stays).
    pub fn issue(&self, id: &str) -> anyhow::Result<Issue> {
        validate::id(id)?;
        let found = self.issues_where(&sql!("i.id = {}", id))?.into_iter().next();
        match found {
            Some(issue) if issue.status != DELETED => Ok(issue),
            Some(_) => Err(UserError::failure(format!("issue {} was deleted", error::quoted(id)))
                .with_hint(
                    "its deletion record stays so that peers delete it too; `bd list --status tombstone` shows it",
                )
                .into()),
            None => Err(UserError::failure(format!("no issue {} in town {}", error::quoted(id), self.name))
                .with_hint("run `bd list` to see the ids")
                .into()),
        }
    }
}

/// The first query of every write script: it passes on a clean working set
/// and otherwise fails, with [`PENDING_MARKER`] and the changed tables in
/// dolt's message (dolt has no conditional `SIGNAL` outside procedures, so
/// an invalid JSON text built from the table names raises the error).
///
/// It also reports the head the write starts from (`bd_head`), so a write
/// that fails can tell whether its commit happened.
const PENDING_GUARD: Sql = Sql::raw(
    "SELECT IF(COUNT(*) = 0, 'clean', JSON_EXTRACT(CONCAT('bd-pending-changes:', \
     GROUP_CONCAT(table_name ORDER BY table_name)), '$')) AS bd_guard, HASHOF('HEAD') AS bd_head FROM dolt_status",
);

/// What [`PENDING_GUARD`]'s failure carries before the table names.
const PENDING_MARKER: &str = "bd-pending-changes:";

/// The refusal of a write over changes bd did not make, with the fix (also
/// `bd doctor`'s finding).
#[must_use]
pub fn pending_error(tables: &[String], dolt_dir: &std::path::Path) -> UserError {
    let tables: Vec<String> = tables.iter().map(|t| error::quoted(t)).collect();
    let dolt_dir = dolt_dir.display();
    UserError::failure(format!(
        "the database has changes no bd command made, in the table(s) {}; bd commits only its own changes, \
         so it writes nothing until they are kept or discarded",
        tables.join(", ")
    ))
    .with_hint(format!(
        "look at them with `dolt status` and `dolt diff` in {dolt_dir}, then keep them with `dolt commit -Am <message>` \
         or discard them with `dolt reset --hard` there"
    ))
}

/// `export.path`, checked wherever it comes from: a file that came with a
/// clone must not name a write target outside `.beads/`.
fn export_file(config: &Resolved) -> anyhow::Result<String> {
    let Some(entry) = config.entry(Key::ExportPath.name()) else { return Ok("issues.jsonl".to_owned()) };
    let value = entry.value.to_string();
    Key::ExportPath.validate(&value).map_err(|err| {
        UserError::failure(format!("{err} (set in {})", entry.origin))
            .with_hint("fix it with `bd config set export.path issues.jsonl`, or `bd config unset export.path`")
    })?;
    Ok(value)
}

/// The tables of the schema a repository lacks (none for a whole town).
pub fn missing_tables(repo: &Repo) -> Result<Vec<&'static str>, DoltError> {
    let rows =
        repo.query(&Sql::raw("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"))?;
    // The column's case differs between dolt versions: take the only one.
    let present: Vec<&str> = rows.iter().filter_map(|r| r.values().next()?.as_str()).collect();
    Ok(schema::TABLES.into_iter().filter(|t| !present.contains(t)).collect())
}

/// The missing tables of a repository that an interrupted `bd init` of an
/// earlier release left: tables missing, and no commit but dolt's first,
/// so it holds no data and can be made again. `None` otherwise.
#[must_use]
pub fn half_made(repo: &Repo) -> Option<Vec<&'static str>> {
    let missing = missing_tables(repo).ok()?;
    let commits = repo.query(&Sql::raw("SELECT COUNT(*) AS n FROM dolt_log")).ok()?;
    let n = commits.first()?.get("n").and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))?;
    (!missing.is_empty() && n <= 1).then_some(missing)
}

/// The default town name: the project directory's name.
#[must_use]
pub fn default_town_name(workspace: &Workspace) -> String {
    workspace
        .beads_dir()
        .parent()
        .and_then(|p| p.file_name())
        .map_or_else(|| "town".to_owned(), |n| n.to_string_lossy().into_owned())
}

/// The default id prefix for a town name: lower-case letters and digits.
#[must_use]
pub fn default_prefix(town: &str) -> String {
    let prefix: String = town.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect();
    if prefix.is_empty() { "bd".to_owned() } else { prefix }
}

/// The texts of a JSON array aggregate (NULLs left out); some dolt
/// versions return the aggregate as JSON text.
fn text_array(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(|l| l.as_str().map(str::to_owned)).collect(),
        Some(Value::String(text)) => {
            serde_json::from_str::<Vec<Option<String>>>(text).unwrap_or_default().into_iter().flatten().collect()
        }
        _ => Vec::new(),
    }
}
