//! What a handler receives: the global options, the printer, the resolved
//! configuration and, on request, the workspace and its Dolt repository.

use std::path::{Path, PathBuf};

use crate::config::{self, Files, Resolved};
use crate::dolt::Dolt;
use crate::error::UserError;
use crate::output::Printer;
use crate::plugin::Globals;
use crate::tracker::Town;
use crate::workspace::{self, Workspace};

/// The invocation's state, built once before the handler runs.
#[derive(Debug)]
pub struct Context {
    globals: Globals,
    printer: Printer,
    cwd: PathBuf,
    beads_dir: Option<PathBuf>,
    config: Resolved,
}

impl Context {
    /// Discovers the workspace and resolves configuration.
    pub fn new(globals: Globals, printer: Printer) -> anyhow::Result<Self> {
        let start = std::env::current_dir()?;
        let cwd = match &globals.chdir {
            Some(dir) => start.join(dir),
            None => start,
        };
        if !cwd.is_dir() {
            return Err(UserError::usage(format!("cannot change to '{}': no such directory", cwd.display())).into());
        }
        let beads_dir = workspace::discover(globals.beads_dir.as_deref(), &cwd);
        let config = config::resolve(Files::for_workspace(beads_dir.as_deref()), &[])?;
        Ok(Self { globals, printer, cwd, beads_dir, config })
    }

    /// The global options.
    #[must_use]
    pub fn globals(&self) -> &Globals {
        &self.globals
    }

    /// The printer, for warnings and progress.
    #[must_use]
    pub fn printer(&self) -> &Printer {
        &self.printer
    }

    /// The directory the command runs in (after `-C`).
    #[must_use]
    pub fn cwd(&self) -> &Path {
        &self.cwd
    }

    /// The resolved configuration.
    #[must_use]
    pub fn config(&self) -> &Resolved {
        &self.config
    }

    /// The `.beads/` directory found by discovery, if any.
    #[must_use]
    pub fn beads_dir(&self) -> Option<&Path> {
        self.beads_dir.as_deref()
    }

    /// The workspace; an error telling how to create one when there is none.
    pub fn workspace(&self) -> anyhow::Result<Workspace> {
        match &self.beads_dir {
            Some(dir) if dir.is_dir() => Ok(Workspace::at(dir.clone())),
            Some(dir) => Err(UserError::failure(format!("bd workspace {} does not exist", dir.display()))
                .with_hint("run `bd init` there, or fix BEADS_DIR / --beads-dir")
                .into()),
            None => Err(UserError::failure(format!(
                "not in a bd workspace: no .beads directory in {} or its parents (up to the git work-tree root)",
                self.cwd.display()
            ))
            .with_hint("run `bd init` to create one, or point BEADS_DIR / --beads-dir at one")
            .into()),
        }
    }

    /// Takes the town's write lock when there is a workspace (config writes
    /// outside any workspace need none).
    pub fn lock_workspace_if_any(&self) -> anyhow::Result<Option<crate::workspace::WriteLock>> {
        match &self.beads_dir {
            Some(dir) if dir.is_dir() => {
                let wait = self.config.duration(config::Key::LockTimeout)?;
                Ok(Some(Workspace::at(dir.clone()).lock_for_write(wait)?))
            }
            _ => Ok(None),
        }
    }

    /// The dolt binary selected by `BD_DOLT`, `dolt.path` or `PATH`.
    pub fn dolt(&self) -> anyhow::Result<Dolt> {
        // The project file travels with a clone; it must not choose what runs here.
        let configured = self
            .config
            .entry(config::Key::DoltPath.name())
            .filter(|e| !matches!(e.origin, config::Origin::Project(_)))
            .map(|e| e.value.to_string());
        if configured.is_none() && self.config.entry(config::Key::DoltPath.name()).is_some() {
            self.printer.warn("dolt.path in .beads/config.yaml is ignored: set it with --user or --local instead");
        }
        Ok(Dolt::locate(configured.as_deref())?)
    }

    /// The town: workspace, Dolt repository and identity.
    pub fn town(&self) -> anyhow::Result<Town> {
        Ok(Town::open(self.workspace()?, &self.dolt()?, &self.config)?.with_printer(self.printer.clone()))
    }
}
