//! `bd config set`: write one key, keeping the file's comments and order.

use clap::Args;
use serde::Serialize;

use super::ScopeArgs;
use crate::config::{self, Value};
use crate::context::Context;
use crate::error::UserError;
use crate::output::{Report, Style};
use crate::plugin::Command;

/// Set a configuration key in the project file (or --user / --local).
///
/// The file keeps its comments, key order and unknown keys. Values of known
/// keys are checked first: an invalid sync mode, tier or strategy is refused
/// with the list of valid values, a town name or prefix by the rule `bd init`
/// applies, an endpoint (federation.remote, federation.peers.NAME.endpoint)
/// by the rule `bd federation add-peer` applies, and nothing is written.
#[derive(Debug, Args)]
pub struct Set {
    /// The dotted key, e.g. sync.mode.
    pub key: String,
    /// The value (lists: comma-separated).
    pub value: String,
    #[command(flatten)]
    scope: ScopeArgs,
}

/// What was written where.
#[derive(Debug, Serialize)]
pub struct Written {
    /// The key.
    pub key: String,
    /// The new value.
    pub value: Value,
    /// The file written.
    pub file: std::path::PathBuf,
}

impl Report for Written {
    fn human(&self, style: Style) -> String {
        format!("{} {} = {} in {}\n", style.green("Set"), self.key, self.value, self.file.display())
    }
}

/// Checks the shape of a dotted key.
pub(super) fn check_key(key: &str) -> Result<(), UserError> {
    let ok = !key.is_empty()
        && key
            .split('.')
            .all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    if ok {
        Ok(())
    } else {
        Err(UserError::usage(format!(
            "invalid key {}: keys are dot-separated words of letters, digits, '-' and '_' (e.g. sync.mode)",
            crate::error::quoted(key)
        )))
    }
}

impl Command for Set {
    const NAME: &'static str = "config set";
    const SUMMARY: &'static str = "Set a configuration value";
    type Output = Written;

    fn run(self, ctx: &Context) -> anyhow::Result<Written> {
        check_key(&self.key)?;
        config::check_endpoint(&self.key, &self.value)?;
        let value = config::validate(&self.key, &self.value).map_err(|e| {
            UserError::usage(e.to_string())
                .with_hint(format!("nothing was written: run `bd config set {} VALUE` with a valid value", self.key))
        })?;
        let file = super::target(ctx, self.scope.scope())?;
        let _lock = ctx.lock_workspace_if_any(&self.key)?;
        config::update(&file, &[(&self.key, Some(value.clone()))])?;
        if !config::is_known_key(&self.key) {
            ctx.printer()
                .warn(&format!("{} is not a key bd knows; it was stored as given", crate::error::quoted(&self.key)));
        }
        Ok(Written { key: self.key, value, file })
    }
}
