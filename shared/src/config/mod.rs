//! The configuration resolver shared by every executable.
//!
//! Layers, lowest first: built-in defaults, the user file
//! (`$XDG_CONFIG_HOME/bd/config.yaml`), the project file
//! (`.beads/config.yaml`), the local file (`.beads/config.local.yaml`), `BD_*`
//! environment variables, then command-line flags. [`resolve`] reads them
//! once and returns a [`Resolved`] that remembers where each value came from.
//! Typed access ([`Resolved::sync_mode`], …) validates enum values so a typo
//! is an error naming where it was set and listing the valid spellings,
//! never a silent default. Federation reads everything it needs at once as
//! [`FederationSettings`], which also owns the peers' keys
//! (`federation.peers.NAME.FIELD`: [`peer_key`], [`peer_section`]).
//!
//! Config files are untrusted text: a file is read only up to
//! [`MAX_FILE_BYTES`], expands to at most [`MAX_NODES`] YAML nodes (so an
//! alias bomb fails at once instead of eating memory), and its keys and
//! values may not hide control or invisible characters, nor keys non-ASCII
//! look-alikes.

pub mod edit;
mod federation;
mod keys;
pub mod trust;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;

pub use federation::{
    ConfiguredPeer, FederationSettings, InvalidPeer, PEER_SECTIONS, PeerConfig, PeerField, PeerProblem, peer_key,
    peer_section,
};
pub use keys::{IDENTIFIER_RULE, Key, Strategy, SyncMode, Tier, env_name_for, is_identifier};

use crate::env;
use crate::error::{quoted, unusual_char};

/// The largest config file bd reads. Config files hold a few settings; the
/// cap keeps a runaway or hostile file from being read into memory whole.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The most YAML nodes a config file may expand to, aliases included: far
/// beyond any real config, and small enough that a "billion laughs" alias
/// bomb stops after a few thousand steps.
pub const MAX_NODES: usize = 10_000;

/// The longest value `bd config set` writes.
pub const MAX_VALUE_BYTES: usize = 4096;

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
        /// What is accepted: "one of a, b, c" or a description.
        valid: String,
    },
    /// A file is larger than [`MAX_FILE_BYTES`].
    TooLarge {
        /// The file.
        file: PathBuf,
        /// Its size, when known.
        bytes: Option<u64>,
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
            ConfigError::Malformed { file, line: 0, message, .. } => {
                write!(f, "malformed config file {}: {message}", file.display())
            }
            ConfigError::Malformed { file, line, column, message } => write!(
                f,
                "malformed config file {}:{line}:{column}: {message} (fix the YAML at that position)",
                file.display()
            ),
            ConfigError::InvalidValue { key, value, valid } => {
                write!(f, "invalid value {} for {key}: expected {valid}", quoted(value))?;
                // A look-alike ('dоlt-native' with a Cyrillic 'о') reads as valid.
                // (Control characters show escaped already.)
                match unusual_char(value, true).filter(|_| unusual_char(value, false).is_none()) {
                    Some(odd) => write!(f, " (the value contains {odd})"),
                    None => Ok(()),
                }
            }
            ConfigError::TooLarge { file, bytes } => {
                let size = bytes.map_or_else(|| "too large".to_owned(), |b| format!("{b} bytes"));
                write!(
                    f,
                    "config file {} is {size}; bd reads config files of at most {MAX_FILE_BYTES} bytes \
                     (a config file holds a few settings: trim it, or move it away)",
                    file.display()
                )
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
    warnings: Vec<String>,
}

/// Reads every layer once. `flags` are the values given on the command line.
pub fn resolve(files: Files, flags: &[(Key, String)]) -> Result<Resolved, ConfigError> {
    resolve_layers(files, &env::bd_vars().into_iter().collect(), flags)
}

/// [`resolve`] with the `BD_*` variables given.
fn resolve_layers(
    files: Files,
    env_vars: &BTreeMap<String, String>,
    flags: &[(Key, String)],
) -> Result<Resolved, ConfigError> {
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
    let mut warnings = Vec::new();
    for (path, origin) in layers {
        if let Some(path) = path {
            let (values, noted) = read_file_noting(path)?;
            warnings.extend(noted);
            for (key, value) in values {
                entries.insert(key, Entry { value, origin: origin(path.clone()) });
            }
        }
    }
    for key in Key::ALL {
        let var = key.env_name();
        if let Some(raw) = env_vars.get(&var) {
            // A variable is set for every command at once and no file can
            // repair it, so a bad value stops here, naming the variable.
            key.validate(raw).map_err(|err| match err {
                ConfigError::InvalidValue { key, value, valid } => ConfigError::InvalidValue {
                    key: format!("{key} (set by the environment variable {var})"),
                    value,
                    valid,
                },
                other => other,
            })?;
            entries.insert(key.name().to_owned(), Entry { value: parse_env_value(key, raw), origin: Origin::Env(var) });
        }
    }
    for (key, raw) in flags {
        entries.insert(key.name().to_owned(), Entry { value: parse_env_value(*key, raw), origin: Origin::Flag });
    }
    Ok(Resolved { entries, files, warnings })
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
    parse_yaml(path, &edit::read_text(path)?)
}

/// A file's settings as dotted keys, in file order.
type Settings = Vec<(String, Value)>;

/// Parses YAML text into dotted keys; `path` names the file in errors.
pub fn parse_yaml(path: &Path, text: &str) -> Result<Vec<(String, Value)>, ConfigError> {
    parse_yaml_noting(path, text).map(|(entries, _)| entries)
}

/// Reads one file like [`read_file`], with a warning for each key bd does
/// not know and each key written twice, naming the file and line: such a
/// key changes nothing (or only the later copy counts), which a typo like
/// `modee:` or a second `sync:` section would otherwise hide.
fn read_file_noting(path: &Path) -> Result<(Settings, Vec<String>), ConfigError> {
    let text = edit::read_text(path)?;
    let (entries, duplicates) = parse_yaml_noting(path, &text)?;
    let at = |key: &str, nth: usize| match line_of(&text, key, nth) {
        Some(line) => format!("{}:{line}", path.display()),
        None => path.display().to_string(),
    };
    let mut warnings = Vec::new();
    for (key, _) in entries.iter().filter(|(key, _)| !is_known_key(key)) {
        let similar = similar_keys(key);
        let guess =
            if similar.is_empty() { String::new() } else { format!("; did you mean {}?", similar.join(" or ")) };
        warnings.push(format!("{}: {} is not a key bd knows, so it is ignored{guess}", at(key, 0), quoted(key)));
    }
    for key in duplicates {
        warnings.push(format!(
            "{}: {} is written a second time here; YAML allows one, and bd reads both, the later value winning \
             (merge the two into one)",
            at(&key, 1),
            quoted(&key)
        ));
    }
    Ok((entries, warnings))
}

/// The 1-based line where the `nth` (0-based) copy of a dotted key is
/// written, following its words down the file: good enough to point at a
/// typo in block or flow style, and `None` rather than a wrong guess when a
/// word is not found.
fn line_of(text: &str, key: &str, nth: usize) -> Option<usize> {
    let words: Vec<&str> = key.split('.').collect();
    let mut pos = 0;
    for (i, word) in words.iter().enumerate() {
        let skip = if i + 1 == words.len() { nth } else { 0 };
        pos = text[pos..]
            .match_indices(word)
            .map(|(at, _)| pos + at)
            .filter(|&at| {
                let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
                let in_comment =
                    text[line_start..at].trim_start().starts_with('#') || text[line_start..at].contains(" #");
                let before = text[..at].chars().next_back();
                let after = text[at + word.len()..].trim_start_matches(['"', '\'']).trim_start_matches([' ', '\t']);
                !in_comment
                    && before.is_none_or(|c| c.is_whitespace() || matches!(c, '{' | ',' | '"' | '\''))
                    && after.starts_with(':')
            })
            .nth(skip)?
            + word.len();
    }
    Some(text[..pos].matches('\n').count() + 1)
}

/// [`parse_yaml`], also returning each key written twice in one mapping.
fn parse_yaml_noting(path: &Path, text: &str) -> Result<(Settings, Vec<String>), ConfigError> {
    let malformed = |line, column, message| ConfigError::Malformed { file: path.to_owned(), line, column, message };
    let budget = std::cell::Cell::new(MAX_NODES);
    let doc = serde::de::DeserializeSeed::deserialize(yaml::Seed(&budget), serde_yaml_ng::Deserializer::from_str(text))
        .map_err(|e| {
            let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
            malformed(line, column, e.to_string())
        })?;
    let mut out = Vec::new();
    let mut duplicates = Vec::new();
    flatten("", doc, &mut out, &mut duplicates).map_err(|message| malformed(0, 0, message))?;
    Ok((out, duplicates))
}

/// YAML read into a tree whose size is bounded while it is read: serde
/// expands each alias as it goes, and [`Seed`] counts every node it builds.
mod yaml {
    use std::cell::Cell;
    use std::fmt;

    use serde::de::{self, DeserializeSeed, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};

    /// A YAML node; numbers and booleans are kept as their text.
    pub(super) enum Node {
        Null,
        Scalar(String),
        List(Vec<Node>),
        Map(Vec<(Node, Node)>),
    }

    /// Reads one node, charging every node to the shared budget.
    #[derive(Clone, Copy)]
    pub(super) struct Seed<'a>(pub(super) &'a Cell<usize>);

    impl Seed<'_> {
        fn charge<E: de::Error>(self) -> Result<(), E> {
            match self.0.get().checked_sub(1) {
                Some(left) => {
                    self.0.set(left);
                    Ok(())
                }
                None => Err(E::custom(format!(
                    "the file expands to more than {} YAML values (anchors and aliases included), \
                     far more than any config; remove the anchors (&) and aliases (*)",
                    super::MAX_NODES
                ))),
            }
        }

        fn scalar<E: de::Error>(self, text: String) -> Result<Node, E> {
            self.charge()?;
            Ok(Node::Scalar(text))
        }
    }

    impl<'de> DeserializeSeed<'de> for Seed<'_> {
        type Value = Node;

        fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
            deserializer.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Seed<'_> {
        type Value = Node;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a YAML value")
        }

        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
            self.scalar(v.to_string())
        }

        // Numbers keep the text YAML gives them (`1.0` stays `1.0`).
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
            self.scalar(serde_yaml_ng::Number::from(v).to_string())
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
            self.scalar(serde_yaml_ng::Number::from(v).to_string())
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
            self.scalar(serde_yaml_ng::Number::from(v).to_string())
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
            self.scalar(v.to_owned())
        }

        fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
            self.scalar(v)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
            self.charge()?;
            Ok(Node::Null)
        }

        fn visit_none<E: de::Error>(self) -> Result<Node, E> {
            self.visit_unit()
        }

        fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
            self.deserialize(deserializer)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
            self.charge()?;
            let mut items = Vec::new();
            while let Some(item) = seq.next_element_seed(self)? {
                items.push(item);
            }
            Ok(Node::List(items))
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
            self.charge()?;
            let mut entries = Vec::new();
            while let Some(key) = map.next_key_seed(self)? {
                entries.push((key, map.next_value_seed(self)?));
            }
            Ok(Node::Map(entries))
        }

        // A tagged value (`!tag value`): the tag is ignored, the value kept.
        fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Node, A::Error> {
            let (_tag, value): (de::IgnoredAny, _) = data.variant()?;
            value.newtype_variant_seed(self)
        }
    }
}

fn flatten(
    prefix: &str,
    node: yaml::Node,
    out: &mut Vec<(String, Value)>,
    duplicates: &mut Vec<String>,
) -> Result<(), String> {
    use yaml::Node;
    match node {
        Node::Null => {}
        Node::Map(entries) => {
            let mut seen = std::collections::BTreeSet::new();
            for (k, v) in entries {
                let Node::Scalar(k) = k else {
                    return Err(format!("a key under '{prefix}' is not a plain string"));
                };
                let full = if prefix.is_empty() { k } else { format!("{prefix}.{k}") };
                if !seen.insert(full.clone()) {
                    duplicates.push(full.clone());
                }
                if let Some(odd) = unusual_char(&full, true) {
                    return Err(format!(
                        "the key {} contains {odd}; keys are ASCII (retype the key by hand)",
                        quoted(&full)
                    ));
                }
                flatten(&full, v, out, duplicates)?;
            }
        }
        Node::List(items) => {
            let list: Vec<String> =
                items.into_iter().filter_map(|item| if let Node::Scalar(s) = item { Some(s) } else { None }).collect();
            for item in &list {
                check_file_value(prefix, item)?;
            }
            out.push((prefix.to_owned(), Value::List(list)));
        }
        Node::Scalar(text) => {
            check_file_value(prefix, &text)?;
            out.push((prefix.to_owned(), Value::Scalar(text)));
        }
    }
    Ok(())
}

/// Values are single-line text: a control or invisible character in a
/// setting is a mistake or an attack on the terminal that shows it.
fn check_file_value(key: &str, value: &str) -> Result<(), String> {
    // Line breaks and tabs are plain YAML in a file (block scalars, quoted
    // text) and harmless in a key bd does not use; `validate` keeps values
    // set from the command line single-line.
    match unusual_char(&value.replace(['\n', '\t'], " "), false) {
        None => Ok(()),
        Some(odd) => Err(format!("the value of {key} contains {odd}; values hold no control or invisible characters")),
    }
}

impl Resolved {
    /// What is wrong but harmless in the files read: keys bd does not know,
    /// keys written twice; each names its file and line.
    #[must_use]
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

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

    /// Where a known key's value was set (`default` when it is unset).
    #[must_use]
    pub fn origin(&self, key: Key) -> Origin {
        self.entries.get(key.name()).map_or(Origin::Default, |e| e.origin.clone())
    }

    /// `err` about `key`'s value, naming where that value was set.
    fn located(&self, key: Key, err: ConfigError) -> ConfigError {
        match (err, self.entries.get(key.name())) {
            (ConfigError::InvalidValue { key, value, valid }, Some(entry)) => {
                ConfigError::InvalidValue { key: format!("{key} (set by {})", entry.origin), value, valid }
            }
            (err, _) => err,
        }
    }

    fn parsed<T: FromStr>(&self, key: Key) -> Result<T, ConfigError> {
        let raw = self.string(key).or_else(|| key.default_value().map(str::to_owned)).unwrap_or_default();
        key.validate(&raw).map_err(|err| self.located(key, err))?;
        raw.parse().map_err(|_| ConfigError::InvalidValue {
            key: key.name().to_owned(),
            value: raw,
            valid: "a documented value".to_owned(),
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

    /// A duration key (`federation.timeout`, `lock.timeout`), within its
    /// bounds; the error names where a bad value was set.
    pub fn duration(&self, key: Key) -> Result<std::time::Duration, ConfigError> {
        let raw = self.string(key).or_else(|| key.default_value().map(str::to_owned)).unwrap_or_default();
        key.parse_duration(&raw).map_err(|err| self.located(key, err))
    }

    /// An endpoint key (`federation.remote`), if set; the error names where
    /// a bad value was set.
    pub fn endpoint(&self, key: Key) -> Result<Option<crate::peer::Endpoint>, ConfigError> {
        self.string(key).map(|raw| key.parse_endpoint(&raw).map_err(|err| self.located(key, err))).transpose()
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
    // What bd writes is the user's own doing: confirmed before it is
    // written (so a kill in between cannot leave it unconfirmed), and again
    // when a rerun finds it already written. Failing to record it only means
    // it asks to be confirmed later.
    let _ = trust::record_written(path, changes);
    if text == original {
        return Ok(false);
    }
    edit::write_text(path, &text)?;
    Ok(true)
}

/// Checks a value before it is written: every value is single-line text of
/// at most [`MAX_VALUE_BYTES`]; known keys and peer keys are validated
/// further; other keys are accepted as they are.
pub fn validate(key: &str, raw: &str) -> Result<Value, ConfigError> {
    // Before any message can quote the value.
    keys::refuse_endpoint_secret(key, raw)?;
    let text_rule = |problem: String| ConfigError::InvalidValue {
        key: key.to_owned(),
        value: raw.to_owned(),
        valid: format!(
            "single-line text of at most {MAX_VALUE_BYTES} bytes without control or invisible characters, \
             but {problem}"
        ),
    };
    if raw.len() > MAX_VALUE_BYTES {
        return Err(text_rule(format!("it is {} bytes long", raw.len())));
    }
    if let Some(odd) = unusual_char(raw, false) {
        return Err(text_rule(format!("it contains {odd}")));
    }
    if let Some(known) = Key::from_name(key) {
        known.validate(raw)?;
        return Ok(parse_env_value(known, raw));
    }
    if let Some((_, PeerField::Sovereignty)) = federation::peer_field(key) {
        Key::FederationSovereignty.validate(raw).map_err(|_| ConfigError::InvalidValue {
            key: key.to_owned(),
            value: raw.to_owned(),
            valid: keys::one_of(&Tier::NAMES),
        })?;
    }
    Ok(Value::Scalar(raw.to_owned()))
}

/// Whether bd reads `key`: a [`Key`], or a [`PeerField`] of a peer's section.
#[must_use]
pub fn is_known_key(key: &str) -> bool {
    Key::from_name(key).is_some() || federation::peer_field(key).is_some()
}

/// The known keys closest to an unknown one, for "did you mean".
#[must_use]
pub fn similar_keys(key: &str) -> Vec<&'static str> {
    let mut scored: Vec<(f64, &'static str)> = Key::ALL
        .iter()
        .map(|k| {
            let name = k.name();
            let prefix = name.starts_with(&format!("{key}.")) || key.starts_with(&format!("{name}."));
            (if prefix { 1.0 } else { strsim::normalized_damerau_levenshtein(key, name) }, name)
        })
        .filter(|(score, _)| *score >= 0.7)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(2).map(|(_, name)| name).collect()
}

/// Checks an endpoint written through `bd config set` the way
/// `bd federation add-peer` checks its own: `federation.remote` and
/// `federation.peers.NAME.endpoint` must parse as an endpoint, and NAME must
/// be a valid peer name. Other keys pass.
pub fn check_endpoint(key: &str, raw: &str) -> Result<(), crate::error::UserError> {
    let peer = federation::peer_field(key).and_then(|(name, field)| (field == PeerField::Endpoint).then_some(name));
    if let Some(name) = peer {
        crate::peer::check_name(name)?;
    }
    if peer.is_some() || key == Key::FederationRemote.name() {
        crate::peer::Endpoint::parse(raw)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    fn parse(text: &str) -> Result<Vec<(String, Value)>, String> {
        parse_yaml(Path::new("config.yaml"), text).map_err(|e| e.to_string())
    }

    fn scalar(s: &str) -> Value {
        Value::Scalar(s.to_owned())
    }

    #[test]
    fn yaml_reads_into_dotted_keys_with_scalars_as_written() {
        let text =
            "# only a comment\nsync:\n  mode: dolt-native\nn: 1.0\nb: true\nt: !custom tagged\nl: [a, 2]\nz: ~\n";
        let got = parse(text).expect("parse");
        assert_eq!(
            got,
            [
                ("sync.mode".to_owned(), scalar("dolt-native")),
                ("n".to_owned(), scalar("1.0")),
                ("b".to_owned(), scalar("true")),
                ("t".to_owned(), scalar("tagged")),
                ("l".to_owned(), Value::List(vec!["a".into(), "2".into()])),
            ]
        );
        assert_eq!(parse("").expect("empty"), []);
        assert_eq!(parse("# nothing\n").expect("comments only"), []);
    }

    #[test]
    fn an_alias_bomb_is_refused_quickly_with_the_fix() {
        // "Billion laughs": nine levels of nine aliases each.
        let mut text =
            String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for (prev, next) in ('a'..='h').zip('b'..='i') {
            let refs = vec![format!("*{prev}"); 9].join(",");
            let _ = writeln!(text, "{next}: &{next} [{refs}]");
        }
        let err = parse(&text).expect_err("bomb");
        assert!(err.contains("more than 10000 YAML values"), "{err}");
        assert!(err.contains("remove the anchors (&) and aliases (*)"), "{err}");
        // One big anchor aliased many times: within serde_yaml_ng's own
        // repetition limit, yet it would expand to 25 million values.
        let big = format!("a: &a [{}]\nb: [{}]\n", vec!["x"; 5000].join(","), vec!["*a"; 5000].join(","));
        let err = parse(&big).expect_err("quadratic bomb");
        assert!(err.contains("more than 10000 YAML values"), "{err}");
        // A few aliases, as a person writes them, still work.
        let ok = parse("base: &b dolt-native\nsync:\n  mode: *b\n").expect("small alias");
        assert_eq!(ok[1], ("sync.mode".to_owned(), scalar("dolt-native")));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let text = format!("{}x{}", "[".repeat(1_000), "]".repeat(1_000));
        let err = parse(&text).expect_err("deep");
        assert!(err.contains("recursion limit"), "{err}");
    }

    #[test]
    fn hidden_characters_in_keys_and_values_are_refused() {
        let err = parse("sync:\n  mode: \"dolt-native\\e[2J\"\n").expect_err("escape in value");
        assert!(err.contains("the value of sync.mode contains the control character '\\u{1b}'"), "{err}");
        let err = parse("federation:\n  peers:\n    st\u{430}ging:\n      endpoint: file:///x\n").expect_err("key");
        assert!(err.contains("non-ASCII character 'а' (U+0430)"), "{err}");
        assert!(err.contains("keys are ASCII"), "{err}");
        let err = parse("l:\n  - \"a\\u200Bb\"\n").expect_err("zero-width in a list");
        assert!(err.contains("invisible character"), "{err}");
        // Non-ASCII text in a value is fine.
        assert_eq!(parse("town:\n  name: Z\u{fc}rich\n").expect("umlaut")[0].1, scalar("Z\u{fc}rich"));
        // Block scalars and tabs are plain YAML: a key bd does not use may hold them.
        assert_eq!(parse("notes: |\n  one\n  two\n").expect("block")[0].1, scalar("one\ntwo\n"));
        assert_eq!(parse("notes: \"a\\tb\"\n").expect("tab")[0].1, scalar("a\tb"));
    }

    #[test]
    fn a_huge_or_binary_file_is_refused_before_parsing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.yaml");
        let huge = usize::try_from(MAX_FILE_BYTES).expect("fits") + 1;
        std::fs::write(&path, "#".repeat(huge)).expect("write");
        let err = read_file(&path).expect_err("huge").to_string();
        assert!(err.contains(&format!("is {huge} bytes; bd reads config files of at most")), "{err}");
        std::fs::write(&path, b"sync:\n  mode: \xff\n").expect("write");
        let err = read_file(&path).expect_err("binary").to_string();
        assert!(err.contains("byte 15 is not UTF-8 text"), "{err}");
    }

    #[test]
    fn unknown_and_repeated_keys_are_found_with_their_lines() {
        let text = "# sync: in a comment\nsync:\n  mode: dolt-native\nexport: {pathh: x}\nsync:\n  modee: x\n";
        let (entries, duplicates) = parse_yaml_noting(Path::new("c.yaml"), text).expect("parse");
        let unknown: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).filter(|k| !is_known_key(k)).collect();
        assert_eq!(unknown, ["export.pathh", "sync.modee"]);
        assert_eq!(duplicates, ["sync"]);
        assert_eq!(line_of(text, "export.pathh", 0), Some(4));
        assert_eq!(line_of(text, "sync.modee", 0), Some(6));
        assert_eq!(line_of(text, "sync", 1), Some(5));
        assert_eq!(line_of(text, "nowhere", 0), None);
        assert!(is_known_key("federation.peers.hub.endpoint") && !is_known_key("federation.peers.hub.url"));
        assert_eq!(similar_keys("sync"), ["sync.mode"]);
        assert_eq!(similar_keys("federation.timout").first(), Some(&"federation.timeout"));
    }

    #[test]
    fn values_set_by_hand_are_single_line_and_bounded() {
        let err = validate("town.name", "a\nsync:\n  mode: x").expect_err("newline").to_string();
        assert!(err.contains("single-line text") && err.contains("control character '\\n'"), "{err}");
        let err = validate("town.name", &"x".repeat(5000)).expect_err("huge").to_string();
        assert!(err.contains("it is 5000 bytes long") && err.len() < 400, "{err}");
        let err = validate("sync.mode", "d\u{43e}lt-native").expect_err("look-alike").to_string();
        assert!(err.contains("expected one of git-portable"), "{err}");
        assert!(err.contains("the value contains the non-ASCII character 'о' (U+043E)"), "{err}");
        assert_eq!(validate("team.city", "Z\u{fc}rich").expect("umlaut"), scalar("Z\u{fc}rich"));
        // A town name is an identity that ids and peers carry: ASCII only.
        assert!(validate("town.name", "Z\u{fc}rich").is_err());
    }
}
