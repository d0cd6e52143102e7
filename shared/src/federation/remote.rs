//! Talking to a peer over the network: bounded time, retries for transient
//! failures, credentials only in the environment, and errors that name the
//! peer, its endpoint and dolt's reason.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use crate::config::{ConfiguredPeer, FederationSettings, Tier};
use crate::credentials::{DOLT_REMOTE_PASSWORD, Secret, Store};
use crate::dolt::{DoltError, Failure, Output, Repo};
use crate::error::UserError;
use crate::peer::{Endpoint, Kind};
use crate::tracker::Town;
use crate::tracker::sql::{Sql, ToSql, sql};

use super::peers::effective_tier;

/// Whether a failed script may run again, judged from what it printed.
pub type RerunSafe<'a> = &'a dyn Fn(&str) -> bool;

/// How many times a transient failure is tried in all.
const ATTEMPTS: u32 = 3;

/// A configured peer, ready to talk to.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The peer's name (also its dolt remote's name).
    pub name: String,
    /// Its endpoint.
    pub endpoint: Endpoint,
    /// The effective tier (the stricter of town and peer).
    pub tier: Tier,
    credentials: Option<(String, Secret)>,
    /// The time bound and where it was set, for the message when it runs out.
    time_limit: Option<String>,
}

impl Peer {
    /// A peer without stored credentials (for checks that talk to nobody).
    #[must_use]
    pub fn unauthenticated(name: String, endpoint: Endpoint, tier: Tier) -> Self {
        Self { name, endpoint, tier, credentials: None, time_limit: None }
    }

    /// A peer with the user and password given for it (`bd init --from`,
    /// before anything is stored).
    #[must_use]
    pub fn with_credentials(
        name: String,
        endpoint: Endpoint,
        tier: Tier,
        credentials: Option<(String, Secret)>,
    ) -> Self {
        Self { name, endpoint, tier, credentials, time_limit: None }
    }

    /// The remote-tracking ref of the peer's main branch.
    #[must_use]
    pub fn tracking_ref(&self) -> String {
        format!("{}/main", self.name)
    }
}

/// The peers an operation runs on: one by name, or all with `--all`. A
/// peer whose section is broken is an error only when it is among them.
pub fn select(town: &Town, settings: &FederationSettings, name: Option<&str>, all: bool) -> anyhow::Result<Vec<Peer>> {
    let chosen: Vec<&ConfiguredPeer> = match (name, all) {
        (Some(_), true) => return Err(UserError::usage("give a peer name or --all, not both").into()),
        (Some(name), false) => vec![settings.peer(name).ok_or_else(|| {
            UserError::failure(format!("no peer named {}", crate::error::quoted(name)))
                .with_hint("`bd federation list-peers` shows the peers; add one with `bd federation add-peer`")
        })?],
        (None, true) => {
            if settings.peers.is_empty() {
                return Err(UserError::failure("no peers configured")
                    .with_hint("add one with `bd federation add-peer <name> <endpoint>`")
                    .into());
            }
            settings.peers.iter().collect()
        }
        (None, false) => return Err(UserError::usage("name a peer, or pass --all for every peer").into()),
    };
    let store = Store::new(town.workspace().beads_dir());
    let mut remotes = None;
    chosen
        .into_iter()
        .map(|configured| {
            let peer = configured.usable()?;
            let tier = effective_tier(settings.sovereignty, peer.tier);
            let credentials = bound_credentials(town, &store, &peer.name, peer.endpoint.dolt_url(), &mut remotes)?;
            Ok(Peer {
                name: peer.name.clone(),
                endpoint: peer.endpoint.clone(),
                tier,
                credentials,
                time_limit: Some(settings.time_limit()),
            })
        })
        .collect()
}

/// A peer's stored user and password, only when they were stored for the
/// URL dolt will contact: the configured endpoint's, which must also be the
/// URL of the dolt remote of that name (a remote changed with `dolt remote`
/// behind bd's back would otherwise receive them). `remotes` caches the
/// town's dolt remotes, read only when some peer has credentials.
fn bound_credentials(
    town: &Town,
    store: &Store,
    name: &str,
    url: &str,
    remotes: &mut Option<BTreeMap<String, String>>,
) -> anyhow::Result<Option<(String, Secret)>> {
    let Some(credentials) = store.load(name, url)? else { return Ok(None) };
    if remotes.is_none() {
        *remotes = Some(super::peers::dolt_remotes(town.repo())?);
    }
    let remote_url = remotes.as_ref().and_then(|r| r.get(name));
    Ok((remote_url.map(String::as_str) == Some(url)).then_some(credentials))
}

/// The town's primary remote (`federation.remote`) as a peer named
/// `origin`, registered as a dolt remote on first use.
pub fn primary(town: &Town, settings: &FederationSettings) -> anyhow::Result<Peer> {
    let endpoint = settings.remote.clone().ok_or_else(|| {
        UserError::failure("sync.mode dolt-native syncs with federation.remote, which is not set")
            .with_hint("run `bd config set federation.remote <endpoint>` (e.g. dolthub://myorg/beads)")
    })?;
    let remotes = super::peers::dolt_remotes(town.repo())?;
    match remotes.get("origin") {
        Some(url) if url == endpoint.dolt_url() => {}
        Some(_) => {
            town.repo().call(["remote", "remove", "origin"]).run()?;
            town.repo().call(["remote", "add", "origin", endpoint.dolt_url()]).run()?;
        }
        None => {
            town.repo().call(["remote", "add", "origin", endpoint.dolt_url()]).run()?;
        }
    }
    // The remote now has the configured URL, the one the password must be for.
    let credentials = Store::new(town.workspace().beads_dir()).load("origin", endpoint.dolt_url())?;
    Ok(Peer {
        name: "origin".to_owned(),
        endpoint,
        tier: settings.sovereignty,
        credentials,
        time_limit: Some(settings.time_limit()),
    })
}

/// Why talking to a peer failed.
#[derive(Debug)]
pub struct PeerError {
    /// The peer.
    pub peer: String,
    /// Its endpoint.
    pub endpoint: String,
    /// What went wrong, in a few words.
    pub what: &'static str,
    /// dolt's reason.
    pub reason: String,
    /// What dolt printed before failing (results of earlier statements of a script).
    pub stdout: String,
    /// What kind of failure it was, for callers that act on it (a sync
    /// that lost a push race tries again).
    pub kind: Failure,
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "peer '{}' ({}) {}: {}", self.peer, self.endpoint, self.what, self.reason)
    }
}

impl std::error::Error for PeerError {}

impl PeerError {
    /// The same failure, of `kind`.
    #[must_use]
    pub fn of_kind(mut self, kind: Failure) -> Self {
        self.kind = kind;
        self
    }
}

impl Peer {
    /// Runs a network call (`fetch`, `push`) against this peer within
    /// `deadline`, retrying transient failures with backoff.
    pub fn call(&self, repo: &Repo, args: &[&str], deadline: Instant) -> Result<Output, PeerError> {
        let mut full: Vec<String> = vec![args[0].to_owned()];
        if let Some((user, _)) = &self.credentials {
            full.push("--user".to_owned());
            full.push(user.clone());
        }
        full.extend(args[1..].iter().map(|a| (*a).to_owned()));
        self.run_bounded(repo, &full, None, deadline)
    }

    /// Runs a SQL script that talks to this peer (`CALL DOLT_FETCH(…)`),
    /// with the same bounds, retries and credentials as [`Peer::call`] —
    /// except that a failed run is tried again only when `rerun_safe` says
    /// so of what it printed: a script that got past a step (a merge) would
    /// find it done and misreport.
    pub fn script(
        &self,
        repo: &Repo,
        script: &Sql,
        rerun_safe: RerunSafe<'_>,
        deadline: Instant,
    ) -> Result<Output, PeerError> {
        let sql = ["sql".to_owned(), "-r".to_owned(), "json".to_owned()];
        self.run_bounded(repo, &sql, Some((script, rerun_safe)), deadline)
    }

    /// The arguments that name this peer in a `DOLT_FETCH`/`DOLT_PUSH` call.
    #[must_use]
    pub fn sql_remote_args(&self) -> Sql {
        match &self.credentials {
            Some((user, _)) => sql!("'--user', {}, {}", user, self.name),
            None => self.name.to_sql(),
        }
    }

    /// Whether this peer has a password, which dolt takes from its
    /// environment: one dolt process serves one such peer.
    #[must_use]
    pub fn has_credentials(&self) -> bool {
        self.credentials.is_some()
    }

    fn run_bounded(
        &self,
        repo: &Repo,
        full: &[String],
        script: Option<(&Sql, RerunSafe<'_>)>,
        deadline: Instant,
    ) -> Result<Output, PeerError> {
        let mut backoff = Duration::from_millis(500);
        let mut attempt = 1;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.timed_out());
            }
            let mut call = repo.call(full).timeout(left);
            if let Some((script, _)) = script {
                call = call.sql(script);
            }
            if let Some((_, password)) = &self.credentials {
                call = call.env(DOLT_REMOTE_PASSWORD, password.expose());
            }
            let (failure, transient) = match call.run() {
                Ok(out) => return Ok(out),
                Err(err) => self.failure(&err),
            };
            let rerun_safe = script.is_none_or(|(_, safe)| safe(&failure.stdout));
            if !transient || !rerun_safe || attempt >= ATTEMPTS {
                return Err(failure);
            }
            attempt += 1;
            std::thread::sleep(backoff.min(deadline.saturating_duration_since(Instant::now())));
            backoff *= 2;
        }
    }

    /// What a failed dolt call means for this peer, and whether it is worth
    /// trying again (the peer could not be reached).
    pub(super) fn failure(&self, err: &DoltError) -> (PeerError, bool) {
        let reason = match err {
            DoltError::Timeout { .. } => return (self.timed_out(), false),
            DoltError::Killed { .. } => return (self.error("was interrupted", err.to_string()), false),
            other => other.stderr().map_or_else(|| other.to_string(), last_line),
        };
        if let Some(dir) = self.missing_directory() {
            return (self.directory_gone(&dir), false);
        }
        let kind = err.kind();
        let file = self.endpoint.kind() == Kind::File;
        let mut failure = match kind {
            Failure::Unwritable | Failure::PermissionDenied if file => self.error(
                "cannot be written",
                format!("{reason}; make its directory writable for this user, or remove the peer"),
            ),
            Failure::AuthRefused | Failure::PermissionDenied => self.error("refused the credentials", reason),
            // The peer moved on after our fetch: someone else pushed first.
            Failure::NotFastForward => self.race_lost(),
            Failure::Unreachable => self.error("is unreachable", reason),
            _ => self.error("failed", reason),
        }
        .of_kind(kind);
        if let Some(stdout) = err.stdout() {
            stdout.clone_into(&mut failure.stdout);
        }
        (failure, kind == Failure::Unreachable)
    }

    /// The failure of a peer that did not answer within its time bound.
    #[must_use]
    pub fn timed_out(&self) -> PeerError {
        let limit = self.time_limit.as_ref().map(|l| format!(" of {l}")).unwrap_or_default();
        self.error(
            "did not answer in time",
            format!(
                "the time limit{limit} ran out; raise it with --timeout or federation.timeout if the peer is just slow"
            ),
        )
        .of_kind(Failure::Unreachable)
    }

    /// The refusal of a push because another town pushed first.
    #[must_use]
    pub fn race_lost(&self) -> PeerError {
        self.error(
            "has changes this town does not have",
            format!(
                "another town pushed to it while this push was under way; run `bd federation sync {}`, then push \
                 again",
                self.name
            ),
        )
        .of_kind(Failure::NotFastForward)
    }

    /// A failure naming this peer.
    #[must_use]
    pub fn error(&self, what: &'static str, reason: String) -> PeerError {
        PeerError {
            peer: self.name.clone(),
            endpoint: self.endpoint.as_str().to_owned(),
            what,
            reason,
            stdout: String::new(),
            kind: Failure::Other,
        }
    }

    /// The failure of a `file://` peer whose directory `dir` is gone.
    #[must_use]
    pub fn directory_gone(&self, dir: &str) -> PeerError {
        self.error("is unreachable", format!("directory {dir} does not exist (moved or unmounted?)"))
            .of_kind(Failure::Unreachable)
    }

    /// For a `file://` peer, whether its directory exists (dolt would
    /// silently treat a missing one as an empty remote when reading).
    #[must_use]
    pub fn missing_directory(&self) -> Option<String> {
        if self.endpoint.kind() != Kind::File {
            return None;
        }
        let path = self.endpoint.as_str().trim_start_matches("file://");
        (!std::path::Path::new(path).is_dir()).then(|| path.to_owned())
    }
}

/// dolt's progress spinner shares the stream with its error: keep the message.
fn last_line(text: &str) -> String {
    let text = text.rsplit('\r').next().unwrap_or(text);
    let cleaned: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let joined = cleaned.join(" ");
    match joined.rfind("Fetching...").or_else(|| joined.rfind("Uploading...")) {
        Some(idx) => joined[idx..].split_once("...").map_or(joined.clone(), |(_, rest)| rest.trim().to_owned()),
        None => joined.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_remote_arguments_quote_the_user_and_the_name() {
        let endpoint = Endpoint::parse("file:///tmp/north").expect("endpoint");
        let credentials = Some(("o'b\\x".to_owned(), Secret::new("pw".to_owned())));
        let peer = Peer::with_credentials("north".to_owned(), endpoint.clone(), Tier::T1, credentials);
        assert_eq!(peer.sql_remote_args().as_str(), r"'--user', 'o\'b\\x', 'north'");
        let peer = Peer::unauthenticated("north".to_owned(), endpoint, Tier::T1);
        assert_eq!(peer.sql_remote_args().as_str(), "'north'");
    }

    #[test]
    fn spinner_noise_is_dropped_from_reasons() {
        let raw = "- Fetching...\\ Fetching...could not access dolt url 'http://127.0.0.1:1/db': connection refused";
        assert_eq!(last_line(raw), "could not access dolt url 'http://127.0.0.1:1/db': connection refused");
    }
}
