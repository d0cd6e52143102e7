//! `bd config …`: read and change configuration.

pub mod get;
pub mod list;
pub mod set;
pub mod unset;

use clap::Args;

use crate::config::Scope;

/// Which file a write goes to (default: the project file).
#[derive(Debug, Clone, Args)]
#[group(multiple = false)]
pub struct ScopeArgs {
    /// Write the user file ($XDG_CONFIG_HOME/bd/config.yaml).
    #[arg(long)]
    pub user: bool,
    /// Write the project file (.beads/config.yaml); the default.
    #[arg(long)]
    pub project: bool,
    /// Write the unversioned local file (.beads/config.local.yaml).
    #[arg(long)]
    pub local: bool,
}

impl ScopeArgs {
    /// The chosen scope.
    #[must_use]
    pub fn scope(&self) -> Scope {
        if self.user {
            Scope::User
        } else if self.local {
            Scope::Local
        } else {
            Scope::Project
        }
    }
}

/// The file a scope names, or an error saying why there is none.
fn target(ctx: &crate::context::Context, scope: Scope) -> anyhow::Result<std::path::PathBuf> {
    if scope != Scope::User {
        ctx.workspace()?;
    }
    ctx.config().files().path(scope).map(std::path::Path::to_path_buf).ok_or_else(|| {
        crate::error::UserError::failure("no user configuration directory: set HOME or XDG_CONFIG_HOME").into()
    })
}
