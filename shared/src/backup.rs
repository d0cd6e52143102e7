//! The JSONL backup of `git-portable`, `realtime` and `belt-and-suspenders`
//! modes: import what git brought, export, commit. The file's format is
//! [`crate::tracker::jsonl`]'s; the git commit is [`crate::gitrepo`]'s.

use serde::Serialize;

use crate::gitrepo;
use crate::tracker::{Town, jsonl};

/// What one backup round did.
#[derive(Debug, Clone, Serialize)]
pub struct Backup {
    /// Issues imported from the file (what a `git pull` brought in).
    pub imported: jsonl::Imported,
    /// Issues written to the file.
    pub exported: usize,
    /// The git commit made, if the file changed.
    pub git_commit: Option<String>,
}

/// Imports the JSONL file if present, rewrites it from the database and
/// commits it to git when it changed. The caller holds the write lock.
pub fn run(town: &Town) -> anyhow::Result<Backup> {
    let imported = import(town)?;
    let path = jsonl::path(town);
    let exported = jsonl::write(town)?;
    let message = format!("bd sync: {exported} issue(s) from town {}", town.name());
    let git_commit = gitrepo::commit_file(town.workspace().beads_dir(), &path, &message, town.actor())?;
    Ok(Backup { imported, exported, git_commit })
}

/// Imports what a `git pull` brought into the JSONL file, if it is there.
/// The caller holds the write lock.
pub fn import(town: &Town) -> anyhow::Result<jsonl::Imported> {
    let path = jsonl::path(town);
    match std::fs::read_to_string(&path) {
        Ok(text) => jsonl::import(town, &text, &path.display().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(jsonl::Imported::default()),
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    }
}
