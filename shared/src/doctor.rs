//! `bd doctor`'s checks: the things that go wrong in a federated town, each
//! with how to fix it.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::config::{ConfiguredPeer, FederationSettings, Key, PeerConfig, Resolved, SyncMode, Tier};
use crate::context::Context;
use crate::federation::{audit, peers};
use crate::peer::Endpoint;
use crate::tracker::sql::{Sql, sql};
use crate::workspace::Workspace;

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
            out.push(dolt_check(&d));
            Some(d)
        }
        Err(e) => {
            out.push(check("dolt", Level::Fail, e.to_string(), crate::error::hint(&e).map(str::to_owned)));
            None
        }
    };
    out.extend(config_checks(config));
    let town = match ctx.town() {
        Ok(town) => town,
        Err(err) => {
            // What makes the town unusable is the finding; links and tracked
            // secrets are worth reporting even then.
            if let Some(dir) = ctx.beads_dir().filter(|d| d.is_dir()) {
                let workspace = Workspace::at(dir.to_owned());
                out.extend(link_checks(&workspace));
                out.extend(tracked_checks(&workspace));
            }
            if out.iter().all(|c| c.level == Level::Ok) || ctx.beads_dir().is_none() {
                let message = err.chain().next().map_or_else(|| "no usable town here".to_owned(), ToString::to_string);
                let fix = crate::error::hint(&err).map_or_else(|| "run `bd init`".to_owned(), str::to_owned);
                // `bd init` needs dolt too: the fix starts with getting one.
                let fix =
                    if dolt.is_none() { format!("get dolt first (see the dolt check), then: {fix}") } else { fix };
                out.push(check("town", Level::Fail, message, Some(fix)));
            }
            return out;
        }
    };
    if dolt.is_none() {
        return out;
    }
    let read_only = writable_check(town.workspace());
    let remotes_unreadable_fix = read_only.as_ref().and_then(|c| c.fix.clone());
    out.extend(read_only);
    out.extend(link_checks(town.workspace()));
    out.extend(tracked_checks(town.workspace()));
    out.extend(schema_check(&town));
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
    // A bad town-wide federation value is the config check's finding; the
    // peer checks need every such value.
    let settings = ctx.federation().ok();
    let peers: &[ConfiguredPeer] = settings.map_or(&[], |s| &s.peers);
    let valid: Vec<&PeerConfig> = peers.iter().filter_map(ConfiguredPeer::valid).collect();
    if !peers.is_empty() && !mode.allows_federation() {
        out.push(check(
            "mode",
            Level::Warn,
            format!("{} peer(s) configured but sync.mode {mode} disables federation", peers.len()),
            Some("run `bd config set sync.mode dolt-native`".into()),
        ));
    }
    out.extend(fetched_peer_checks(&town, &valid));
    if let Some(settings) = settings {
        out.extend(peer_checks(settings, &town, remotes_unreadable_fix));
    }
    out.extend(trust_check(config, town.workspace()));
    if let Err(err) = crate::credentials::Store::new(town.workspace().beads_dir()).check() {
        let message = err.chain().next().map(ToString::to_string).unwrap_or_default();
        out.push(check("credentials", Level::Fail, message, crate::error::hint(&err).map(str::to_owned)));
    } else {
        out.extend(key_checks(town.workspace(), &valid));
    }
    let conflicts = town
        .repo()
        .query(&Sql::raw("SELECT COALESCE(SUM(num_conflicts), 0) AS n FROM dolt_conflicts"))
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

/// The dolt in use: any from the minimum works, but only the pinned build
/// is the one bd is tested against.
fn dolt_check(dolt: &crate::dolt::Dolt) -> Check {
    let pinned = crate::dolt::PINNED_VERSION;
    let found = format!("dolt {} at {}", dolt.version(), dolt.path().display());
    if dolt.version() == pinned {
        return check("dolt", Level::Ok, found, None);
    }
    check(
        "dolt",
        Level::Warn,
        format!(
            "{found} is not the pinned dolt {pinned} that bd is tested against (it works from {})",
            crate::dolt::MIN_VERSION
        ),
        Some(format!(
            "build the pinned one with `scripts/ensure-dolt` from the bd repository (it prints the path of dolt {pinned}) and set BD_DOLT to that path"
        )),
    )
}

/// What the last fetched state of the peers fetched at least once says:
/// schema skew and unrelated histories.
fn fetched_peer_checks(town: &crate::tracker::Town, peers: &[&PeerConfig]) -> Vec<Check> {
    let Ok(fetched) = town.repo().query(&Sql::raw("SELECT name FROM dolt_remote_branches")) else { return Vec::new() };
    let has =
        |p: &str| fetched.iter().any(|r| r.get("name").and_then(|v| v.as_str()) == Some(&format!("remotes/{p}/main")));
    let fetched: Vec<&PeerConfig> = peers.iter().copied().filter(|p| has(&p.name)).collect();
    let mut out = schema_version_checks(town, &fetched);
    out.extend(unrelated_checks(town, &fetched));
    out
}

/// Fetched peers whose last fetched `main` shares no commit with ours:
/// nothing can be merged with them until a join.
fn unrelated_checks(town: &crate::tracker::Town, fetched_peers: &[&PeerConfig]) -> Vec<Check> {
    let columns: Vec<Sql> = fetched_peers
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let t = format!("{}/main", p.name);
            sql!(
                "((SELECT COUNT(*) FROM dolt_log({})) = (SELECT COUNT(*) FROM dolt_log({}))) AS bd_unrelated_{}",
                format!("main..{t}"),
                t,
                i
            )
        })
        .collect();
    if columns.is_empty() {
        return Vec::new();
    }
    let Ok(rows) = town.repo().query(&sql!("SELECT {}", Sql::join(columns, ", "))) else { return Vec::new() };
    let Some(row) = rows.first() else { return Vec::new() };
    fetched_peers
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            row.get(&format!("bd_unrelated_{i}")).is_some_and(|v| v.as_bool() == Some(true) || v.as_u64() == Some(1))
        })
        .map(|(_, p)| {
            check(
                "history",
                Level::Fail,
                format!(
                    "peer '{}' has an unrelated history (made by another tool or an old build): its main shares no \
                     commit with this town's, so nothing can be merged with it",
                    p.name
                ),
                Some(format!("run `bd federation join {} --dry-run`, then `bd federation join {}`", p.name, p.name)),
            )
        })
        .collect()
}

/// Schema skew: this town, and each peer as last fetched, against the
/// versions this bd knows (see `tracker::migrate`).
fn schema_version_checks(town: &crate::tracker::Town, fetched_peers: &[&PeerConfig]) -> Vec<Check> {
    use crate::tracker::migrate;
    let names: Vec<String> = fetched_peers.iter().map(|p| p.name.clone()).collect();
    let Ok((own, theirs)) = migrate::versions(town.repo(), &names) else { return Vec::new() };
    let known = migrate::known();
    let mut out = Vec::new();
    if own > known {
        out.push(check(
            "schema",
            Level::Fail,
            format!("this town uses schema v{own}; this bd knows up to v{known}: upgrade bd"),
            Some(
                "install a bd that knows this schema (the one that migrated the town); until then nothing is exchanged"
                    .into(),
            ),
        ));
    } else if own < known {
        out.push(check(
            "schema",
            Level::Warn,
            format!("this town uses schema v{own}; this bd knows v{known}"),
            Some("the next `bd federation sync` (or any exchange) migrates it first".into()),
        ));
    }
    for (name, version) in names.iter().zip(theirs) {
        match version {
            Some(v) if v > known => out.push(check(
                "schema",
                Level::Fail,
                format!("peer '{name}' uses schema v{v} (as last fetched); this bd knows up to v{known}: upgrade bd"),
                Some(format!("upgrade bd to one that knows v{v}; until then pulls and syncs with '{name}' are refused")),
            )),
            Some(v) if v < own => out.push(check(
                "schema",
                Level::Warn,
                format!("peer '{name}' uses schema v{v} (as last fetched), this town v{own}"),
                Some(format!(
                    "nothing is lost: its data is merged as it is, and a push brings its main to v{own}; the towns using \
                     '{name}' then need a bd that knows v{own}"
                )),
            )),
            _ => {}
        }
    }
    out
}

/// Changes to where data goes that came with the project and wait for
/// `bd federation trust`.
fn trust_check(config: &Resolved, workspace: &Workspace) -> Option<Check> {
    let unconfirmed = crate::config::trust::unconfirmed(config, workspace.beads_dir());
    if unconfirmed.is_empty() {
        return None;
    }
    let changes: Vec<&str> = unconfirmed.iter().map(|w| w.change.as_str()).collect();
    let file = workspace.project_config();
    Some(check(
        "trust",
        Level::Fail,
        format!(
            "{} has changes to where data goes that this machine has not confirmed ({}), so the exchanges they \
             affect stop: {}",
            file.display(),
            crate::gitrepo::last_change(&file).unwrap_or_else(|| "not in a git repository".to_owned()),
            changes.join("; ")
        ),
        Some("review them with `bd federation trust --dry-run`; if you accept them, run `bd federation trust`".into()),
    ))
}

/// Each peer: a broken section, dolt remote, tier patterns, staleness; and
/// dolt remotes that no peer explains.
fn peer_checks(
    settings: &FederationSettings,
    town: &crate::tracker::Town,
    read_only_fix: Option<String>,
) -> Vec<Check> {
    let mut out = Vec::new();
    let peers = &settings.peers;
    let patterns = &settings.allowed_remote_patterns;
    // Remotes that cannot be read are not missing: say why, and judge none.
    let remotes = match peers::dolt_remotes(town.repo()) {
        Ok(remotes) => Some(remotes),
        Err(err) if !peers.is_empty() => {
            out.push(check(
                "peer",
                Level::Fail,
                format!("cannot read the dolt remotes of {} peer(s): {err}", peers.len()),
                read_only_fix,
            ));
            None
        }
        Err(_) => None,
    };
    let log = audit::Log::new(town.workspace());
    for peer in peers {
        let peer = match peer {
            ConfiguredPeer::Valid(peer) => peer,
            ConfiguredPeer::Invalid(broken) => {
                let fix = broken.error.hint().map(str::to_owned);
                out.push(check("peer", Level::Fail, broken.error.to_string(), fix));
                continue;
            }
        };
        let tier = peers::effective_tier(settings.sovereignty, peer.tier);
        let endpoint = &peer.endpoint;
        match remotes.as_ref().map(|r| r.get(&peer.name)) {
            None => {}
            Some(Some(url)) if url == endpoint.dolt_url() => {}
            Some(Some(url)) => out.push(check(
                "peer",
                Level::Fail,
                format!("peer '{}': config says {} but the dolt remote is {url}", peer.name, endpoint.dolt_url()),
                Some(format!("`{}` (its stored password, if any, is asked for again)", readd(peer))),
            )),
            // add-peer with the configured endpoint adds just the remote,
            // keeping the config and the stored password.
            Some(None) => out.push(check(
                "peer",
                Level::Fail,
                format!("peer '{}' is configured but has no dolt remote", peer.name),
                Some(format!("`bd federation add-peer {} {}`", peer.name, endpoint.as_str())),
            )),
        }
        if tier >= Tier::T2 && crate::federation::sovereignty::check_push(&stub(peer, tier), patterns).is_err() {
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
    for (name, url) in remotes.iter().flatten() {
        if name != "origin" && !peers.iter().any(|p| p.name() == name) {
            // add-peer finishes such a peer only with the remote's own
            // endpoint (another is refused as "peer already exists"), so
            // the fix names it; a URL that is no endpoint bd writes cannot be
            // kept, only replaced.
            let keep = Endpoint::parse(url)
                .ok()
                .filter(|e| e.dolt_url() == url)
                .map(|e| format!("keep it as a peer with `bd federation add-peer {name} {}`, or ", e.as_str()));
            out.push(check(
                "peer",
                Level::Warn,
                format!("dolt remote '{name}' is not a configured peer (its URL is {url})"),
                Some(format!(
                    "{}remove it with `bd federation remove-peer {name}` (then add-peer it again with the endpoint you \
                     want)",
                    keep.unwrap_or_default()
                )),
            ));
        }
    }
    out
}

/// The commands that give a peer a new remote and password: remove it, add
/// it again with the same endpoint, user and tier.
fn readd(peer: &PeerConfig) -> String {
    let user = peer.user.as_ref().map(|u| format!(" --user {u}")).unwrap_or_default();
    let tier = peer.tier.map(|t| format!(" --sovereignty {t}")).unwrap_or_default();
    format!("bd federation remove-peer {0} && bd federation add-peer {0} {1}{user}{tier}", peer.name, peer.endpoint)
}

/// Whether bd and dolt can write where they must: dolt writes in its
/// repository even to read, so a read-only `.beads` fails every command,
/// and must not pass for peers without remotes. The fix follows the cause.
fn writable_check(workspace: &Workspace) -> Option<Check> {
    let dolt = workspace.dolt_dir();
    let dirs = [workspace.beads_dir().to_owned(), dolt.clone(), dolt.join(".dolt"), dolt.join(".dolt/noms")];
    let probe = |dir: &Path| -> std::io::Result<()> {
        let path = dir.join(format!(".doctor.tmp.{}", std::process::id()));
        std::fs::OpenOptions::new().write(true).create_new(true).open(&path)?;
        std::fs::remove_file(&path)
    };
    // Files dolt appends to must open for writing too (opening changes nothing).
    let files = std::fs::read_dir(dolt.join(".dolt/noms")).into_iter().flatten().flatten().map(|e| e.path());
    let (place, err) =
        dirs.iter().filter(|d| d.is_dir()).find_map(|d| probe(d).err().map(|e| (d.clone(), e))).or_else(|| {
            files
                .filter(|f| f.is_file())
                .find_map(|f| std::fs::OpenOptions::new().write(true).open(&f).err().map(|e| (f, e)))
        })?;
    let beads = workspace.beads_dir().display();
    let fix = match err.raw_os_error() {
        // EPERM on a write is the immutable attribute, which even root obeys.
        Some(1) => format!("`chattr -R -i {beads}`"),
        Some(13) => format!("`chmod -R u+w {beads}`"),
        Some(30) => format!("the file system holding {beads} is mounted read-only: remount it read-write"),
        _ => format!("make {beads} writable for this user"),
    };
    Some(check(
        "files",
        Level::Fail,
        format!(
            "{} is read-only ({err}): bd cannot write there, and dolt cannot even read the database",
            place.display()
        ),
        Some(fix),
    ))
}

/// The files bd writes under `.beads/`; it never writes them through a
/// link, which a clone could point anywhere.
const WRITTEN: [&str; 9] = [
    "bd.lock",
    "federation-log.jsonl",
    "dolt",
    "config.yaml",
    "config.local.yaml",
    "credentials",
    "credentials.key",
    "pseudonym.key",
    ".gitignore",
];

fn link_checks(workspace: &Workspace) -> Vec<Check> {
    WRITTEN
        .iter()
        .map(|name| workspace.beads_dir().join(name))
        .filter(|path| std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()))
        .map(|path| {
            let to = std::fs::read_link(&path).map(|t| t.display().to_string()).unwrap_or_default();
            // bd makes the lock again; the rest is kept as a copy if the
            // link's target is trusted.
            let fix = match std::fs::canonicalize(&path) {
                Ok(target) if !path.ends_with("bd.lock") => format!(
                    "`rm {0} && cp -a {1} {0}` if you trust {1}, else `rm {0}`",
                    path.display(),
                    target.display()
                ),
                _ => format!("`rm {}`", path.display()),
            };
            check(
                "files",
                Level::Fail,
                format!("{} is a symbolic link to {to}; bd does not write through links under .beads/", path.display()),
                Some(fix),
            )
        })
        .collect()
}

/// Secrets git must not carry: a commit would take them off this machine.
fn tracked_checks(workspace: &Workspace) -> Vec<Check> {
    let secrets: Vec<PathBuf> = ["credentials", "credentials.key", "pseudonym.key", "config.local.yaml"]
        .iter()
        .map(|name| workspace.beads_dir().join(name))
        .collect();
    crate::gitrepo::tracked(workspace.beads_dir(), &secrets)
        .into_iter()
        .map(|(workdir, relative)| {
            check(
                "secrets",
                Level::Fail,
                format!(
                    "{} is tracked by git, so a commit or push can carry it off this machine",
                    workdir.join(&relative).display()
                ),
                Some(format!(
                    "`git -C {} rm -q --cached {}` (and if it was ever pushed, change what it protects)",
                    workdir.display(),
                    relative.display()
                )),
            )
        })
        .collect()
}

/// A database without bd's tables: an interrupted `bd init` of an older
/// release, or tables removed by hand.
fn schema_check(town: &crate::tracker::Town) -> Option<Check> {
    let missing = crate::tracker::missing_tables(town.repo()).ok().filter(|m| !m.is_empty())?;
    let dolt_dir = town.workspace().dolt_dir();
    let fix = if crate::tracker::half_made(town.repo()).is_some() {
        format!(
            "it holds no data: `rm -rf {} && bd --beads-dir {} init`",
            dolt_dir.display(),
            town.workspace().beads_dir().display()
        )
    } else {
        format!("its history holds data: restore {} from a backup, or clone it again from a peer", dolt_dir.display())
    };
    Some(check(
        "town",
        Level::Fail,
        format!(
            "the town is half-made: its database lacks the table(s) {}, so every command fails",
            missing.join(", ")
        ),
        Some(fix),
    ))
}

/// Stored passwords that cannot be read: the key is missing, or it is not
/// the one they were sealed with. Each is decrypted and dropped; nothing of
/// it is shown.
fn key_checks(workspace: &Workspace, peers: &[&PeerConfig]) -> Vec<Check> {
    let store = crate::credentials::Store::new(workspace.beads_dir());
    let lost: Vec<(&PeerConfig, anyhow::Error)> =
        peers.iter().filter_map(|p| store.load(&p.name, p.endpoint.dolt_url()).err().map(|e| (*p, e))).collect();
    if lost.is_empty() {
        return Vec::new();
    }
    let readd_all =
        |lost: &[(&PeerConfig, anyhow::Error)]| -> Vec<String> { lost.iter().map(|(p, _)| readd(p)).collect() };
    // The store's own name for its key (credentials.rs keeps it beside the store).
    let key = workspace.beads_dir().join("credentials.key");
    if !key.exists() {
        let names: Vec<&str> = lost.iter().map(|(p, _)| p.name.as_str()).collect();
        // A new key cannot be made while the store holds passwords sealed
        // with the old one, so starting over removes the store first.
        return vec![check(
            "credentials",
            Level::Fail,
            format!(
                "the credential key {} is missing, so the stored password(s) of peer(s) {} in {} cannot be read",
                key.display(),
                names.join(", "),
                store.path().display()
            ),
            Some(format!(
                "restore {} from a backup; otherwise start over, giving each peer its password again: `rm {} && {}`",
                key.display(),
                store.path().display(),
                readd_all(&lost).join(" && ")
            )),
        )];
    }
    lost.iter()
        .map(|(peer, err)| {
            check(
                "credentials",
                Level::Fail,
                err.to_string(),
                Some(format!(
                    "`{}` (gives it its password again; restoring the key from a backup keeps them all)",
                    readd(peer)
                )),
            )
        })
        .collect()
}

fn stub(peer: &PeerConfig, tier: Tier) -> crate::federation::remote::Peer {
    crate::federation::remote::Peer::unauthenticated(peer.name.clone(), peer.endpoint.clone(), tier)
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
    for warning in config.warnings() {
        out.push(check(
            "config",
            Level::Warn,
            warning.clone(),
            Some("edit that line of the file (`bd config list --show-origin` shows what bd reads)".into()),
        ));
    }
    if out.is_empty() {
        out.push(check("config", Level::Ok, "configuration is valid", None));
    }
    out
}
