//! `bd doctor`'s checks: the things that go wrong in a federated town, each
//! with how to fix it.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::config::{Key, Resolved, SyncMode, Tier};
use crate::context::Context;
use crate::federation::{audit, peers};
use crate::peer::Endpoint;

/// How a check came out.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Fine.
    Ok,
    /// Works, but probably not as intended.
    Warn,
    /// Broken.
    Fail,
}

/// One check.
#[derive(Debug, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// The outcome.
    pub level: Level,
    /// What was found.
    pub message: String,
    /// How to fix it, when not ok.
    pub fix: Option<String>,
}

fn check(name: &'static str, level: Level, message: impl Into<String>, fix: Option<String>) -> Check {
    Check { name, level, message: message.into(), fix }
}

/// A peer that has not synced for this long is reported as stale.
pub const STALE_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);

/// Runs every check that applies.
#[must_use]
pub fn run(ctx: &Context) -> Vec<Check> {
    let config = ctx.config();
    let mut out = Vec::new();
    let dolt = match ctx.dolt() {
        Ok(d) => {
            out.push(check("dolt", Level::Ok, format!("dolt {} at {}", d.version(), d.path().display()), None));
            Some(d)
        }
        Err(e) => {
            out.push(check("dolt", Level::Fail, e.to_string(), Some("run scripts/ensure-dolt and set BD_DOLT".into())));
            None
        }
    };
    out.extend(config_checks(config));
    let Ok(town) = ctx.town() else {
        out.push(check("town", Level::Fail, "no usable town here", Some("run `bd init`".into())));
        return out;
    };
    if dolt.is_none() {
        return out;
    }
    let mode = config.sync_mode().unwrap_or(SyncMode::GitPortable);
    if matches!(mode, SyncMode::GitPortable | SyncMode::Realtime | SyncMode::BeltAndSuspenders)
        && git2::Repository::discover(town.workspace().beads_dir()).is_err()
    {
        out.push(check(
            "git",
            Level::Fail,
            format!("sync.mode {mode} keeps a JSONL backup in git, but there is no git repository here"),
            Some("run `git init` in the project, or `bd config set sync.mode dolt-native`".into()),
        ));
    }
    let peers = config.peers();
    if !peers.is_empty() && !mode.allows_federation() {
        out.push(check(
            "mode",
            Level::Warn,
            format!("{} peer(s) configured but sync.mode {mode} disables federation", peers.len()),
            Some("run `bd config set sync.mode dolt-native`".into()),
        ));
    }
    out.extend(peer_checks(config, &town, &peers));
    if let Err(err) = crate::credentials::Store::new(town.workspace().beads_dir()).check() {
        let message = err.chain().next().map(ToString::to_string).unwrap_or_default();
        out.push(check("credentials", Level::Fail, message, crate::error::hint(&err).map(str::to_owned)));
    }
    let conflicts = town
        .repo()
        .query("SELECT COALESCE(SUM(num_conflicts), 0) AS n FROM dolt_conflicts")
        .ok()
        .and_then(|r| r.first().and_then(|r| r.get("n")).and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok())))
        .unwrap_or(0);
    if conflicts > 0 {
        out.push(check(
            "conflicts",
            Level::Fail,
            format!("{conflicts} unresolved conflict(s) in the working set"),
            Some(
                "resolve them with `dolt conflicts resolve --ours|--theirs <table>` in .beads/dolt, then commit".into(),
            ),
        ));
    }
    // Changes made outside bd would be refused by every write.
    if let Ok(tables) = town.pending_tables()
        && !tables.is_empty()
    {
        let err = crate::tracker::pending_error(&tables, town.repo().dir());
        out.push(check("pending", Level::Fail, err.to_string(), err.hint().map(str::to_owned)));
    }
    if out.iter().all(|c| c.level == Level::Ok) {
        out.push(check("town", Level::Ok, format!("town {} is healthy", town.name()), None));
    }
    out
}

/// Each peer: endpoint, dolt remote, tier patterns, staleness; and dolt
/// remotes that no peer explains.
fn peer_checks(config: &Resolved, town: &crate::tracker::Town, peers: &[crate::config::PeerEntry]) -> Vec<Check> {
    let mut out = Vec::new();
    let patterns = config.list(Key::FederationAllowedRemotePatterns);
    let remotes = peers::dolt_remotes(town.repo()).unwrap_or_default();
    let log = audit::Log::new(town.workspace());
    for peer in peers {
        let tier = peers::effective_tier(config, peer).unwrap_or(Tier::T1);
        let Some(Ok(endpoint)) = peer.endpoint.as_deref().map(Endpoint::parse) else {
            out.push(check(
                "peer",
                Level::Fail,
                format!("peer '{}' has no valid endpoint", peer.name),
                Some(format!("`bd federation remove-peer {0}` and add it again", peer.name)),
            ));
            continue;
        };
        match remotes.get(&peer.name) {
            Some(url) if url == endpoint.dolt_url() => {}
            Some(url) => out.push(check(
                "peer",
                Level::Fail,
                format!("peer '{}': config says {} but the dolt remote is {url}", peer.name, endpoint.dolt_url()),
                Some(format!("`bd federation remove-peer {0}` then add it again", peer.name)),
            )),
            None => out.push(check(
                "peer",
                Level::Fail,
                format!("peer '{}' is configured but has no dolt remote", peer.name),
                Some(format!("`bd federation remove-peer {0}` then add it again", peer.name)),
            )),
        }
        if tier >= Tier::T2
            && crate::federation::sovereignty::check_push(&stub(peer, endpoint.clone(), tier), &patterns).is_err()
        {
            out.push(check(
                "sovereignty",
                Level::Warn,
                format!("peer '{}' is at {tier} but its endpoint matches no allowed-remote-patterns: pushes will be refused", peer.name),
                Some(format!("`bd config set federation.allowed-remote-patterns '{}'` if it is allowed", endpoint.as_str())),
            ));
        }
        let last = log.last_sync(&peer.name).ok().flatten();
        let stale = last
            .as_deref()
            .and_then(crate::clock::parse)
            .is_none_or(|t| SystemTime::now().duration_since(t).unwrap_or_default() > STALE_AFTER);
        if stale {
            out.push(check(
                "stale",
                Level::Warn,
                format!("peer '{}' last synced {}", peer.name, last.as_deref().unwrap_or("never")),
                Some(format!("`bd federation sync {}`", peer.name)),
            ));
        }
    }
    for name in remotes.keys() {
        if name != "origin" && !peers.iter().any(|p| &p.name == name) {
            out.push(check(
                "peer",
                Level::Warn,
                format!("dolt remote '{name}' is not a configured peer"),
                Some(format!("add it with `bd federation add-peer {name} <endpoint>` or remove it with `dolt remote remove {name}`")),
            ));
        }
    }
    out
}

fn stub(entry: &crate::config::PeerEntry, endpoint: Endpoint, tier: Tier) -> crate::federation::remote::Peer {
    crate::federation::remote::Peer::unauthenticated(entry.name.clone(), endpoint, tier)
}

fn config_checks(config: &Resolved) -> Vec<Check> {
    let mut out = Vec::new();
    for key in Key::ALL {
        if let Some(value) = config.string(key)
            && let Err(e) = key.validate(&value)
        {
            let origin = config.entry(key.name()).map(|e| e.origin.to_string()).unwrap_or_default();
            out.push(check(
                "config",
                Level::Fail,
                format!("{e} (from {origin})"),
                Some(format!("`bd config set {} <valid value>`", key.name())),
            ));
        }
    }
    if out.is_empty() {
        out.push(check("config", Level::Ok, "configuration is valid", None));
    }
    out
}
