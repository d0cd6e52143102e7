//! Starting a town from a peer's `main` (`bd init --from`): a bounded
//! `dolt clone` of the endpoint's dolt URL, checked to be a bd town on a
//! schema this bd knows, then registered as a peer the way
//! `bd federation add-peer` registers one. `bd init` does all of it out of
//! sight and moves the town into place last.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::peers::{self, NewPeer};
use super::remote::Peer;
use crate::config::{Resolved, Tier};
use crate::credentials::Secret;
use crate::dolt::{Dolt, Repo};
use crate::error::{self, UserError};
use crate::peer::{self, Endpoint};
use crate::tracker::sql::sql;
use crate::tracker::{Town, genesis, migrate, schema};

/// Where a new town comes from.
#[derive(Debug)]
pub struct Source {
    /// The peer's name in the new town.
    pub name: String,
    /// Its endpoint.
    pub endpoint: Endpoint,
    /// The remotesapi user and password, if any.
    pub credentials: Option<(String, Secret)>,
    /// The bound on the clone (`--timeout`'s default, `federation.timeout`).
    pub timeout: Duration,
}

/// The peer name `--from` gives an endpoint without `--peer`: the last part
/// of its path without `.git` (`file:///srv/hub` → `hub`,
/// `dolthub://org/beads` → `beads`), when that is a valid peer name.
pub fn default_name(endpoint: &Endpoint) -> Result<String, UserError> {
    let path = endpoint.as_str().split_once("://").map_or(endpoint.as_str(), |(_, rest)| rest);
    let last = path.rsplit(['/', ':']).find(|p| !p.is_empty()).unwrap_or_default();
    let name = last.strip_suffix(".git").unwrap_or(last);
    peer::check_name(name).map(|()| name.to_owned()).map_err(|err| {
        UserError::usage(format!(
            "cannot name the peer after {}: {err}",
            error::quoted(&peer::redacted(endpoint.as_str()))
        ))
        .with_hint("name it with --peer NAME")
    })
}

/// Clones the peer's `main` into `dolt_dir` (which must not exist), with
/// the dolt remote already named after the peer, and checks that it is a bd
/// town on a schema this bd knows. On error `dolt_dir` may hold a partial
/// clone: the caller removes it.
pub fn clone_into(dolt: &Dolt, source: &Source, dolt_dir: &Path) -> anyhow::Result<()> {
    let parent = dolt_dir.parent().ok_or_else(|| anyhow::anyhow!("{} has no parent", dolt_dir.display()))?;
    let peer =
        Peer::with_credentials(source.name.clone(), source.endpoint.clone(), Tier::T1, source.credentials.clone());
    if let Some(dir) = peer.missing_directory() {
        return Err(peer.directory_gone(&dir).into());
    }
    let target = dolt_dir.to_string_lossy();
    let args = ["clone", "--branch", schema::BRANCH, "--remote", &source.name, source.endpoint.dolt_url(), &target];
    peer.call(&dolt.repo(parent.to_owned()), &args, Instant::now() + source.timeout)?;
    check_town(&dolt.repo(dolt_dir.to_owned()), &source.name, &source.endpoint)
}

/// Refuses a clone that is not a bd town: no `issues` or `metadata` table,
/// or a history that does not start from bd's genesis (it could never
/// merge with other towns); or one on a schema this bd does not know.
fn check_town(repo: &Repo, name: &str, endpoint: &Endpoint) -> anyhow::Result<()> {
    let rows = repo.query(&sql!(
        "SELECT (SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() \
         AND table_name IN ('issues', 'metadata')) AS tables, \
         (SELECT COUNT(*) FROM dolt_log WHERE commit_hash = {}) AS genesis",
        genesis::SCHEMA_COMMIT
    ))?;
    let count = |col: &str| rows.first().and_then(|r| r.get(col)).and_then(Value::as_u64).unwrap_or(0);
    let why = match (count("tables"), count("genesis")) {
        (2, 1) => None,
        (2, _) => Some(format!("its history does not start from bd's genesis commit {}", genesis::SCHEMA_COMMIT)),
        _ => Some("it has no issues and metadata tables".to_owned()),
    };
    if let Some(why) = why {
        return Err(UserError::failure(format!(
            "peer '{name}' ({}) is not a bd town: {why}; nothing was made",
            peer::redacted(endpoint.as_str())
        ))
        .with_hint("start from a bd town's endpoint, or run `bd init` without --from for a town of its own")
        .into());
    }
    migrate::check(migrate::Holder::Peer(name.to_owned()), migrate::version(repo)?)?;
    Ok(())
}

/// Registers the source as a peer of the new `town`, exactly as
/// `bd federation add-peer` does (its dolt remote is the clone's).
pub fn register(town: &Town, config: &Resolved, source: Source) -> anyhow::Result<()> {
    peers::add(
        town,
        config,
        &NewPeer {
            name: source.name,
            endpoint: source.endpoint,
            sovereignty: None,
            credentials: source.credentials,
            force: false,
        },
    )
}
