//! Adding, removing and listing peers: the dolt remote, the config entry and
//! the stored credentials change together or not at all.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value as Json;

use crate::config::{self, ConfiguredPeer, FederationSettings, PeerField, PeerProblem, Resolved, Scope, Tier, Value};
use crate::credentials::{Secret, Store};
use crate::dolt::Repo;
use crate::error::UserError;
use crate::peer::{self, Endpoint};
use crate::tracker::Town;
use crate::tracker::sql::Sql;

/// A peer to add.
#[derive(Debug)]
pub struct NewPeer {
    /// The peer's name (checked).
    pub name: String,
    /// Where it lives.
    pub endpoint: Endpoint,
    /// Its own tier, if any.
    pub sovereignty: Option<Tier>,
    /// The remotesapi user and password, if any.
    pub credentials: Option<(String, Secret)>,
    /// Replace a peer of that name: its dolt remote and configured endpoint
    /// become this endpoint (the repair when the two disagree).
    pub force: bool,
}

/// The dolt remotes of a repository, by name.
pub fn dolt_remotes(repo: &Repo) -> anyhow::Result<BTreeMap<String, String>> {
    Ok(repo
        .query(&Sql::raw("SELECT name, url FROM dolt_remotes ORDER BY name"))?
        .iter()
        .filter_map(|r| match (r.get("name"), r.get("url")) {
            (Some(Json::String(n)), Some(Json::String(u))) => Some((n.clone(), u.clone())),
            _ => None,
        })
        .collect())
}

/// Adds a dolt remote without touching its endpoint. `dolt remote add` (and
/// `dolt_remote('add', …)`) creates a `file://` remote's directory on the
/// spot and fails when it cannot, yet a peer may be registered before its
/// disk is mounted: connectivity is checked on the first push or pull. So a
/// `file://` remote is written into the repository's remote list directly,
/// the entry dolt itself would write; other remotes go through dolt, which
/// contacts none of them. Returns the remote list as it was before, when bd
/// wrote it, so that an undo can put back exactly what was there.
pub fn add_remote_lazily(repo: &Repo, name: &str, url: &str) -> anyhow::Result<Option<String>> {
    if !url.starts_with("file://") {
        repo.call(["remote", "add", name, url]).run()?;
        return Ok(None);
    }
    let path = remote_list(repo);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("cannot read dolt's remote list {}: {e}", path.display()))?;
    let mut state: Json = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("dolt's remote list {} is not JSON: {e}", path.display()))?;
    let Some(remotes) = state
        .as_object_mut()
        .map(|s| s.entry("remotes").or_insert_with(|| Json::Object(serde_json::Map::new())))
        .and_then(Json::as_object_mut)
    else {
        anyhow::bail!("dolt's remote list {} has an unexpected shape", path.display());
    };
    remotes.insert(
        name.to_owned(),
        serde_json::json!({
            "name": name,
            "url": url,
            "fetch_specs": [format!("refs/heads/*:refs/remotes/{name}/*")],
            "params": {},
        }),
    );
    let bytes = serde_json::to_vec_pretty(&state)?;
    crate::fsutil::write_atomic(&path, &bytes, crate::fsutil::Links::Refuse)
        .map_err(|e| anyhow::anyhow!("cannot write dolt's remote list {}: {e}", path.display()))?;
    Ok(Some(text))
}

/// dolt's list of a repository's remotes (and its other state).
fn remote_list(repo: &Repo) -> std::path::PathBuf {
    repo.dir().join(".dolt").join("repo_state.json")
}

fn already_exists(name: &str, what: &str) -> UserError {
    UserError::failure(format!("peer already exists: '{name}' ({what})")).with_hint(format!(
        "use a different name, or check existing peers with `bd config list | grep {}`",
        config::PEER_SECTIONS
    ))
}

/// Whether a configured peer's endpoint reaches the same dolt remote as `new`.
fn same_endpoint(configured: &ConfiguredPeer, new: &Endpoint) -> bool {
    configured.endpoint().is_some_and(|e| e.dolt_url() == new.dolt_url())
}

/// The peer of that name as configured, usable or not.
fn configured(config: &Resolved, name: &str) -> Option<ConfiguredPeer> {
    config.peers().into_iter().find(|p| p.name() == name)
}

/// Registers a peer: dolt remote, credentials, then config; undoing the
/// earlier steps when a later one fails. Run again with the same name and
/// endpoint, it finishes a peer that is partly there (a kill after the
/// remote was added, or a remote removed by hand) and keeps what exists.
pub fn add(town: &Town, config: &Resolved, new: &NewPeer) -> anyhow::Result<()> {
    peer::check_name(&new.name)?;
    let _lock = town.lock()?;
    let repo = town.repo();
    let mut remote = dolt_remotes(repo)?.remove(&new.name);
    // --force points an existing name at this endpoint: a dolt remote
    // elsewhere goes (and comes back if a later step fails).
    let replaced = match remote.take_if(|url| new.force && url != new.endpoint.dolt_url()) {
        Some(old) => {
            repo.call(["remote", "remove", new.name.as_str()]).run()?;
            Some(old)
        }
        None => None,
    };
    // Adding the same peer again completes what an interrupted add (or a
    // removed remote) left: the steps already done are kept, not refused.
    let existing = configured(config, &new.name);
    match (existing.as_ref().filter(|_| !new.force), &remote) {
        (Some(existing), None) if same_endpoint(existing, &new.endpoint) => {}
        (Some(existing), _) => {
            return Err(already_exists(&new.name, existing.written_endpoint().unwrap_or("configured")).into());
        }
        (None, Some(url)) if url != new.endpoint.dolt_url() => {
            return Err(UserError::failure(format!(
                "peer already exists: '{0}' is a dolt remote with URL {url}, but not a configured peer (an \
                 interrupted add-peer, or a remote added by hand), and {1} maps to {2}",
                new.name,
                new.endpoint.as_str(),
                new.endpoint.dolt_url()
            ))
            .with_hint(format!(
                "remove it with `bd federation remove-peer {0}`, then add the peer again; or use a different name",
                new.name
            ))
            .into());
        }
        (None, _) => {}
    }
    let add_remote = remote.is_none();
    let before = if add_remote { add_remote_lazily(repo, &new.name, new.endpoint.dolt_url())? } else { None };
    let store = Store::new(town.workspace().beads_dir());
    let result = (|| -> anyhow::Result<()> {
        let key = |field| config::peer_key(&new.name, field);
        let mut changes: Vec<(String, Option<Value>)> =
            vec![(key(PeerField::Endpoint), Some(Value::Scalar(new.endpoint.as_str().to_owned())))];
        if let Some(tier) = new.sovereignty {
            changes.push((key(PeerField::Sovereignty), Some(Value::Scalar(tier.as_str().to_owned()))));
        }
        match &new.credentials {
            Some((user, password)) => {
                changes.push((key(PeerField::User), Some(Value::Scalar(user.clone()))));
                store.save(&new.name, new.endpoint.dolt_url(), user, password)?;
            }
            // A peer new here whose name still has a stored password: it was
            // left by one removed by hand (config entry and dolt remote gone),
            // given for another endpoint, and must not outlive it. A peer
            // being finished keeps its password (it is bound to this URL).
            None if existing.is_none() => {
                store.remove(&new.name)?;
            }
            None => {}
        }
        let changes: Vec<config::Change<'_>> = changes.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        config::update(&town.workspace().project_config(), &changes)?;
        Ok(())
    })();
    if let Err(err) = result {
        // Undo only this run's steps: what an earlier run left stays as found.
        if new.credentials.is_some() {
            let _ = store.remove(&new.name);
        }
        match &before {
            Some(text) => {
                let _ = crate::fsutil::write_atomic(&remote_list(repo), text.as_bytes(), crate::fsutil::Links::Refuse);
            }
            None if add_remote => {
                let _ = repo.call(["remote", "remove", new.name.as_str()]).run();
            }
            None => {}
        }
        if let Some(old) = &replaced {
            let _ = add_remote_lazily(repo, &new.name, old);
        }
        return Err(err.context(format!("peer '{}' was not added; nothing was changed", new.name)));
    }
    Ok(())
}

/// What `remove-peer` removed.
#[derive(Debug, Serialize)]
pub struct Removed {
    /// The peer.
    pub name: String,
    /// Its endpoint, if it was configured.
    pub endpoint: Option<String>,
    /// Always `removed`.
    pub status: &'static str,
}

/// Removes a peer's dolt remote, config entry and credentials.
pub fn remove(town: &Town, config: &Resolved, name: &str) -> anyhow::Result<Removed> {
    peer::check_name(name)?;
    let _lock = town.lock()?;
    // The credentials go last, so a store that cannot be updated must stop
    // the removal before the remote and the config entry are gone.
    let store = Store::new(town.workspace().beads_dir());
    store.check()?;
    let entry = configured(config, name);
    let repo = town.repo();
    let remote_url = dolt_remotes(repo)?.remove(name);
    if entry.is_none() && remote_url.is_none() {
        return Err(UserError::failure(format!("no peer named '{name}'"))
            .with_hint("`bd federation list-peers` shows the configured peers")
            .into());
    }
    // Both of the town's own files lose the peer's section (the user file is
    // shared by every town and is left alone).
    let files = config.files();
    let paths: Vec<std::path::PathBuf> = [Scope::Project, Scope::Local]
        .into_iter()
        .filter_map(|scope| files.path(scope).map(std::path::Path::to_path_buf))
        .collect();
    if remote_url.is_some() {
        repo.call(["remote", "remove", name]).run()?;
    }
    let section = config::peer_section(name);
    for path in paths {
        if let Err(err) = config::update(&path, &[(section.as_str(), None)]) {
            if let Some(url) = &remote_url {
                let _ = repo.call(["remote", "add", name, url.as_str()]).run();
            }
            return Err(
                anyhow::Error::new(err).context(format!("peer '{name}' was not fully removed from {}", path.display()))
            );
        }
    }
    store.remove(name)?;
    // Its lineages go too, so a later peer of the same name starts afresh.
    super::lineage::delete(repo, &super::lineage::of_peer(name))?;
    let endpoint = entry.as_ref().and_then(ConfiguredPeer::written_endpoint).map(str::to_owned);
    Ok(Removed { name: name.to_owned(), endpoint, status: "removed" })
}

/// A peer as `list-peers` shows it.
#[derive(Debug, Serialize)]
pub struct PeerInfo {
    /// The peer's name.
    pub name: String,
    /// The endpoint as configured.
    pub endpoint: Option<String>,
    /// The URL of the dolt remote (`null` when the remote is missing).
    pub dolt_url: Option<String>,
    /// The effective tier: the stricter of the town's and the peer's.
    #[serde(serialize_with = "super::report::serialize_tier")]
    pub sovereignty: Tier,
    /// The remotesapi user, if any.
    pub user: Option<String>,
}

/// The effective tier for a peer: the stricter of the town's and its own.
#[must_use]
pub fn effective_tier(town: Tier, own: Option<Tier>) -> Tier {
    own.map_or(town, |own| town.max(own))
}

/// Every configured peer, with its dolt URL and tier. A peer whose section
/// is broken is listed as written, except one whose tier is not a tier:
/// its effective tier is unknown, so that is an error.
pub fn list(town: &Town, settings: &FederationSettings) -> anyhow::Result<Vec<PeerInfo>> {
    let mut remotes = dolt_remotes(town.repo())?;
    let mut out = Vec::new();
    for peer in &settings.peers {
        let (own, user) = match peer {
            ConfiguredPeer::Valid(p) => (p.tier, &p.user),
            ConfiguredPeer::Invalid(p) if p.problem == PeerProblem::Tier => return Err(p.error.clone().into()),
            ConfiguredPeer::Invalid(p) => (p.tier, &p.user),
        };
        out.push(PeerInfo {
            dolt_url: remotes.remove(peer.name()),
            sovereignty: effective_tier(settings.sovereignty, own),
            name: peer.name().to_owned(),
            endpoint: peer.written_endpoint().map(str::to_owned),
            user: user.clone(),
        });
    }
    Ok(out)
}
