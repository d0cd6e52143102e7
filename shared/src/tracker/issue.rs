//! The issue model: an issue's fields and their well-known statuses and
//! types, a comment, and how each is read from a row and rendered. Which
//! rows are read, and every write, belong to the modules beside it.

use serde::Serialize;
use std::fmt::Write as _;

use super::sql::Sql;
use crate::clock;
use crate::dolt::Row;
use crate::error::UserError;
use crate::output::{Report, Style};

/// Declares the well-known spellings of an open set: the ones bd itself
/// writes and the shell completes. Other well-formed words are as valid
/// (see [`super::validate::WORD_RULE`]).
macro_rules! known_words {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $(#[allow(missing_docs)] $variant),+ }

        impl $name {
            /// Every well-known spelling, for completion.
            pub const NAMES: &'static [&'static str] = &[$($text),+];
            /// The stored spelling.
            #[must_use]
            pub fn as_str(self) -> &'static str { match self { $(Self::$variant => $text),+ } }
        }
    };
}

known_words! {
    /// An issue's well-known statuses: bd's own and upstream beads'.
    Status {
        Open => "open",
        InProgress => "in_progress",
        Blocked => "blocked",
        Deferred => "deferred",
        Closed => "closed",
        Hooked => "hooked",
        Pinned => "pinned",
    }
}

known_words! {
    /// An issue's well-known types: bd's own and upstream beads'.
    IssueType {
        Bug => "bug",
        Feature => "feature",
        Task => "task",
        Epic => "epic",
        Chore => "chore",
        Message => "message",
        Agent => "agent",
        Convoy => "convoy",
    }
}

/// Parses a priority `0`–`4` (also `P0`–`P4`).
pub fn parse_priority(s: &str) -> Result<i64, UserError> {
    let digits = s.strip_prefix(['P', 'p']).unwrap_or(s);
    match digits.parse::<i64>() {
        Ok(p) if (0..=4).contains(&p) => Ok(p),
        _ => Err(UserError::usage(format!(
            "invalid priority {}: expected 0-4 (0 is most urgent)",
            crate::error::quoted(s)
        ))),
    }
}

/// One issue with its labels, as shown and exported.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Issue {
    /// The id, `<prefix>-<random>`.
    pub id: String,
    /// The title.
    pub title: String,
    /// Free text.
    pub description: String,
    /// `open`, `in_progress`, `closed`, … (an open set; see [`Status`]).
    pub status: String,
    /// 0 (most urgent) to 4.
    pub priority: i64,
    /// `bug`, `task`, `epic`, … (an open set; see [`IssueType`]).
    pub issue_type: String,
    /// Who works on it.
    pub assignee: Option<String>,
    /// Who owns it.
    pub owner: Option<String>,
    /// Who created it.
    pub created_by: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC.
    pub updated_at: String,
    /// RFC 3339, UTC, when closed.
    pub closed_at: Option<String>,
    /// Why it was closed.
    pub close_reason: Option<String>,
    /// The town that created it, `bd:<town>`.
    pub source_system: Option<String>,
    /// A reference in another system.
    pub external_ref: Option<String>,
    /// Labels, sorted.
    pub labels: Vec<String>,
}

/// The columns [`Issue::from_row`] reads, as a SELECT list over `issues i`.
pub(super) const SELECT_COLUMNS: Sql = Sql::raw(
    "i.id, i.title, i.description, i.status, i.priority, i.issue_type, i.assignee, i.owner, i.created_by, \
     i.created_at, i.updated_at, i.closed_at, i.close_reason, i.source_system, i.external_ref",
);

fn text(row: &Row, col: &str) -> Option<String> {
    match row.get(col)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn time(row: &Row, col: &str) -> Option<String> {
    text(row, col).map(|t| clock::sql_to_rfc3339(&t))
}

impl Issue {
    /// Builds an issue from a row selected with the tracker's issue columns.
    #[must_use]
    pub fn from_row(row: &Row, labels: Vec<String>) -> Self {
        Self {
            id: text(row, "id").unwrap_or_default(),
            title: text(row, "title").unwrap_or_default(),
            description: text(row, "description").unwrap_or_default(),
            status: text(row, "status").unwrap_or_default(),
            priority: row.get("priority").and_then(serde_json::Value::as_i64).unwrap_or(2),
            issue_type: text(row, "issue_type").unwrap_or_default(),
            assignee: text(row, "assignee"),
            owner: text(row, "owner"),
            created_by: text(row, "created_by"),
            created_at: time(row, "created_at").unwrap_or_default(),
            updated_at: time(row, "updated_at").unwrap_or_default(),
            closed_at: time(row, "closed_at"),
            close_reason: text(row, "close_reason"),
            source_system: text(row, "source_system"),
            external_ref: text(row, "external_ref"),
            labels,
        }
    }

    /// One line for lists: `id [P1] [type] status - title`.
    #[must_use]
    pub fn line(&self, style: Style) -> String {
        let assignee = self.assignee.as_deref().map(|a| format!(" @{a}")).unwrap_or_default();
        format!(
            "{} [P{}] [{}] {} - {}{}\n",
            style.bold(&self.id),
            self.priority,
            self.issue_type,
            self.status,
            self.title,
            style.dim(&assignee)
        )
    }

    /// The full human rendering for `show`.
    #[must_use]
    pub fn details(&self, style: Style) -> String {
        let mut out = format!("{}: {}\n", style.bold(&self.id), self.title);
        let mut field = |name: &str, value: &str| {
            let _ = writeln!(out, "{:<14}{value}", format!("{name}:"));
        };
        field("Status", &self.status);
        field("Priority", &format!("P{}", self.priority));
        field("Type", &self.issue_type);
        for (name, value) in [
            ("Assignee", &self.assignee),
            ("Owner", &self.owner),
            ("Created by", &self.created_by),
            ("Source", &self.source_system),
        ] {
            if let Some(v) = value {
                field(name, v);
            }
        }
        field("Created", &self.created_at);
        field("Updated", &self.updated_at);
        if let Some(closed) = &self.closed_at {
            field("Closed", closed);
        }
        if let Some(reason) = &self.close_reason {
            field("Reason", reason);
        }
        if !self.labels.is_empty() {
            field("Labels", &self.labels.join(", "));
        }
        if !self.description.is_empty() {
            let _ = write!(out, "\n{}\n", self.description);
        }
        out
    }
}

impl Report for Issue {
    fn human(&self, style: Style) -> String {
        self.details(style)
    }
}

/// A comment on an issue.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Comment {
    /// The comment's id.
    pub id: String,
    /// The issue it belongs to.
    pub issue_id: String,
    /// Who wrote it.
    pub author: Option<String>,
    /// The text.
    pub text: String,
    /// RFC 3339, UTC.
    pub created_at: String,
}

impl Comment {
    /// Builds a comment from a `comments` row.
    #[must_use]
    pub fn from_row(row: &Row) -> Self {
        Self {
            id: text(row, "id").unwrap_or_default(),
            issue_id: text(row, "issue_id").unwrap_or_default(),
            author: text(row, "author"),
            text: text(row, "text").unwrap_or_default(),
            created_at: time(row, "created_at").unwrap_or_default(),
        }
    }
}

impl Report for Comment {
    fn human(&self, style: Style) -> String {
        format!("Comment {} added to {}\n", style.dim(&self.id), style.bold(&self.issue_id))
    }
}

/// An issue just written, shown as one line saying what happened (JSON: the
/// issue itself).
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Written {
    #[serde(skip)]
    verb: &'static str,
    issue: Issue,
}

impl Written {
    /// `verb` is `Created`, `Updated`, `Closed`, …
    #[must_use]
    pub fn new(verb: &'static str, issue: Issue) -> Self {
        Self { verb, issue }
    }

    /// The issue.
    #[must_use]
    pub fn issue(&self) -> &Issue {
        &self.issue
    }
}

impl Report for Written {
    fn human(&self, style: Style) -> String {
        format!("{} issue {}: {}\n", style.green(self.verb), style.bold(&self.issue.id), self.issue.title)
    }
}

/// A list of issues (JSON: an array, `[]` when empty).
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct IssueList(pub Vec<Issue>);

impl Report for IssueList {
    fn human(&self, style: Style) -> String {
        if self.0.is_empty() {
            return "No issues found.\n".to_owned();
        }
        self.0.iter().map(|i| i.line(style)).collect()
    }
}
