//! The configuration keys bd knows and the enums their values parse into.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::ConfigError;

/// A known configuration key: knows its dotted name and its `BD_*` variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    /// `sync.mode`
    SyncMode,
    /// `federation.remote`
    FederationRemote,
    /// `federation.sovereignty`
    FederationSovereignty,
    /// `federation.strategy`
    FederationStrategy,
    /// `federation.exclude_types`
    FederationExcludeTypes,
    /// `federation.allowed-remote-patterns`
    FederationAllowedRemotePatterns,
    /// `federation.timeout`
    FederationTimeout,
    /// `dolt.path`
    DoltPath,
    /// `export.path`
    ExportPath,
    /// `town.name`: this town's federation identity.
    TownName,
    /// `town.prefix`: the prefix of this town's issue ids.
    TownPrefix,
    /// `lock.timeout`: how long a writer waits for another writer.
    LockTimeout,
}

impl Key {
    /// Every known key, in the order `bd config list` shows defaults.
    pub const ALL: [Key; 12] = [
        Key::DoltPath,
        Key::ExportPath,
        Key::FederationAllowedRemotePatterns,
        Key::FederationExcludeTypes,
        Key::FederationRemote,
        Key::FederationSovereignty,
        Key::FederationStrategy,
        Key::FederationTimeout,
        Key::LockTimeout,
        Key::SyncMode,
        Key::TownName,
        Key::TownPrefix,
    ];

    /// The dotted name used in files and on the command line.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Key::SyncMode => "sync.mode",
            Key::FederationRemote => "federation.remote",
            Key::FederationSovereignty => "federation.sovereignty",
            Key::FederationStrategy => "federation.strategy",
            Key::FederationExcludeTypes => "federation.exclude_types",
            Key::FederationAllowedRemotePatterns => "federation.allowed-remote-patterns",
            Key::FederationTimeout => "federation.timeout",
            Key::DoltPath => "dolt.path",
            Key::ExportPath => "export.path",
            Key::TownName => "town.name",
            Key::TownPrefix => "town.prefix",
            Key::LockTimeout => "lock.timeout",
        }
    }

    /// The environment variable that overrides this key: `BD_` plus the name
    /// upper-cased with `.` and `-` as `_`.
    #[must_use]
    pub fn env_name(self) -> String {
        env_name_for(self.name())
    }

    /// The built-in default, if the key has one.
    #[must_use]
    pub fn default_value(self) -> Option<&'static str> {
        match self {
            Key::SyncMode => Some(SyncMode::GitPortable.as_str()),
            Key::FederationSovereignty => Some(Tier::T1.as_str()),
            Key::FederationStrategy => Some(Strategy::Manual.as_str()),
            Key::FederationTimeout => Some("60s"),
            Key::LockTimeout => Some("10s"),
            Key::ExportPath => Some("issues.jsonl"),
            _ => None,
        }
    }

    /// Whether the value is a list (YAML sequence, comma-separated in `BD_*`).
    #[must_use]
    pub fn is_list(self) -> bool {
        matches!(self, Key::FederationExcludeTypes | Key::FederationAllowedRemotePatterns)
    }

    /// Finds a key by its dotted name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Key> {
        Key::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The shortest and longest value of a duration key. A deadline is the
    /// current time plus the value, so an unbounded one overflows (and a
    /// bad value in a file would stop every write, the `config set` that
    /// repairs it included); beyond the bound a value is a typo, not a wish.
    /// A network call needs some time; a writer may decline to wait at all.
    #[must_use]
    pub fn duration_bounds(self) -> Option<(Duration, Duration)> {
        match self {
            Key::FederationTimeout => Some((Duration::from_millis(1), Duration::from_secs(24 * 3600))),
            Key::LockTimeout => Some((Duration::ZERO, Duration::from_secs(3600))),
            _ => None,
        }
    }

    /// Parses the value of a duration key, within [`Key::duration_bounds`].
    pub fn parse_duration(self, value: &str) -> Result<Duration, ConfigError> {
        let (min, max) = self.duration_bounds().unwrap_or((Duration::ZERO, Duration::MAX));
        let rule = format!("a duration from {} to {}, such as 30s, 2m or 1m30s", short(min), short(max));
        match humantime::parse_duration(value) {
            Ok(d) if (min..=max).contains(&d) => Ok(d),
            _ => Err(ConfigError::InvalidValue { key: self.name().to_owned(), value: value.to_owned(), valid: rule }),
        }
    }

    /// The `--timeout` flag's parser: `federation.timeout`'s rule, checked
    /// as clap parses. The value is kept as typed, for the resolver's flags
    /// layer.
    pub fn parse_timeout_flag(value: &str) -> Result<String, String> {
        match Key::FederationTimeout.parse_duration(value) {
            Ok(_) => Ok(value.to_owned()),
            Err(ConfigError::InvalidValue { valid, .. }) => Err(format!("expected {valid}")),
            Err(other) => Err(other.to_string()),
        }
    }

    /// Parses the value of an endpoint key (`federation.remote`); the error
    /// shows the value masked, since an endpoint may carry a password.
    pub fn parse_endpoint(self, value: &str) -> Result<crate::peer::Endpoint, ConfigError> {
        crate::peer::Endpoint::parse(value).map_err(|_| ConfigError::InvalidValue {
            key: self.name().to_owned(),
            value: crate::peer::redacted(value),
            valid: format!("an endpoint without a password, whose scheme is one of {}", crate::peer::ACCEPTED),
        })
    }

    /// Checks that `value` is acceptable for this key.
    pub fn validate(self, value: &str) -> Result<(), ConfigError> {
        let invalid =
            |valid: String| ConfigError::InvalidValue { key: self.name().to_owned(), value: value.to_owned(), valid };
        match self {
            Key::SyncMode => SyncMode::from_str(value).map(drop).map_err(|_| invalid(one_of(&SyncMode::NAMES))),
            Key::FederationSovereignty => Tier::from_str(value).map(drop).map_err(|_| invalid(one_of(&Tier::NAMES))),
            Key::FederationStrategy => {
                Strategy::from_str(value).map(drop).map_err(|_| invalid(one_of(&Strategy::NAMES)))
            }
            Key::FederationTimeout | Key::LockTimeout => self.parse_duration(value).map(drop),
            Key::ExportPath => {
                let plain =
                    !value.is_empty() && !value.contains('/') && !value.contains('\\') && value != "." && value != "..";
                if plain {
                    Ok(())
                } else {
                    Err(invalid("a plain file name inside .beads/, such as issues.jsonl".to_owned()))
                }
            }
            Key::FederationRemote => self.parse_endpoint(value).map(drop),
            Key::TownName | Key::TownPrefix if is_identifier(value) => Ok(()),
            Key::TownName | Key::TownPrefix => Err(invalid(IDENTIFIER_RULE.to_owned())),
            _ => Ok(()),
        }
    }
}

/// A bound as a person writes it (`1ms`, `0s`, `24h`); humantime would say
/// `1day`, which it cannot parse back.
fn short(d: Duration) -> String {
    match (d.as_secs(), d.subsec_millis()) {
        (0, 0) => "0s".to_owned(),
        (0, ms) => format!("{ms}ms"),
        (s, _) if s % 3600 == 0 => format!("{}h", s / 3600),
        (s, _) => format!("{s}s"),
    }
}

/// Refuses an endpoint that holds a password or token for a key that
/// stores one (`federation.remote`, `federation.peers.<name>.endpoint`):
/// config files are plain text, and the project file is committed. The
/// error shows the endpoint with the secret masked.
pub(super) fn refuse_endpoint_secret(key: &str, raw: &str) -> Result<(), ConfigError> {
    let stores_endpoint = key == Key::FederationRemote.name()
        || super::federation::peer_field(key).is_some_and(|(_, field)| field == super::PeerField::Endpoint);
    if stores_endpoint && crate::peer::carries_secret(raw) {
        return Err(ConfigError::InvalidValue {
            key: key.to_owned(),
            value: crate::peer::redacted(raw),
            valid: "an endpoint without a password or token (a peer's password is given with `bd federation \
                    add-peer NAME ENDPOINT --user USER --password-stdin` and stored encrypted)"
                .to_owned(),
        });
    }
    Ok(())
}

/// What a town name or an id prefix may be, wherever it is set (`bd init`,
/// `bd config set`, a config file). The name is the town's federation
/// identity and every id carries the prefix into the towns it reaches, so
/// neither may hold spaces, separators or look-alike characters.
pub const IDENTIFIER_RULE: &str =
    "a name that starts with a letter and holds only ASCII letters, digits, '-' and '_' (at most 64 characters)";

/// Whether `value` follows [`IDENTIFIER_RULE`].
#[must_use]
pub fn is_identifier(value: &str) -> bool {
    value.len() <= 64
        && value.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// "one of a, b, c", for [`ConfigError::InvalidValue`].
pub(super) fn one_of(names: &[&str]) -> String {
    format!("one of {}", names.join(", "))
}

/// The `BD_*` variable for any dotted key name.
#[must_use]
pub fn env_name_for(name: &str) -> String {
    let mut out = String::from("BD_");
    out.extend(name.chars().map(|c| if c == '.' || c == '-' { '_' } else { c.to_ascii_uppercase() }));
    out
}

/// Declares a config enum with its spellings and a `FromStr` whose error
/// lists the valid values.
macro_rules! config_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every valid spelling, in order.
            pub const NAMES: [&'static str; [$($text),+].len()] = [$($text),+];

            /// The spelling used in files and output.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(format!(
                        "invalid value {}: expected one of {}",
                        crate::error::quoted(s),
                        Self::NAMES.join(", ")
                    )),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        // A flag taking this value parses, completes and lists it with the
        // spellings above.
        impl clap::ValueEnum for $name {
            fn value_variants<'a>() -> &'a [Self] {
                &[$(Self::$variant),+]
            }

            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                Some(clap::builder::PossibleValue::new(self.as_str()))
            }
        }
    };
}

config_enum! {
    /// How a town shares its data (`sync.mode`).
    SyncMode {
        /// JSONL export committed to git; no federation.
        GitPortable => "git-portable",
        /// JSONL export after every write; no federation.
        Realtime => "realtime",
        /// Dolt remotes only.
        DoltNative => "dolt-native",
        /// Dolt remotes plus the JSONL backup.
        BeltAndSuspenders => "belt-and-suspenders",
    }
}

impl SyncMode {
    /// Whether federation commands may run in this mode.
    #[must_use]
    pub fn allows_federation(self) -> bool {
        matches!(self, SyncMode::DoltNative | SyncMode::BeltAndSuspenders)
    }
}

config_enum! {
    /// Data sovereignty tier (`federation.sovereignty`).
    Tier {
        /// No restrictions.
        T1 => "T1",
        /// Organization-level: push only to allowed endpoints.
        T2 => "T2",
        /// Pseudonymous.
        T3 => "T3",
        /// Anonymous.
        T4 => "T4",
    }
}

config_enum! {
    /// How `sync` resolves conflicts (`federation.strategy`).
    Strategy {
        /// Keep our side.
        Ours => "ours",
        /// Take the peer's side.
        Theirs => "theirs",
        /// Stop and list the conflicts.
        Manual => "manual",
        /// Per row, the later `updated_at` wins.
        Newest => "newest",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_follow_the_rule() {
        assert_eq!(Key::SyncMode.env_name(), "BD_SYNC_MODE");
        assert_eq!(Key::FederationAllowedRemotePatterns.env_name(), "BD_FEDERATION_ALLOWED_REMOTE_PATTERNS");
        assert_eq!(Key::FederationExcludeTypes.env_name(), "BD_FEDERATION_EXCLUDE_TYPES");
    }

    #[test]
    fn town_names_and_prefixes_follow_one_rule() {
        for good in ["north", "a", "town-a_2", &"x".repeat(64)] {
            assert!(Key::TownPrefix.validate(good).is_ok() && Key::TownName.validate(good).is_ok(), "{good}");
        }
        for bad in ["", "bad prefix", "9lives", "-x", "t\u{430}wn", "a.b", &"x".repeat(65)] {
            let err = Key::TownPrefix.validate(bad).expect_err(bad).to_string();
            assert!(err.contains(IDENTIFIER_RULE) && err.contains("town.prefix"), "{err}");
            assert!(Key::TownName.validate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn invalid_enum_lists_valid_values() {
        let err = Key::SyncMode.validate("dolt").unwrap_err().to_string();
        assert!(err.contains("git-portable, realtime, dolt-native, belt-and-suspenders"), "{err}");
        let err = Key::FederationSovereignty.validate("T9").unwrap_err().to_string();
        assert!(err.contains("T1, T2, T3, T4"), "{err}");
    }
}
