//! The federation settings, typed and resolved once.
//!
//! [`FederationSettings::resolve`] turns a [`Resolved`] (flags included:
//! `--timeout` and `--strategy` are its flags layer) into the values every
//! federation operation reads: the time bound, the merge strategy, the
//! excluded issue types, the allowed remote patterns, the town's tier, the
//! primary remote and the peers. A bad town-wide value is an error naming
//! the key, where it was set and the valid values. A peer's section is read
//! on its own: a broken one (no endpoint, an endpoint that does not parse, a
//! tier that is not one, a name that is not a peer name) becomes an
//! [`InvalidPeer`] carrying its error, which stops only the commands that
//! use that peer.
//!
//! This module also owns the shape of a peer's keys,
//! `federation.peers.NAME.FIELD`: [`peer_key`] and [`peer_section`] build
//! them and nothing outside `config` takes them apart.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::{ConfigError, Key, Origin, Resolved, Strategy, Tier, keys, trust};
use crate::error::UserError;
use crate::peer::Endpoint;

/// The section under which every peer has its own: `federation.peers`.
pub const PEER_SECTIONS: &str = "federation.peers";

/// A field of a peer's section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerField {
    /// Where the peer's database lives.
    Endpoint,
    /// The peer's own tier.
    Sovereignty,
    /// The user for the peer's remotesapi server.
    User,
}

impl PeerField {
    /// Every field, in the order they are written.
    pub const ALL: [PeerField; 3] = [PeerField::Endpoint, PeerField::Sovereignty, PeerField::User];

    /// The field's word in the key.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            PeerField::Endpoint => "endpoint",
            PeerField::Sovereignty => "sovereignty",
            PeerField::User => "user",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// The section that holds a peer's fields: `federation.peers.NAME`.
#[must_use]
pub fn peer_section(name: &str) -> String {
    format!("{PEER_SECTIONS}.{name}")
}

/// One field of a peer's section: `federation.peers.NAME.FIELD`.
#[must_use]
pub fn peer_key(name: &str, field: PeerField) -> String {
    format!("{PEER_SECTIONS}.{name}.{}", field.name())
}

/// The peer name and the field word of a key in a peer's section. The
/// field is the last word; the name is everything between, dots included,
/// so a section nested one level too deep reads as a peer whose name is
/// refused, not as a peer without fields.
fn split_peer_key(key: &str) -> Option<(&str, &str)> {
    key.strip_prefix(PEER_SECTIONS)?.strip_prefix('.')?.rsplit_once('.')
}

/// The peer and the field a key names, when the field is one bd reads.
pub(super) fn peer_field(key: &str) -> Option<(&str, PeerField)> {
    split_peer_key(key).and_then(|(name, field)| Some((name, PeerField::from_name(field)?)))
}

/// A usable peer, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    /// The peer's name (a valid peer name).
    pub name: String,
    /// Where it lives.
    pub endpoint: Endpoint,
    /// Its own tier, if set (the stricter of this and the town's applies).
    pub tier: Option<Tier>,
    /// The remotesapi user, if set.
    pub user: Option<String>,
}

/// Which part of a peer's section is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerProblem {
    /// The tier is not a tier.
    Tier,
    /// The name is not a valid peer name.
    Name,
    /// No endpoint is set.
    NoEndpoint,
    /// The endpoint does not parse.
    Endpoint,
}

/// A peer whose section cannot be used, with what could be read of it.
#[derive(Debug, Clone)]
pub struct InvalidPeer {
    /// The name as written.
    pub name: String,
    /// The endpoint as written, if set.
    pub endpoint: Option<String>,
    /// Its own tier, when it is set and valid (always, unless the problem
    /// is the tier).
    pub tier: Option<Tier>,
    /// The remotesapi user, if set.
    pub user: Option<String>,
    /// What is broken (the first of tier, name, endpoint).
    pub problem: PeerProblem,
    /// The error of using the peer, with its fix.
    pub error: UserError,
}

/// A peer's section: usable, or broken with its error.
#[derive(Debug, Clone)]
pub enum ConfiguredPeer {
    /// Every field is valid.
    Valid(PeerConfig),
    /// Something is wrong; only commands that use this peer see it.
    Invalid(InvalidPeer),
}

impl ConfiguredPeer {
    /// The peer's name as written.
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            ConfiguredPeer::Valid(p) => &p.name,
            ConfiguredPeer::Invalid(p) => &p.name,
        }
    }

    /// The peer, or the error that makes it unusable.
    pub fn usable(&self) -> Result<&PeerConfig, UserError> {
        match self {
            ConfiguredPeer::Valid(p) => Ok(p),
            ConfiguredPeer::Invalid(p) => Err(p.error.clone()),
        }
    }

    /// The peer when it is usable.
    #[must_use]
    pub fn valid(&self) -> Option<&PeerConfig> {
        self.usable().ok()
    }

    /// The endpoint as written, if set.
    #[must_use]
    pub fn written_endpoint(&self) -> Option<&str> {
        match self {
            ConfiguredPeer::Valid(p) => Some(p.endpoint.as_str()),
            ConfiguredPeer::Invalid(p) => p.endpoint.as_deref(),
        }
    }

    /// The endpoint, when one is set and parses (a peer broken otherwise
    /// may still have one).
    #[must_use]
    pub fn endpoint(&self) -> Option<Endpoint> {
        match self {
            ConfiguredPeer::Valid(p) => Some(p.endpoint.clone()),
            ConfiguredPeer::Invalid(p) => p.endpoint.as_deref().and_then(|e| Endpoint::parse(e).ok()),
        }
    }
}

impl Resolved {
    /// Every peer under `federation.peers`, sorted by name, each read on
    /// its own.
    #[must_use]
    pub fn peers(&self) -> Vec<ConfiguredPeer> {
        let mut sections: BTreeMap<&str, BTreeMap<&'static str, &super::Entry>> = BTreeMap::new();
        for (key, entry) in &self.entries {
            // A section holding only misspelt fields is still a peer: one
            // without an endpoint, which says what to set.
            if let Some((name, field)) = split_peer_key(key) {
                let section = sections.entry(name).or_default();
                if let Some(field) = PeerField::from_name(field) {
                    section.insert(field.name(), entry);
                }
            }
        }
        sections.into_iter().map(|(name, fields)| read_peer(name, &fields)).collect()
    }
}

/// One peer's section: the tier, then the name, then the endpoint.
fn read_peer(name: &str, fields: &BTreeMap<&'static str, &super::Entry>) -> ConfiguredPeer {
    let text = |field: PeerField| fields.get(field.name()).map(|e| e.value.to_string());
    let endpoint = text(PeerField::Endpoint);
    let user = text(PeerField::User);
    let invalid = |tier, problem, error| {
        ConfiguredPeer::Invalid(InvalidPeer {
            name: name.to_owned(),
            endpoint: endpoint.clone(),
            tier,
            user: user.clone(),
            problem,
            error,
        })
    };
    let own = fields.get(PeerField::Sovereignty.name()).map(|entry| (entry, entry.value.to_string()));
    let tier = match own.map(|(entry, raw)| raw.parse::<Tier>().map_err(|_| (entry, raw))) {
        None => None,
        Some(Ok(tier)) => Some(tier),
        Some(Err((entry, raw))) => {
            let key = peer_key(name, PeerField::Sovereignty);
            let err = ConfigError::InvalidValue {
                key: format!("{key} (set by {})", entry.origin),
                value: raw,
                valid: keys::one_of(&Tier::NAMES),
            };
            let error = UserError::failure(err.to_string()).with_hint(format!("run `bd config set {key} TIER`"));
            return invalid(None, PeerProblem::Tier, error);
        }
    };
    if let Err(err) = crate::peer::check_name(name) {
        let section = peer_section(name);
        let error = UserError::failure(format!("the peer section {section} in config: {err}")).with_hint(format!(
            "rename or remove {section} in the config file that holds it (`bd config list --show-origin` shows \
             which)"
        ));
        return invalid(tier, PeerProblem::Name, error);
    }
    let Some(raw) = &endpoint else {
        let error = UserError::failure(format!("peer '{name}' has no endpoint in config"))
            .with_hint(format!("set {}, or remove and add the peer again", peer_key(name, PeerField::Endpoint)));
        return invalid(tier, PeerProblem::NoEndpoint, error);
    };
    match Endpoint::parse(raw) {
        Ok(endpoint) => ConfiguredPeer::Valid(PeerConfig { name: name.to_owned(), endpoint, tier, user }),
        Err(err) => {
            let mut fix = format!(
                "set {} to a valid endpoint, or remove and add the peer again",
                peer_key(name, PeerField::Endpoint)
            );
            if let Some(rule) = err.hint() {
                fix = format!("{fix}; {rule}");
            }
            let error = UserError::failure(format!("peer '{name}' has an invalid endpoint in config: {err}"));
            invalid(tier, PeerProblem::Endpoint, error.with_hint(fix))
        }
    }
}

/// Everything federation reads from configuration, typed.
#[derive(Debug, Clone)]
pub struct FederationSettings {
    /// The time bound on each peer (`federation.timeout`, `--timeout`).
    pub timeout: Duration,
    /// How merges resolve a field both sides changed (`federation.strategy`,
    /// `--strategy`).
    pub strategy: Strategy,
    /// Issue types that never leave the town (`federation.exclude_types`).
    pub exclude_types: Vec<String>,
    /// Where a town at T2 or above may push
    /// (`federation.allowed-remote-patterns`).
    pub allowed_remote_patterns: Vec<String>,
    /// The town's own tier (`federation.sovereignty`).
    pub sovereignty: Tier,
    /// The primary remote `bd sync` uses (`federation.remote`), if set.
    pub remote: Option<Endpoint>,
    /// Every peer's section, sorted by name.
    pub peers: Vec<ConfiguredPeer>,
    /// Changes to where data goes that came with the project file and wait
    /// for `bd federation trust` on this machine.
    pub unconfirmed: Vec<trust::Widening>,
    timeout_origin: Origin,
}

impl FederationSettings {
    /// Reads the settings from every layer once; a bad town-wide value is
    /// an error naming its key, where it was set and the valid values.
    pub fn resolve(config: &Resolved) -> Result<Self, ConfigError> {
        let beads_dir = config.files().project.as_deref().and_then(Path::parent);
        Ok(Self {
            timeout: config.duration(Key::FederationTimeout)?,
            strategy: config.strategy()?,
            exclude_types: config.list(Key::FederationExcludeTypes),
            allowed_remote_patterns: config.list(Key::FederationAllowedRemotePatterns),
            sovereignty: config.sovereignty()?,
            remote: config.endpoint(Key::FederationRemote)?,
            peers: config.peers(),
            unconfirmed: beads_dir.map(|dir| trust::unconfirmed(config, dir)).unwrap_or_default(),
            timeout_origin: config.origin(Key::FederationTimeout),
        })
    }

    /// The peer of that name, usable or not.
    #[must_use]
    pub fn peer(&self, name: &str) -> Option<&ConfiguredPeer> {
        self.peers.iter().find(|p| p.name() == name)
    }

    /// The time bound and where it was set, for the message when it runs
    /// out: `3s (federation.timeout from flag)`.
    #[must_use]
    pub fn time_limit(&self) -> String {
        format!(
            "{} ({} from {})",
            humantime::format_duration(self.timeout),
            Key::FederationTimeout.name(),
            self.timeout_origin
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Files, resolve_layers};

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    #[test]
    fn a_flag_beats_the_environment_which_beats_the_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = Files {
            user: Some(write(dir.path(), "user.yaml", "federation:\n  timeout: 10s\n  strategy: theirs\n")),
            project: Some(write(dir.path(), "config.yaml", "federation:\n  timeout: 20s\n  sovereignty: T2\n")),
            local: None,
        };
        let env = BTreeMap::from([("BD_FEDERATION_TIMEOUT".to_owned(), "30s".to_owned())]);
        let settings = |flags: &[(Key, String)]| {
            FederationSettings::resolve(&resolve_layers(files.clone(), &env, flags).expect("resolve"))
                .expect("settings")
        };

        let from_env = settings(&[]);
        assert_eq!(from_env.timeout, Duration::from_secs(30));
        assert_eq!(from_env.time_limit(), "30s (federation.timeout from env:BD_FEDERATION_TIMEOUT)");
        assert_eq!((from_env.strategy, from_env.sovereignty), (Strategy::Theirs, Tier::T2));

        let flags = [(Key::FederationTimeout, "40s".to_owned()), (Key::FederationStrategy, "newest".to_owned())];
        let from_flags = settings(&flags);
        assert_eq!(from_flags.timeout, Duration::from_secs(40));
        assert_eq!(from_flags.time_limit(), "40s (federation.timeout from flag)");
        assert_eq!(from_flags.strategy, Strategy::Newest);

        let no_env = resolve_layers(files.clone(), &BTreeMap::new(), &[]).expect("resolve");
        let from_files = FederationSettings::resolve(&no_env).expect("settings");
        assert_eq!(from_files.timeout, Duration::from_secs(20));
        assert!(from_files.time_limit().ends_with(&format!("from file:{})", dir.path().join("config.yaml").display())));
        let defaults = resolve_layers(Files::default(), &BTreeMap::new(), &[]).expect("resolve");
        assert_eq!(
            FederationSettings::resolve(&defaults).expect("settings").time_limit(),
            "1m (federation.timeout from default)"
        );
    }

    #[test]
    fn a_bad_town_wide_value_names_its_key_origin_and_valid_values() {
        let dir = tempfile::tempdir().expect("tempdir");
        let project = write(dir.path(), "config.yaml", "federation:\n  strategy: mine\n");
        let files = Files { project: Some(project.clone()), ..Files::default() };
        let config = resolve_layers(files, &BTreeMap::new(), &[]).expect("resolve");
        let err = FederationSettings::resolve(&config).expect_err("bad strategy").to_string();
        assert!(err.contains("'mine' for federation.strategy"), "{err}");
        assert!(err.contains(&format!("set by file:{}", project.display())), "{err}");
        assert!(err.contains("ours, theirs, manual, newest"), "{err}");
    }

    #[test]
    fn a_broken_peer_section_does_not_hide_the_good_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = "federation:\n  peers:\n    good:\n      endpoint: file:///srv/good\n      sovereignty: T3\n      \
                    user: fed\n    notier:\n      endpoint: file:///srv/notier\n      sovereignty: T9\n    \
                    none:\n      user: fed\n    badurl:\n      endpoint: ftp://host/db\n    9lives:\n      \
                    endpoint: file:///srv/9\n";
        let project = write(dir.path(), "config.yaml", text);
        let files = Files { project: Some(project.clone()), ..Files::default() };
        let settings = FederationSettings::resolve(&resolve_layers(files, &BTreeMap::new(), &[]).expect("resolve"))
            .expect("a broken peer is no town-wide error");
        let names: Vec<&str> = settings.peers.iter().map(ConfiguredPeer::name).collect();
        assert_eq!(names, ["9lives", "badurl", "good", "none", "notier"]);
        let good = settings.peer("good").and_then(ConfiguredPeer::valid).expect("good is usable");
        assert_eq!(
            (good.endpoint.as_str(), good.tier, good.user.as_deref()),
            ("file:///srv/good", Some(Tier::T3), Some("fed"))
        );
        let problem = |name: &str| match settings.peer(name) {
            Some(ConfiguredPeer::Invalid(p)) => (p.problem, p.error.to_string()),
            other => panic!("{name}: {other:?}"),
        };
        let (kind, err) = problem("notier");
        assert_eq!(kind, PeerProblem::Tier);
        assert!(err.contains("'T9' for federation.peers.notier.sovereignty"), "{err}");
        assert!(err.contains(&format!("set by file:{}", project.display())) && err.contains("T1, T2, T3, T4"), "{err}");
        assert_eq!(problem("none"), (PeerProblem::NoEndpoint, "peer 'none' has no endpoint in config".to_owned()));
        let (kind, err) = problem("badurl");
        assert!(kind == PeerProblem::Endpoint && err.contains("Invalid endpoint format 'ftp://host/db'"), "{err}");
        let (kind, err) = problem("9lives");
        assert!(kind == PeerProblem::Name && err.contains("invalid peer name '9lives'"), "{err}");
        // What could be read of a broken section is kept.
        assert_eq!(settings.peer("badurl").and_then(ConfiguredPeer::written_endpoint), Some("ftp://host/db"));
        assert_eq!(
            settings.peer("9lives").and_then(ConfiguredPeer::endpoint).map(|e| e.dolt_url().to_owned()),
            Some("file:///srv/9".to_owned())
        );
    }

    #[test]
    fn peer_keys_are_built_and_read_here() {
        assert_eq!(peer_key("hub", PeerField::Endpoint), "federation.peers.hub.endpoint");
        assert_eq!(peer_section("hub"), "federation.peers.hub");
        assert_eq!(peer_field("federation.peers.hub.sovereignty"), Some(("hub", PeerField::Sovereignty)));
        assert_eq!(peer_field("federation.peers.a.b.endpoint"), Some(("a.b", PeerField::Endpoint)));
        assert_eq!(peer_field("federation.peers.hub.url"), None);
        assert_eq!(split_peer_key("federation.peers.hub"), None);
        assert_eq!(split_peer_key("federation.peersx.hub.endpoint"), None);
    }
}
