//! Federation: sharing a town's issues with peer towns through Dolt remotes.
//!
//! [`open`] checks the prerequisites every federation command shares (the
//! Dolt backend, direct access to the database, a federation sync mode) and
//! returns the town. Beside this file:
//!
//! - `exchange`: each peer in turn, the audit log entry of each, and the
//!   dispatch of one operation to its file;
//! - `fetch`: the one script each exchange starts with (fetch, standing, and
//!   for a plain pull or sync the merge and push in the same dolt process);
//! - `push`: a plain push in one round trip, from the last fetched state, and
//!   the pushes that need the peer's current state (after a pull, filtered
//!   lineages, sanitized shares);
//! - `pull`: the trust-boundary checks, the merge plan and the merge;
//! - `sync`: a pull then a push, and its retries after a lost push race;
//! - [`status`]: every peer surveyed in one dolt process, each within its bound;
//! - [`join`]: laying a town onto an unrelated peer's lineage;
//! - `state`: read-only questions about where the town stands;
//! - `lineage`: the snapshot branches of exclusions, sanitized tiers and joins;
//! - `outgoing`, `sanitized`: what those snapshots hold;
//! - `merge`, `guard`: field-level merges, and the checks on what a peer sends;
//! - [`remote`]: talking to a peer (bounds, retries, credentials, errors);
//! - [`peers`], [`clone`], [`sovereignty`], [`audit`], [`report`].
//!
//! What an operation reads from configuration it reads once, typed, from
//! [`crate::config::FederationSettings`].

pub mod audit;
pub mod clone;
pub mod exchange;
mod fetch;
mod guard;
pub mod join;
mod lineage;
mod merge;
mod outgoing;
pub mod peers;
mod pull;
mod push;
pub mod remote;
pub mod report;
mod sanitized;
pub mod sovereignty;
mod state;
pub mod status;
mod sync;

use std::time::{Duration, Instant};

use crate::config::{Key, SyncMode};
use crate::context::Context;
use crate::error::UserError;
use crate::tracker::Town;
use crate::workspace::Workspace;

/// Opens the town for a federation command, or explains the unmet
/// prerequisite and the command that fixes it.
pub fn open(ctx: &Context) -> anyhow::Result<Town> {
    let mode = ctx.config().sync_mode().map_err(|e| UserError::failure(e.to_string()))?;
    if !mode.allows_federation() {
        let origin = ctx.config().origin(Key::SyncMode);
        return Err(UserError::failure(format!(
            "federation requires sync.mode {} or {}, but sync.mode is {mode} (from {origin})",
            SyncMode::DoltNative,
            SyncMode::BeltAndSuspenders
        ))
        .with_hint("run `bd config set sync.mode dolt-native`")
        .into());
    }
    let workspace = ctx.workspace()?;
    if !workspace.has_dolt() {
        // Town::open explains the legacy-SQLite and missing-database cases.
        return ctx.town();
    }
    check_direct_access(&workspace)?;
    ctx.town()
}

/// The refusal of an exchange with `peer` while a change to the project
/// file that it depends on waits for this machine's confirmation.
pub(crate) fn unconfirmed_refusal(
    pending: &[crate::config::trust::Widening],
    peer: &str,
    workspace: &Workspace,
) -> Option<UserError> {
    let changes: Vec<&str> = pending.iter().filter(|w| w.applies_to(peer)).map(|w| w.change.as_str()).collect();
    if changes.is_empty() {
        return None;
    }
    let file = workspace.project_config();
    let who = crate::gitrepo::last_change(&file).unwrap_or_else(|| "not in a git repository".to_owned());
    Some(
        UserError::failure(format!(
            "the exchange with peer '{peer}' depends on changes to {} that this machine has not confirmed: {}; \
             the file was {who}. Nothing was sent or fetched",
            file.display(),
            changes.join("; ")
        ))
        .with_hint(
            "if you made or accept these changes, run `bd federation trust` (it lists them first with --dry-run)",
        ),
    )
}

/// Refuses when a `dolt sql-server` (or another dolt process) holds the
/// database: the CLI would then open it read-only or route through the server.
fn check_direct_access(workspace: &Workspace) -> anyhow::Result<()> {
    let dolt_dir = workspace.dolt_dir().join(".dolt");
    let info = dolt_dir.join("sql-server.info");
    if let Ok(text) = std::fs::read_to_string(&info) {
        let pid = text.split(':').next().unwrap_or("?").trim().to_owned();
        if crate::workspace::process_gone(&pid) {
            return Err(UserError::failure(format!(
                "federation requires direct database access, but {} says a dolt sql-server (pid {pid}) serves it, and no such process runs",
                info.display()
            ))
            .with_hint(format!("the server is gone: delete {} and run the command again", info.display()))
            .into());
        }
        return Err(UserError::failure(format!(
            "federation requires direct database access, but a dolt sql-server (pid {pid}) is serving {}",
            workspace.dolt_dir().display()
        ))
        .with_hint(format!("stop the server (kill {pid}) and run the command again"))
        .into());
    }
    let lock = dolt_dir.join("noms").join("LOCK");
    if let Ok(file) = std::fs::File::open(&lock) {
        // A short-lived dolt process may hold it briefly; a server holds it for good.
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            match file.try_lock() {
                Ok(()) => {
                    let _ = file.unlock();
                    break;
                }
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(_) => {
                    return Err(UserError::failure(format!(
                        "federation requires direct database access, but another process holds {}",
                        lock.display()
                    ))
                    .with_hint(
                        "stop the dolt process using this database (a dolt sql-server?) and run the command again",
                    )
                    .into());
                }
            }
        }
    }
    Ok(())
}
