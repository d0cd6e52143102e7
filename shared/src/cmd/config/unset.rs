//! `bd config unset`: remove one key.

use clap::Args;
use serde::Serialize;

use super::ScopeArgs;
use crate::config;
use crate::context::Context;
use crate::error::UserError;
use crate::output::{Report, Style};
use crate::plugin::Command;

/// Remove a configuration key from the project file (or --user / --local).
#[derive(Debug, Args)]
pub struct Unset {
    /// The dotted key (a section removes everything under it).
    pub key: String,
    #[command(flatten)]
    scope: ScopeArgs,
}

/// What was removed where.
#[derive(Debug, Serialize)]
pub struct Removed {
    /// The key.
    pub key: String,
    /// The file written.
    pub file: std::path::PathBuf,
}

impl Report for Removed {
    fn human(&self, style: Style) -> String {
        format!("{} {} from {}\n", style.green("Unset"), self.key, self.file.display())
    }
}

impl Command for Unset {
    const NAME: &'static str = "config unset";
    const SUMMARY: &'static str = "Remove a configuration value";
    type Output = Removed;

    fn run(self, ctx: &Context) -> anyhow::Result<Removed> {
        super::set::check_key(&self.key)?;
        let file = super::target(ctx, self.scope.scope())?;
        let _lock = ctx.lock_workspace_if_any(&self.key)?;
        if !config::update(&file, &[(&self.key, None)])? {
            return Err(UserError::failure(format!(
                "{} is not set in {}",
                crate::error::quoted(&self.key),
                file.display()
            ))
            .with_hint("`bd config list --show-origin` shows which file sets it")
            .into());
        }
        Ok(Removed { key: self.key, file })
    }
}
