//! The configuration resolver shared by every executable.
//!
//! Layers, lowest first: built-in defaults, the user file
//! (`$XDG_CONFIG_HOME/bd/config.yaml`), the project file
//! (`.beads/config.yaml`), the local file (`.beads/config.local.yaml`), `BD_*`
//! environment variables, then command-line flags. [`resolve`] reads them
//! once and returns a [`Resolved`] that remembers where each value came from.
//! Typed access ([`Resolved::sync_mode`], …) validates enum values so a typo
//! is an error listing the valid spellings, never a silent default.

pub mod edit;
mod keys;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;

pub use keys::{Key, Strategy, SyncMode, Tier, env_name_for};

use crate::env;

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Built in.
    Default,
    /// The user file.
    User(PathBuf),
    /// The project file.
    Project(PathBuf),
    /// The local (unversioned) project file.
    Local(PathBuf),
    /// An environment variable.
    Env(String),
    /// A command-line flag.
    Flag,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::User(p) | Origin::Project(p) | Origin::Local(p) => {
                write!(f, "file:{}", p.display())
            }
            Origin::Env(var) => write!(f, "env:{var}"),
            Origin::Flag => f.write_str("flag"),
        }
    }
}

/// A configuration value: a scalar or a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Value {
    /// A single value.
    Scalar(String),
    /// A list of values.
    List(Vec<String>),
}

impl Value {
    /// The value as a list (a scalar is a one-element list).
    #[must_use]
    pub fn to_list(&self) -> Vec<String> {
        match self {
            Value::Scalar(s) => vec![s.clone()],
            Value::List(items) => items.clone(),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Scalar(s) => f.write_str(s),
            Value::List(items) => f.write_str(&items.join(",")),
        }
    }
}

/// An effective value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The value.
    pub value: Value,
    /// Its layer.
    pub origin: Origin,
}

/// Errors reading or interpreting configuration.
#[derive(Debug)]
pub enum ConfigError {
    /// A file is not valid YAML.
    Malformed {
        /// The file.
        file: PathBuf,
        /// 1-based line, when known.
        line: usize,
        /// 1-based column, when known.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A value is not one of the accepted ones.
    InvalidValue {
        /// The key.
        key: String,
        /// The rejected value.
        value: String,
        /// The accepted values, comma-separated.
        valid: String,
    },
    /// A file could not be read or written.
    Io {
        /// The file.
        file: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Malformed { file, line, column, message } => write!(
                f,
                "malformed config file {}:{line}:{column}: {message} (fix the YAML at that position)",
                file.display()
            ),
            ConfigError::InvalidValue { key, value, valid } => {
                write!(f, "invalid value '{value}' for {key}: expected one of {valid}")
            }
            ConfigError::Io { file, source } => {
                write!(f, "cannot access config file {}: {source}", file.display())
            }
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The configuration files that apply to one invocation.
#[derive(Debug, Clone, Default)]
pub struct Files {
    /// `$XDG_CONFIG_HOME/bd/config.yaml`, if a home is known.
    pub user: Option<PathBuf>,
    /// `.beads/config.yaml`, inside a workspace.
    pub project: Option<PathBuf>,
    /// `.beads/config.local.yaml`, inside a workspace.
    pub local: Option<PathBuf>,
}

impl Files {
    /// The files for a workspace whose `.beads/` directory is `beads_dir`.
    #[must_use]
    pub fn for_workspace(beads_dir: Option<&Path>) -> Self {
        Self {
            user: user_config_path(),
            project: beads_dir.map(|d| d.join("config.yaml")),
            local: beads_dir.map(|d| d.join("config.local.yaml")),
        }
    }
}

/// The user configuration file: `$XDG_CONFIG_HOME/bd/config.yaml`, falling
/// back to `~/.config/bd/config.yaml`.
#[must_use]
pub fn user_config_path() -> Option<PathBuf> {
    env::path(env::XDG_CONFIG_HOME)
        .or_else(|| env::path(env::HOME).map(|h| h.join(".config")))
        .map(|base| base.join("bd").join("config.yaml"))
}

/// The effective configuration of one invocation.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    entries: BTreeMap<String, Entry>,
    files: Files,
}

/// Reads every layer once. `flags` are the values given on the command line.
pub fn resolve(files: Files, flags: &[(Key, String)]) -> Result<Resolved, ConfigError> {
    let mut entries = BTreeMap::new();
    for key in Key::ALL {
        if let Some(default) = key.default_value() {
            let value =
                if key.is_list() { Value::List(vec![default.to_owned()]) } else { Value::Scalar(default.to_owned()) };
            entries.insert(key.name().to_owned(), Entry { value, origin: Origin::Default });
        }
    }
    let layers = [
        (files.user.as_ref(), Origin::User as fn(PathBuf) -> Origin),
        (files.project.as_ref(), Origin::Project),
        (files.local.as_ref(), Origin::Local),
    ];
    for (path, origin) in layers {
        if let Some(path) = path {
            for (key, value) in read_file(path)? {
                entries.insert(key, Entry { value, origin: origin(path.clone()) });
            }
        }
    }
    let env_vars: BTreeMap<String, String> = env::bd_vars().into_iter().collect();
    for key in Key::ALL {
        let var = key.env_name();
        if let Some(raw) = env_vars.get(&var) {
            entries.insert(key.name().to_owned(), Entry { value: parse_env_value(key, raw), origin: Origin::Env(var) });
        }
    }
    for (key, raw) in flags {
        entries.insert(key.name().to_owned(), Entry { value: parse_env_value(*key, raw), origin: Origin::Flag });
    }
    Ok(Resolved { entries, files })
}

fn parse_env_value(key: Key, raw: &str) -> Value {
    if key.is_list() {
        Value::List(raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
    } else {
        Value::Scalar(raw.to_owned())
    }
}

/// Reads one YAML file into dotted keys; a missing file is empty.
pub fn read_file(path: &Path) -> Result<Vec<(String, Value)>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(ConfigError::Io { file: path.to_owned(), source });
        }
    };
    parse_yaml(path, &text)
}

/// Parses YAML text into dotted keys; `path` names the file in errors.
pub fn parse_yaml(path: &Path, text: &str) -> Result<Vec<(String, Value)>, ConfigError> {
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        ConfigError::Malformed { file: path.to_owned(), line, column, message: e.to_string() }
    })?;
    let mut out = Vec::new();
    flatten(path, "", &doc, &mut out)?;
    Ok(out)
}

fn flatten(
    path: &Path,
    prefix: &str,
    node: &serde_yaml_ng::Value,
    out: &mut Vec<(String, Value)>,
) -> Result<(), ConfigError> {
    use serde_yaml_ng::Value as Y;
    match node {
        Y::Null => {}
        Y::Mapping(map) => {
            for (k, v) in map {
                let Some(k) = scalar_text(k) else {
                    return Err(ConfigError::Malformed {
                        file: path.to_owned(),
                        line: 0,
                        column: 0,
                        message: format!("a key under '{prefix}' is not a plain string"),
                    });
                };
                let full = if prefix.is_empty() { k } else { format!("{prefix}.{k}") };
                flatten(path, &full, v, out)?;
            }
        }
        Y::Sequence(items) => {
            let list = items.iter().filter_map(scalar_text).collect();
            out.push((prefix.to_owned(), Value::List(list)));
        }
        Y::Tagged(tagged) => flatten(path, prefix, &tagged.value, out)?,
        scalar => {
            if let Some(text) = scalar_text(scalar) {
                out.push((prefix.to_owned(), Value::Scalar(text)));
            }
        }
    }
    Ok(())
}

fn scalar_text(v: &serde_yaml_ng::Value) -> Option<String> {
    use serde_yaml_ng::Value as Y;
    match v {
        Y::String(s) => Some(s.clone()),
        Y::Bool(b) => Some(b.to_string()),
        Y::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Resolved {
    /// The files this resolution read.
    #[must_use]
    pub fn files(&self) -> &Files {
        &self.files
    }

    /// Every effective entry, sorted by key.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The entry for any dotted key, known or not.
    #[must_use]
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }

    /// A known scalar key's value.
    #[must_use]
    pub fn string(&self, key: Key) -> Option<String> {
        self.entries.get(key.name()).map(|e| e.value.to_string())
    }

    /// A known list key's values (empty when unset).
    #[must_use]
    pub fn list(&self, key: Key) -> Vec<String> {
        self.entries.get(key.name()).map(|e| e.value.to_list()).unwrap_or_default()
    }

    fn parsed<T: FromStr>(&self, key: Key) -> Result<T, ConfigError> {
        let raw = self.string(key).or_else(|| key.default_value().map(str::to_owned)).unwrap_or_default();
        key.validate(&raw)?;
        raw.parse().map_err(|_| ConfigError::InvalidValue {
            key: key.name().to_owned(),
            value: raw,
            valid: String::new(),
        })
    }

    /// `sync.mode`.
    pub fn sync_mode(&self) -> Result<SyncMode, ConfigError> {
        self.parsed(Key::SyncMode)
    }

    /// `federation.sovereignty`.
    pub fn sovereignty(&self) -> Result<Tier, ConfigError> {
        self.parsed(Key::FederationSovereignty)
    }

    /// A duration key (`federation.timeout`, `lock.timeout`).
    pub fn duration(&self, key: Key) -> Result<std::time::Duration, ConfigError> {
        let raw = self.string(key).or_else(|| key.default_value().map(str::to_owned)).unwrap_or_default();
        key.validate(&raw)?;
        humantime::parse_duration(&raw).map_err(|_| ConfigError::InvalidValue {
            key: key.name().to_owned(),
            value: raw,
            valid: "a duration such as 30s".to_owned(),
        })
    }

    /// `federation.strategy`.
    pub fn strategy(&self) -> Result<Strategy, ConfigError> {
        self.parsed(Key::FederationStrategy)
    }
}

/// Which file a `bd config` write goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `$XDG_CONFIG_HOME/bd/config.yaml`
    User,
    /// `.beads/config.yaml` (the default)
    Project,
    /// `.beads/config.local.yaml`
    Local,
}

impl Files {
    /// The file for a scope, when one applies here.
    #[must_use]
    pub fn path(&self, scope: Scope) -> Option<&Path> {
        match scope {
            Scope::User => self.user.as_deref(),
            Scope::Project => self.project.as_deref(),
            Scope::Local => self.local.as_deref(),
        }
    }
}

/// One change to a config file: set a key, or remove it (`None`).
pub type Change<'a> = (&'a str, Option<Value>);

/// Applies `changes` to the file at `path` in one atomic write, keeping
/// everything else as it was. Returns whether anything changed (removing an
/// absent key changes nothing).
pub fn update(path: &Path, changes: &[Change<'_>]) -> Result<bool, ConfigError> {
    let original = edit::read_text(path)?;
    let mut text = original.clone();
    for (key, value) in changes {
        text = match value {
            Some(value) => edit::set_in_text(path, &text, key, value)?,
            None => edit::unset_in_text(path, &text, key)?.unwrap_or(text),
        };
    }
    if text == original {
        return Ok(false);
    }
    edit::write_text(path, &text)?;
    Ok(true)
}

/// Checks a value before it is written: known keys and peer keys are
/// validated; other keys are accepted as they are.
pub fn validate(key: &str, raw: &str) -> Result<Value, ConfigError> {
    if let Some(known) = Key::from_name(key) {
        known.validate(raw)?;
        return Ok(parse_env_value(known, raw));
    }
    if let Some(rest) = key.strip_prefix("federation.peers.")
        && let Some((_, field)) = rest.rsplit_once('.')
        && field == "sovereignty"
    {
        Key::FederationSovereignty.validate(raw).map_err(|_| ConfigError::InvalidValue {
            key: key.to_owned(),
            value: raw.to_owned(),
            valid: Tier::NAMES.join(", "),
        })?;
    }
    Ok(Value::Scalar(raw.to_owned()))
}

/// A configured federation peer as read from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerEntry {
    /// The peer's name.
    pub name: String,
    /// The endpoint as the user wrote it.
    pub endpoint: Option<String>,
    /// The peer's own tier, if set.
    pub sovereignty: Option<String>,
    /// The remotesapi user, if set.
    pub user: Option<String>,
}

impl Resolved {
    /// Every peer under `federation.peers`, sorted by name.
    #[must_use]
    pub fn peers(&self) -> Vec<PeerEntry> {
        let mut peers: BTreeMap<String, PeerEntry> = BTreeMap::new();
        for (key, entry) in &self.entries {
            let Some(rest) = key.strip_prefix("federation.peers.") else {
                continue;
            };
            let Some((name, field)) = rest.split_once('.') else {
                continue;
            };
            let peer = peers.entry(name.to_owned()).or_insert_with(|| PeerEntry {
                name: name.to_owned(),
                endpoint: None,
                sovereignty: None,
                user: None,
            });
            let value = Some(entry.value.to_string());
            match field {
                "endpoint" => peer.endpoint = value,
                "sovereignty" => peer.sovereignty = value,
                "user" => peer.user = value,
                _ => {}
            }
        }
        peers.into_values().collect()
    }

    /// One peer by name.
    #[must_use]
    pub fn peer(&self, name: &str) -> Option<PeerEntry> {
        self.peers().into_iter().find(|p| p.name == name)
    }
}
