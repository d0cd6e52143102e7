//! Where the town's data may go, confirmed on this machine.
//!
//! `.beads/config.yaml` travels with the project's git repository, so a
//! contributor, a fork or a compromised account can change it. A change
//! there that widens where the town's data goes — `federation.remote`, a
//! lowered tier, wider `federation.allowed-remote-patterns`, a new peer or a
//! peer's new endpoint — takes effect only once the user confirms it here
//! (`bd federation trust`), the way direnv waits for `direnv allow`.
//!
//! What is confirmed is kept outside the project, in
//! `$XDG_DATA_HOME/bd/trust/<hash of the .beads path>.json` (default
//! `~/.local/share/bd/…`), so nothing a clone carries can confirm itself.
//! Changes bd itself writes (`bd config set`, `add-peer`, `remove-peer`)
//! are the user's own and are confirmed as they are written; narrowing
//! changes (a removed peer, a higher tier) never need confirming.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::federation::peer_field;
use super::{Change, Key, Origin, PeerField, Resolved, Tier};
use crate::env;

/// The settings that decide where data goes, as `key → value` (lists as
/// their comma-joined text).
type Destinations = BTreeMap<String, String>;

/// Whether a dotted key decides where the town's data goes.
fn is_destination(key: &str) -> bool {
    key == Key::FederationRemote.name()
        || key == Key::FederationSovereignty.name()
        || key == Key::FederationAllowedRemotePatterns.name()
        || peer_field(key).is_some_and(|(_, field)| matches!(field, PeerField::Endpoint | PeerField::Sovereignty))
}

/// What a widening change reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "scope", content = "peer")]
pub enum Scope {
    /// Every peer (the town's tier, its allowed patterns).
    All,
    /// `federation.remote`, the peer `bd sync` calls `origin`.
    Remote,
    /// One peer.
    Peer(String),
}

/// One change from the project file that widens where data goes and that
/// this machine has not confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Widening {
    /// What it reaches.
    #[serde(flatten)]
    pub scope: Scope,
    /// The change, in words.
    pub change: String,
}

impl Widening {
    /// Whether an exchange with the peer `name` depends on this change.
    #[must_use]
    pub fn applies_to(&self, name: &str) -> bool {
        match &self.scope {
            Scope::All => true,
            Scope::Remote => name == "origin",
            Scope::Peer(peer) => peer == name,
        }
    }
}

/// Where this machine keeps what it confirmed for the town at `beads_dir`.
fn store_path(beads_dir: &Path) -> Option<PathBuf> {
    let base =
        env::path(env::XDG_DATA_HOME).or_else(|| env::path(env::HOME).map(|h| h.join(".local").join("share")))?;
    let canonical = beads_dir.canonicalize().unwrap_or_else(|_| beads_dir.to_owned());
    let digest = Sha256::digest(canonical.to_string_lossy().as_bytes());
    let name = crate::credentials::to_hex(&digest[..16]);
    Some(base.join("bd").join("trust").join(format!("{name}.json")))
}

/// The stored record: the town it is for (for people reading it) and what
/// was confirmed.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Record {
    beads_dir: String,
    confirmed: Destinations,
}

fn load(beads_dir: &Path) -> Destinations {
    store_path(beads_dir)
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|bytes| serde_json::from_slice::<Record>(&bytes).ok())
        .map(|r| r.confirmed)
        .unwrap_or_default()
}

fn save(beads_dir: &Path, confirmed: Destinations) -> anyhow::Result<()> {
    let path = store_path(beads_dir).ok_or_else(|| anyhow::anyhow!("no home directory to keep confirmations in"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    }
    let record = Record { beads_dir: beads_dir.display().to_string(), confirmed };
    crate::fsutil::write_private(&path, serde_json::to_string_pretty(&record)?.as_bytes())
}

/// The destination settings that come from the project file.
fn from_project(config: &Resolved) -> Destinations {
    config
        .entries()
        .filter(|(key, entry)| is_destination(key) && matches!(entry.origin, Origin::Project(_)))
        .map(|(key, entry)| (key.to_owned(), entry.value.to_string()))
        .collect()
}

/// The tier a value names; an absent or unknown one counts as T1 (no limit).
fn tier(value: Option<&String>) -> Tier {
    value.and_then(|v| v.parse().ok()).unwrap_or(Tier::T1)
}

fn peer_of(key: &str) -> Option<&str> {
    peer_field(key).map(|(name, _)| name)
}

/// The changes in `current` that widen where data goes beyond `confirmed`.
fn compare(confirmed: &Destinations, current: &Destinations) -> Vec<Widening> {
    let mut out = Vec::new();
    let mut keys: Vec<&String> = confirmed.keys().chain(current.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let (was, now) = (confirmed.get(key), current.get(key));
        if was == now {
            continue;
        }
        let shown = |v: Option<&String>| v.map_or_else(|| "unset".to_owned(), |v| crate::error::quoted(v));
        if key.ends_with("sovereignty") {
            if tier(now) < tier(was) {
                let scope = peer_of(key).map_or(Scope::All, |p| Scope::Peer(p.to_owned()));
                out.push(Widening { scope, change: format!("{key} lowered from {} to {}", shown(was), shown(now)) });
            }
        } else if key == Key::FederationAllowedRemotePatterns.name() {
            let old: Vec<&str> = was.map(|w| w.split(',').map(str::trim).collect()).unwrap_or_default();
            let new: Vec<&str> =
                now.map(|n| n.split(',').map(str::trim).filter(|p| !old.contains(p)).collect()).unwrap_or_default();
            if !new.is_empty() {
                out.push(Widening { scope: Scope::All, change: format!("{key} now also allows {}", new.join(", ")) });
            }
        } else if let Some(now) = now {
            let scope = peer_of(key).map_or(Scope::Remote, |p| Scope::Peer(p.to_owned()));
            let change = match (peer_of(key), was) {
                (Some(peer), None) => format!("new peer '{peer}' at {}", crate::error::quoted(now)),
                (Some(peer), Some(_)) => {
                    format!("peer '{peer}' now points at {} (was {})", shown(Some(now)), shown(was))
                }
                (None, _) => format!("{key} is now {} (was {})", shown(Some(now)), shown(was)),
            };
            out.push(Widening { scope, change });
        }
    }
    out
}

/// The widening changes of the project file that this machine has not
/// confirmed, for the town at `beads_dir`.
#[must_use]
pub fn unconfirmed(config: &Resolved, beads_dir: &Path) -> Vec<Widening> {
    compare(&load(beads_dir), &from_project(config))
}

/// Confirms the project file's destination settings as they are now.
pub fn confirm(config: &Resolved, beads_dir: &Path) -> anyhow::Result<Vec<Widening>> {
    let pending = unconfirmed(config, beads_dir);
    save(beads_dir, from_project(config))?;
    Ok(pending)
}

/// Records changes bd itself just wrote to the project file at `path`:
/// they are the user's own. Other, unconfirmed changes in the file stay
/// unconfirmed.
pub(super) fn record_written(path: &Path, changes: &[Change<'_>]) -> anyhow::Result<()> {
    let Some(beads_dir) = project_dir(path) else { return Ok(()) };
    let mut confirmed = load(beads_dir);
    let before = confirmed.clone();
    for (key, value) in changes {
        match value {
            Some(value) if is_destination(key) => {
                confirmed.insert((*key).to_owned(), value.to_string());
            }
            Some(_) => {}
            None => confirmed.retain(|k, _| k != key && !k.starts_with(&format!("{key}."))),
        }
    }
    if confirmed == before && store_path(beads_dir).is_some_and(|p| p.exists()) {
        return Ok(());
    }
    save(beads_dir, confirmed)
}

/// The `.beads/` directory when `path` is its project file.
fn project_dir(path: &Path) -> Option<&Path> {
    let dir = path.parent()?;
    (path.file_name()? == "config.yaml" && dir.file_name()? == ".beads").then_some(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> Destinations {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn only_widening_changes_need_confirming() {
        let confirmed = map(&[
            ("federation.sovereignty", "T3"),
            ("federation.allowed-remote-patterns", "file://**"),
            ("federation.peers.hub.endpoint", "file:///srv/hub"),
            ("federation.peers.old.endpoint", "file:///srv/old"),
        ]);
        // Narrowing: a higher tier, fewer patterns, a removed peer.
        let narrower = map(&[("federation.sovereignty", "T4"), ("federation.peers.hub.endpoint", "file:///srv/hub")]);
        assert_eq!(compare(&confirmed, &narrower), []);
        let wider = map(&[
            ("federation.remote", "https://evil.example/db"),
            ("federation.allowed-remote-patterns", "file://**, https://**"),
            ("federation.peers.hub.endpoint", "https://evil.example/hub"),
            ("federation.peers.new.endpoint", "file:///srv/new"),
        ]);
        let found = compare(&confirmed, &wider);
        let scopes: Vec<&Scope> = found.iter().map(|w| &w.scope).collect();
        assert_eq!(
            scopes,
            [&Scope::All, &Scope::Peer("hub".into()), &Scope::Peer("new".into()), &Scope::Remote, &Scope::All],
            "{found:?}"
        );
        assert!(found[0].change.contains("now also allows https://**"), "{found:?}");
        assert!(found[4].change.contains("lowered from 'T3' to unset"), "{found:?}");
        assert!(found[3].applies_to("origin") && !found[3].applies_to("hub"));
    }
}
