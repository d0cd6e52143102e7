//! The local, unversioned audit log of every share:
//! `.beads/federation-log.jsonl`, one JSON object per line, never pushed.

use std::io::Write as _;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::report::IssueCounts;
use crate::workspace::Workspace;

/// One recorded share.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// RFC 3339, UTC.
    pub time: String,
    /// The peer.
    pub peer: String,
    /// `push`, `pull`, `fetch` or `sync`.
    pub operation: String,
    /// The outcome, as in the command's JSON.
    pub status: String,
    /// Commits sent.
    pub commits_out: u64,
    /// Commits received.
    pub commits_in: u64,
    /// Issues sent.
    pub issues_out: IssueCounts,
    /// Issues received.
    pub issues_in: IssueCounts,
    /// Our `main` after the operation.
    pub head: Option<String>,
    /// The failure, if any.
    pub error: Option<String>,
}

/// The audit log of a workspace.
#[derive(Debug, Clone)]
pub struct Log {
    path: PathBuf,
}

impl Log {
    /// The log inside a workspace.
    #[must_use]
    pub fn new(workspace: &Workspace) -> Self {
        Self { path: workspace.beads_dir().join("federation-log.jsonl") }
    }

    /// Appends one entry (one short line, appended in one write).
    pub fn append(&self, entry: &Entry) -> anyhow::Result<()> {
        let mut line = serde_json::to_string(entry)?;
        line.push('\n');
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&self.path)?;
        file.write_all(line.as_bytes())?;
        Ok(())
    }

    /// Every entry, oldest first, optionally for one peer. Unreadable lines
    /// (a torn write after a crash) are skipped.
    pub fn entries(&self, peer: Option<&str>) -> anyhow::Result<Vec<Entry>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str::<Entry>(l).ok())
            .filter(|e| peer.is_none_or(|p| e.peer == p))
            .collect())
    }

    /// When the peer last exchanged data successfully (push, pull or sync).
    pub fn last_sync(&self, peer: &str) -> anyhow::Result<Option<String>> {
        Ok(self
            .entries(Some(peer))?
            .into_iter()
            .rev()
            .find(|e| e.error.is_none() && e.operation != "fetch")
            .map(|e| e.time))
    }
}
