//! The local, unversioned audit log of every share:
//! `.beads/federation-log.jsonl`, one JSON object per line, never pushed.

use std::collections::BTreeMap;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::report::{IssueCounts, Status};
use crate::workspace::Workspace;

/// One recorded share.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// RFC 3339, UTC.
    pub time: String,
    /// The peer.
    pub peer: String,
    /// What was done.
    pub operation: Operation,
    /// The outcome, as in the command's JSON.
    pub status: Status,
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

/// What a recorded share did.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Downloaded the peer's state (also each peer of a status).
    Fetch,
    /// Sent ours.
    Push,
    /// Received and merged theirs.
    Pull,
    /// Pulled, then pushed.
    Sync,
    /// Laid this town onto the peer's unrelated lineage.
    Join,
}

impl Operation {
    /// The word in the log and in output.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Fetch => "fetch",
            Operation::Push => "push",
            Operation::Pull => "pull",
            Operation::Sync => "sync",
            Operation::Join => "join",
        }
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl From<super::exchange::Operation> for Operation {
    fn from(operation: super::exchange::Operation) -> Self {
        match operation {
            super::exchange::Operation::Fetch => Operation::Fetch,
            super::exchange::Operation::Push => Operation::Push,
            super::exchange::Operation::Pull => Operation::Pull,
            super::exchange::Operation::Sync => Operation::Sync,
        }
    }
}

/// What reading the log found.
#[derive(Debug, Clone, Default)]
pub struct Read {
    /// The entries, oldest first.
    pub entries: Vec<Entry>,
    /// The 1-based numbers of the lines that are not entries.
    pub skipped: Vec<usize>,
}

impl Read {
    /// The warning for the skipped lines of `path`, if any.
    #[must_use]
    pub fn warning(&self, path: &Path) -> Option<String> {
        const SHOWN: usize = 10;
        let (first, rest) = self.skipped.split_at(self.skipped.len().min(SHOWN));
        let mut lines: Vec<String> = first.iter().map(ToString::to_string).collect();
        if !rest.is_empty() {
            lines.push(format!("and {} more", rest.len()));
        }
        match first {
            [] => None,
            [_] if rest.is_empty() => {
                Some(format!("{}: line {} is not a readable entry and was skipped", path.display(), lines.join(", ")))
            }
            _ => Some(format!(
                "{}: lines {} are not readable entries and were skipped",
                path.display(),
                lines.join(", ")
            )),
        }
    }
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

    /// The log file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one entry (one short line, appended in one write). A last
    /// line without its newline (a crash mid-append) is ended first, so the
    /// new entry is never glued onto it and lost with it.
    pub fn append(&self, entry: &Entry) -> anyhow::Result<()> {
        let mut line = serde_json::to_string(entry)?;
        line.push('\n');
        let io = |e: std::io::Error| anyhow::anyhow!("cannot append to the audit log {}: {e}", self.path.display());
        let mut file = std::fs::OpenOptions::new().create(true).read(true).append(true).open(&self.path).map_err(io)?;
        if file.metadata().map_err(io)?.len() > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::End(-1)).map_err(io)?;
            file.read_exact(&mut last).map_err(io)?;
            if last[0] != b'\n' {
                line.insert(0, '\n');
            }
        }
        file.write_all(line.as_bytes()).map_err(io)?;
        Ok(())
    }

    /// Every entry, oldest first, optionally for one peer, and the numbers
    /// of the lines that are not entries (a torn write after a crash, bytes
    /// that are not text), which are skipped so nothing else is lost.
    pub fn read(&self, peer: Option<&str>) -> anyhow::Result<Read> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Read::default()),
            Err(e) => return Err(anyhow::anyhow!("cannot read the audit log {}: {e}", self.path.display())),
        };
        let mut read = Read::default();
        // Line by line as bytes: one damaged line cannot make the rest unreadable.
        for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<Entry>(line) {
                Ok(entry) if peer.is_none_or(|p| entry.peer == p) => read.entries.push(entry),
                Ok(_) => {}
                Err(_) => read.skipped.push(n + 1),
            }
        }
        Ok(read)
    }

    /// Every entry, oldest first, optionally for one peer; unreadable lines
    /// are skipped (see [`Log::read`] for which).
    pub fn entries(&self, peer: Option<&str>) -> anyhow::Result<Vec<Entry>> {
        Ok(self.read(peer)?.entries)
    }

    /// When the peer last exchanged data successfully (push, pull or sync).
    pub fn last_sync(&self, peer: &str) -> anyhow::Result<Option<String>> {
        Ok(self.last_exchanges()?.remove(peer).and_then(|last| last.sync))
    }

    /// For every peer in the log, when it last answered and when it last
    /// exchanged data, from one read of the log.
    pub fn last_exchanges(&self) -> anyhow::Result<BTreeMap<String, LastExchange>> {
        let mut out: BTreeMap<String, LastExchange> = BTreeMap::new();
        for entry in self.entries(None)?.into_iter().filter(|e| e.error.is_none()) {
            let last = out.entry(entry.peer).or_default();
            if entry.operation != Operation::Fetch {
                last.sync = Some(entry.time.clone());
            }
            last.answered = Some(entry.time);
        }
        Ok(out)
    }
}

/// A peer's last successful exchanges, as the audit log tells them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastExchange {
    /// The last operation of any kind that succeeded (a fetch included).
    pub answered: Option<String>,
    /// The last push, pull or sync that succeeded.
    pub sync: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(peer: &str) -> Entry {
        Entry {
            time: "2026-01-01T00:00:00Z".to_owned(),
            peer: peer.to_owned(),
            operation: Operation::Push,
            status: Status::Pushed,
            commits_out: 1,
            commits_in: 0,
            issues_out: IssueCounts::default(),
            issues_in: IssueCounts::default(),
            head: None,
            error: None,
        }
    }

    #[test]
    fn operations_and_statuses_are_the_words_of_the_log() {
        use crate::federation::exchange::Operation as Exchanged;
        for (op, word) in [
            (Exchanged::Fetch, "fetch"),
            (Exchanged::Push, "push"),
            (Exchanged::Pull, "pull"),
            (Exchanged::Sync, "sync"),
        ] {
            let op = Operation::from(op);
            assert_eq!((op.as_str(), serde_json::to_value(op).expect("json")), (word, serde_json::json!(word)));
        }
        let statuses = [
            Status::Pushed,
            Status::Pulled,
            Status::Fetched,
            Status::Synced,
            Status::UpToDate,
            Status::DryRun,
            Status::Conflict,
            Status::Failed,
            Status::Joined,
        ];
        for status in statuses {
            let json = serde_json::to_value(status).expect("json");
            assert_eq!(json, serde_json::json!(status.as_str()));
            assert_eq!(serde_json::from_value::<Status>(json).expect("back"), status);
        }
        assert_eq!(format!("{:<5}|", Operation::Join), "join |");
    }

    #[test]
    fn damage_costs_only_the_damaged_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = Log::new(&Workspace::at(dir.path().to_owned()));
        log.append(&entry("a")).expect("append");
        let mut bytes = std::fs::read(log.path()).expect("read");
        bytes.extend_from_slice(b"\xff not text\n{\"time\":\"torn");
        std::fs::write(log.path(), &bytes).expect("damage");
        log.append(&entry("b")).expect("append");
        let read = log.read(None).expect("read");
        let peers: Vec<&str> = read.entries.iter().map(|e| e.peer.as_str()).collect();
        assert_eq!((peers, read.skipped.clone()), (vec!["a", "b"], vec![2, 3]));
        let warning = read.warning(log.path()).expect("warning");
        assert!(warning.ends_with("federation-log.jsonl: lines 2, 3 are not readable entries and were skipped"));
        assert_eq!(log.entries(Some("b")).expect("b").len(), 1);
    }

    #[test]
    fn the_last_exchanges_are_read_per_peer_in_one_pass() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = Log::new(&Workspace::at(dir.path().to_owned()));
        let at = |peer: &str, operation: Operation, time: &str, failed: bool| Entry {
            time: time.to_owned(),
            operation,
            error: failed.then(|| "unreachable".to_owned()),
            ..entry(peer)
        };
        for e in [
            at("a", Operation::Fetch, "t1", false),
            at("a", Operation::Push, "t2", false),
            at("b", Operation::Pull, "t3", false),
            at("a", Operation::Pull, "t4", true),
            at("a", Operation::Fetch, "t5", false),
            at("b", Operation::Fetch, "t6", true),
        ] {
            log.append(&e).expect("append");
        }
        let last = log.last_exchanges().expect("read");
        let of = |peer: &str| last.get(peer).map(|l| (l.answered.as_deref(), l.sync.as_deref()));
        assert_eq!(of("a"), Some((Some("t5"), Some("t2"))));
        assert_eq!(of("b"), Some((Some("t3"), Some("t3"))));
        assert_eq!(log.last_sync("a").expect("a").as_deref(), Some("t2"));
    }
}
