//! Every environment variable bd reads or sets, as a documented constant,
//! and the only functions that read the environment.
//!
//! The front door turns global options into the first few of these so that
//! every plugin, in any language, sees the same invocation
//! ([`crate::globals`]). Each configuration key also has a variable
//! ([`CONFIG_VARS`], named by [`crate::config::Key::env_name`], which a test
//! holds equal). Other modules name variables only through these constants:
//! a test fails on a variable name written as a string anywhere else.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::error::{UserError, quoted};

/// `1` when the user asked for JSON output (`bd --json …`).
pub const BD_JSON: &str = "BD_JSON";
/// `1` when the user asked for quiet output (`-q`).
pub const BD_QUIET: &str = "BD_QUIET";
/// `1` when the user asked for verbose output (`-v`).
pub const BD_VERBOSE: &str = "BD_VERBOSE";
/// `auto`, `always` or `never`.
pub const BD_COLOR: &str = "BD_COLOR";
/// The front door's own path, so plugins can call back into `bd`.
pub const BD_BIN: &str = "BD_BIN";
/// The plugin protocol version a plugin is being run under.
pub const BD_PLUGIN_API: &str = "BD_PLUGIN_API";
/// Directories searched for `bd-*` executables before the bundled ones.
pub const BD_EXEC_PATH: &str = "BD_EXEC_PATH";
/// The `.beads/` directory to use, skipping discovery.
pub const BEADS_DIR: &str = "BEADS_DIR";
/// The acting person recorded as author of writes.
pub const BD_ACTOR: &str = "BD_ACTOR";
/// Where the user configuration lives (`$XDG_CONFIG_HOME/bd/config.yaml`).
pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
/// Where this machine's own data lives (confirmed destinations, `config::trust`).
pub const XDG_DATA_HOME: &str = "XDG_DATA_HOME";
/// Fallback for the user configuration directory.
pub const HOME: &str = "HOME";
/// Fallback for the actor name.
pub const USER: &str = "USER";
/// Executable search path.
pub const PATH: &str = "PATH";
/// Where bd caches what it learns about dolt binaries, and where
/// `scripts/ensure-dolt` builds the pinned dolt
/// (`$XDG_CACHE_HOME/bd/dolt/VERSION/dolt`).
pub const XDG_CACHE_HOME: &str = "XDG_CACHE_HOME";
/// The dolt binary to use, ahead of `dolt.path`, `PATH` and the cache.
pub const BD_DOLT: &str = "BD_DOLT";
/// A peer's password, instead of a prompt (never shown in any message).
pub const BD_PEER_PASSWORD: &str = "BD_PEER_PASSWORD";
/// Set for dolt: the remotesapi password of the peer being contacted.
pub const DOLT_REMOTE_PASSWORD: &str = "DOLT_REMOTE_PASSWORD";
/// Set for dolt: the directory holding its global config (for the one
/// `dolt version` call, so it never asks the internet for new releases).
pub const DOLT_ROOT_PATH: &str = "DOLT_ROOT_PATH";
/// Set for dolt: `1`, so a command does not wait to send usage events.
pub const DOLT_DISABLE_EVENT_FLUSH: &str = "DOLT_DISABLE_EVENT_FLUSH";
/// The variables that override configuration keys, one per
/// [`crate::config::Key`] in [`crate::config::Key::ALL`] order.
pub const CONFIG_VARS: [&str; 12] = [
    "BD_DOLT_PATH",
    "BD_EXPORT_PATH",
    "BD_FEDERATION_ALLOWED_REMOTE_PATTERNS",
    "BD_FEDERATION_EXCLUDE_TYPES",
    "BD_FEDERATION_REMOTE",
    "BD_FEDERATION_SOVEREIGNTY",
    "BD_FEDERATION_STRATEGY",
    "BD_FEDERATION_TIMEOUT",
    "BD_LOCK_TIMEOUT",
    "BD_SYNC_MODE",
    "BD_TOWN_NAME",
    "BD_TOWN_PREFIX",
];
/// Test only: `1` adds a schema migration to v2 that no release has, so the
/// suite can show that towns migrating on their own still merge. Never set
/// it on a real town: no released bd knows that schema.
pub const BD_TEST_SCHEMA_V2: &str = "BD_TEST_SCHEMA_V2";

/// Reads a variable, treating an empty value as unset.
#[must_use]
pub fn get(name: &str) -> Option<String> {
    #[allow(clippy::disallowed_methods)]
    // this module is the one place allowed to read the environment
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Reads a variable that holds a path, treating an empty value as unset.
#[must_use]
pub fn path(name: &str) -> Option<PathBuf> {
    get_os(name).map(PathBuf::from)
}

/// Reads a raw variable, treating an empty value as unset.
#[must_use]
pub fn get_os(name: &str) -> Option<OsString> {
    #[allow(clippy::disallowed_methods)]
    // this module is the one place allowed to read the environment
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// The spellings a boolean variable may hold.
const TRUE: [&str; 4] = ["1", "true", "yes", "on"];
const FALSE: [&str; 4] = ["0", "false", "no", "off"];

/// A boolean variable: unset or empty is false; anything but the spellings
/// of true and false is an error naming the variable, never a silent false.
pub fn flag(name: &str) -> Result<bool, UserError> {
    let Some(value) = get(name) else { return Ok(false) };
    let lower = value.to_ascii_lowercase();
    if TRUE.contains(&lower.as_str()) {
        Ok(true)
    } else if FALSE.contains(&lower.as_str()) {
        Ok(false)
    } else {
        Err(bad_value(name, &value, &format!("{} (true) or {} (false)", TRUE.join(", "), FALSE.join(", "))))
    }
}

/// The error for a variable holding `value`, which is not one of `valid`.
#[must_use]
pub fn bad_value(name: &str, value: &str, valid: &str) -> UserError {
    UserError::usage(format!(
        "invalid value {} in the environment variable {name}: expected one of {valid}",
        quoted(value)
    ))
    .with_hint(format!("set {name} to one of those, or run `unset {name}`"))
}

/// Every `BD_*` variable currently set, for the config resolver. Variables
/// that are not UTF-8 are left out here; [`check`] refuses them up front.
#[must_use]
pub fn bd_vars() -> Vec<(String, String)> {
    // `std::env::vars()` panics on the first variable that is not UTF-8, and
    // its message carries the value: a password, for BD_PEER_PASSWORD.
    #[allow(clippy::disallowed_methods)]
    // this module is the one place allowed to read the environment
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, v)| k.starts_with("BD_") && !v.is_empty())
        .collect()
}

/// Variables whose value is a secret: an error about one never shows it.
const SECRETS: [&str; 1] = [crate::credentials::BD_PEER_PASSWORD];

/// Refuses a `BD_*` variable whose value is not UTF-8, naming it (never its
/// value). bd reads its variables as text, so such a value could only be
/// ignored — silently dropping a setting or a password — or misread.
/// Variables that are not bd's are none of its business.
pub fn check() -> Result<(), UserError> {
    #[allow(clippy::disallowed_methods)]
    // this module is the one place allowed to read the environment
    for (name, value) in std::env::vars_os() {
        let Some(name) = name.to_str().filter(|n| n.starts_with("BD_")) else { continue };
        if value.to_str().is_some() {
            continue;
        }
        let shown = quoted(name);
        return Err(if SECRETS.contains(&name) {
            UserError::usage(format!(
                "the environment variable {shown} is not valid UTF-8 text, and a password must be (its value is \
                 not shown)"
            ))
            .with_hint(format!("set {name} again, or unset it and pipe the password with --password-stdin"))
        } else {
            UserError::usage(format!(
                "the environment variable {shown} is not valid UTF-8 text; every BD_* variable must hold UTF-8 text"
            ))
            .with_hint(format!("set it to a valid value, or run `unset {name}`"))
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_config_key_has_its_variable_here() {
        let derived: Vec<String> = crate::config::Key::ALL.iter().map(|k| k.env_name()).collect();
        assert_eq!(derived, super::CONFIG_VARS);
    }

    /// A variable name written as a string outside this module is one the
    /// list above may miss.
    #[test]
    fn no_variable_is_named_outside_this_module() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let calls = ["env::get(\"", "env::path(\"", "env::flag(\"", "env::get_os(\"", ".env(\"", ".env_remove(\""];
        let mut found = Vec::new();
        let mut dirs = vec![src];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("src dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("env.rs") {
                    let text = std::fs::read_to_string(&path).expect("source");
                    for (n, line) in text.lines().enumerate() {
                        if calls.iter().any(|c| line.contains(c)) {
                            found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                        }
                    }
                }
            }
        }
        assert!(found.is_empty(), "name these variables through crate::env constants:\n{}", found.join("\n"));
    }
}
