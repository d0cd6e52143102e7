//! What a data-moving command reports, per peer, and how that maps to the
//! exit code: 0 when every peer succeeded, 1 when all failed (or the one
//! peer did), 3 when some failed and others succeeded.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::error::exit;
use crate::output::{Report, Style};

/// Writes a tier as its name (`"T3"`), for the reports that show one.
#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `serialize_with` hands a reference
pub(crate) fn serialize_tier<S: serde::Serializer>(tier: &crate::config::Tier, out: S) -> Result<S::Ok, S::Error> {
    out.serialize_str(tier.as_str())
}

/// Issues added, changed and removed by a share.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct IssueCounts {
    /// New issues.
    pub added: u64,
    /// Changed issues.
    pub changed: u64,
    /// Removed issues.
    pub removed: u64,
}

impl IssueCounts {
    /// Whether nothing moved.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.added + self.changed + self.removed == 0
    }
}

/// The outcome for one peer.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Commits were sent.
    Pushed,
    /// Commits were received and merged.
    Pulled,
    /// The peer's state was downloaded.
    Fetched,
    /// Both directions ran.
    Synced,
    /// Nothing needed to move.
    UpToDate,
    /// `--dry-run`: this is what would move.
    DryRun,
    /// Conflicts stopped the merge (manual strategy).
    Conflict,
    /// The operation failed.
    Failed,
    /// A join laid this town onto the peer's lineage (the audit log's word;
    /// a join reports with its own result).
    Joined,
}

impl Status {
    /// The word in JSON and the audit log.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pushed => "pushed",
            Status::Pulled => "pulled",
            Status::Fetched => "fetched",
            Status::Synced => "synced",
            Status::UpToDate => "up_to_date",
            Status::DryRun => "dry_run",
            Status::Conflict => "conflict",
            Status::Failed => "failed",
            Status::Joined => "joined",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl Status {
    fn ok(self) -> bool {
        !matches!(self, Status::Conflict | Status::Failed)
    }
}

/// One conflicting row and the fields both sides changed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Conflict {
    /// The table.
    pub table: String,
    /// The row's key (the issue id for `issues`).
    pub id: String,
    /// The fields both sides changed to different values.
    pub fields: Vec<String>,
    /// Each of those fields with both values.
    pub values: Vec<FieldValues>,
}

/// One field both sides changed, with each side's value.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FieldValues {
    /// The field.
    pub field: String,
    /// This town's value.
    pub ours: serde_json::Value,
    /// The peer's value.
    pub theirs: serde_json::Value,
}

/// The result for one peer.
#[derive(Debug, Clone, Serialize)]
pub struct PeerResult {
    /// The peer.
    pub peer: String,
    /// Its endpoint.
    pub endpoint: String,
    /// The outcome.
    pub status: Status,
    /// Commits sent (or that would be sent).
    pub commits_out: u64,
    /// Commits received (or that would be received).
    pub commits_in: u64,
    /// Issues sent.
    pub issues_out: IssueCounts,
    /// Issues received.
    pub issues_in: IssueCounts,
    /// Conflicts that stopped a merge.
    pub conflicts: Vec<Conflict>,
    /// Tables whose uncommitted changes (made outside bd) were committed
    /// first, in a commit of their own.
    pub pending_committed: Vec<String>,
    /// The failure, when `status` is `failed` or `conflict`.
    pub error: Option<String>,
    /// Our main after the operation moved data (for the audit log).
    #[serde(skip)]
    pub head: Option<String>,
}

impl PeerResult {
    /// This result followed by `later`, a second round of the same
    /// operation: what came in adds up, the rest is the later round's.
    #[must_use]
    pub fn then(self, later: PeerResult) -> PeerResult {
        let moved_in = self.commits_in > 0 || later.commits_in > 0;
        let status = match later.status {
            Status::UpToDate if moved_in => Status::Synced,
            other => other,
        };
        let pending_committed =
            if self.pending_committed.is_empty() { later.pending_committed } else { self.pending_committed };
        PeerResult {
            commits_in: self.commits_in + later.commits_in,
            issues_in: IssueCounts {
                added: self.issues_in.added + later.issues_in.added,
                changed: self.issues_in.changed + later.issues_in.changed,
                removed: self.issues_in.removed + later.issues_in.removed,
            },
            head: later.head.or(self.head),
            pending_committed,
            status,
            ..later
        }
    }

    /// A result with nothing moved yet.
    #[must_use]
    pub fn new(peer: &str, endpoint: &str) -> Self {
        Self {
            peer: peer.to_owned(),
            endpoint: endpoint.to_owned(),
            status: Status::UpToDate,
            commits_out: 0,
            commits_in: 0,
            issues_out: IssueCounts::default(),
            issues_in: IssueCounts::default(),
            conflicts: Vec::new(),
            pending_committed: Vec::new(),
            error: None,
            head: None,
        }
    }

    /// A failed result.
    #[must_use]
    pub fn failed(peer: &str, endpoint: &str, error: &anyhow::Error) -> Self {
        let mut result = Self::new(peer, endpoint);
        result.status = Status::Failed;
        // One peer's failure is one line of a report: its fix goes with it.
        result.error = Some(match crate::error::hint(error) {
            Some(hint) => format!("{error:#}\nhint: {hint}"),
            None => format!("{error:#}"),
        });
        result
    }
}

/// The result of a push, pull, fetch or sync over one or more peers.
#[derive(Debug, Serialize)]
pub struct Exchange {
    /// `push`, `pull`, `fetch` or `sync`.
    pub operation: &'static str,
    /// Whether this was a `--dry-run`.
    pub dry_run: bool,
    /// One result per peer.
    pub peers: Vec<PeerResult>,
    /// The JSONL backup refreshed after the exchange (`belt-and-suspenders`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jsonl: Option<crate::backup::Backup>,
}

fn counts(label: &str, c: IssueCounts) -> String {
    if c.is_empty() {
        String::new()
    } else {
        format!("; issues {label}: {} new, {} changed, {} removed", c.added, c.changed, c.removed)
    }
}

/// One line per conflicting row: its fields with both values.
pub(super) fn conflict_lines(conflicts: &[Conflict]) -> String {
    let mut text = String::new();
    for c in conflicts {
        let values: Vec<String> = c
            .values
            .iter()
            .map(|v| format!("{}: ours {}, theirs {}", v.field, shown(&v.ours), shown(&v.theirs)))
            .collect();
        let _ = write!(text, "\n  {} {}: {}", c.table, c.id, values.join("; "));
    }
    text
}

/// A field's value in a conflict listing, cut so one long text cannot flood it.
fn shown(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "(none)".to_owned(),
        serde_json::Value::String(text) => crate::error::quoted(text),
        other => other.to_string(),
    }
}

impl Report for Exchange {
    fn human(&self, style: Style) -> String {
        let mut out = String::new();
        for p in &self.peers {
            let line = match p.status {
                Status::Pushed => format!("pushed {} commit(s){}", p.commits_out, counts("out", p.issues_out)),
                Status::Pulled => format!("pulled {} commit(s){}", p.commits_in, counts("in", p.issues_in)),
                Status::Fetched => format!("fetched: {} commit(s) to pull, {} to push", p.commits_in, p.commits_out),
                Status::Synced => format!(
                    "synced: pulled {} commit(s), pushed {} commit(s){}{}",
                    p.commits_in,
                    p.commits_out,
                    counts("in", p.issues_in),
                    counts("out", p.issues_out)
                ),
                Status::UpToDate => "already up to date".to_owned(),
                Status::DryRun => format!(
                    "would move {} commit(s) in and {} out (nothing changed){}{}",
                    p.commits_in,
                    p.commits_out,
                    counts("in", p.issues_in),
                    counts("out", p.issues_out)
                ),
                Status::Joined => "joined".to_owned(),
                Status::Conflict | Status::Failed => continue,
            };
            let _ = writeln!(out, "{}: {line}", style.bold(&p.peer));
            if !p.pending_committed.is_empty() {
                let _ = writeln!(
                    out,
                    "  (first committed the uncommitted changes to {} in a commit of their own)",
                    p.pending_committed.join(", ")
                );
            }
        }
        out
    }

    fn errors(&self) -> Vec<String> {
        let mut errors = Vec::new();
        for p in self.peers.iter().filter(|p| !p.status.ok()) {
            let mut text = p.error.clone().unwrap_or_else(|| format!("peer '{}' failed", p.peer));
            text.push_str(&conflict_lines(&p.conflicts));
            errors.push(text);
        }
        errors
    }

    fn exit_code(&self) -> u8 {
        exit::for_peers(self.peers.iter().filter(|p| !p.status.ok()).count(), self.peers.len())
    }
}
