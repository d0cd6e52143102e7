//! What a handler receives: the global options, the printer, the resolved
//! configuration (with the command's own flags as its top layer) and, on
//! request, the federation settings, the workspace and its Dolt repository.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::config::{self, FederationSettings, Files, Key, Resolved};
use crate::dolt::Dolt;
use crate::error::UserError;
use crate::globals::Globals;
use crate::output::Printer;
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
    federation: OnceLock<FederationSettings>,
}

impl Context {
    /// Discovers the workspace and resolves configuration, `flags` (the
    /// command's flags that stand for keys) above every other layer.
    pub fn new(globals: Globals, printer: Printer, flags: &[(Key, String)]) -> anyhow::Result<Self> {
        let start = std::env::current_dir()?;
        let cwd = match &globals.chdir {
            Some(dir) => start.join(dir),
            None => start,
        };
        if !cwd.is_dir() {
            return Err(UserError::usage(format!("cannot change to '{}': no such directory", cwd.display())).into());
        }
        let beads_dir = workspace::discover(globals.beads_dir.as_deref(), &cwd);
        let mut files = Files::for_workspace(beads_dir.as_deref());
        // The local file is this machine's: one that git tracks came with a
        // clone, written by whoever can commit, and is not read.
        if let Some(local) = files.local.take_if(|l| l.is_file() && crate::gitrepo::is_tracked(l)) {
            printer.warn(&format!(
                "{} is tracked by git, so it came with the project and is ignored: it is for this machine only. \
                 Fix: `git rm --cached {}` and keep it in .beads/.gitignore",
                local.display(),
                local.display()
            ));
        }
        let config = config::resolve(files, flags)?;
        Ok(Self { globals, printer, cwd, beads_dir, config, federation: OnceLock::new() })
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

    /// The federation settings, resolved from the configuration on first
    /// use; a bad value is an error naming its key and where it was set.
    pub fn federation(&self) -> anyhow::Result<&FederationSettings> {
        if let Some(settings) = self.federation.get() {
            return Ok(settings);
        }
        let settings = FederationSettings::resolve(&self.config)?;
        Ok(self.federation.get_or_init(|| settings))
    }

    /// The `.beads/` directory found by discovery, if any.
    #[must_use]
    pub fn beads_dir(&self) -> Option<&Path> {
        self.beads_dir.as_deref()
    }

    /// The workspace; an error telling how to create one when there is none.
    pub fn workspace(&self) -> anyhow::Result<Workspace> {
        match &self.beads_dir {
            Some(dir) if dir.is_dir() => {
                refuse_links(dir)?;
                Ok(Workspace::at(dir.clone()))
            }
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

    /// Takes the town's write lock for a config write of `key` when there is
    /// a workspace (config writes outside any workspace need none). A bad
    /// `lock.timeout` stops every write, except one that sets or removes it:
    /// that one waits the default time, so the value can be repaired.
    pub fn lock_workspace_if_any(&self, key: &str) -> anyhow::Result<Option<crate::workspace::WriteLock>> {
        let Some(dir) = self.beads_dir.as_ref().filter(|d| d.is_dir()) else { return Ok(None) };
        let lock_timeout = config::Key::LockTimeout;
        let repairs = lock_timeout.name() == key || lock_timeout.name().starts_with(&format!("{key}."));
        let wait = match self.config.duration(lock_timeout) {
            Ok(wait) => wait,
            Err(err) if repairs => {
                self.printer.warn(&format!("{err}; waiting the default time for this change"));
                lock_timeout.parse_duration(lock_timeout.default_value().unwrap_or_default())?
            }
            Err(err) => return Err(err.into()),
        };
        Ok(Some(Workspace::at(dir.clone()).lock_for_write(wait)?))
    }

    /// The `dolt.path` setting bd may follow. Files under .beads/ travel
    /// with a clone; they must not choose what runs here: only the user
    /// file, `BD_DOLT_PATH` and flags may.
    fn dolt_setting(&self) -> Option<&config::Entry> {
        let entry = self.config.entry(config::Key::DoltPath.name());
        let allowed = entry.filter(|e| !matches!(e.origin, config::Origin::Project(_) | config::Origin::Local(_)));
        if let (None, Some(ignored)) = (allowed, entry) {
            self.printer.warn(&format!(
                "dolt.path from {} is ignored: a project's files may not choose the program bd runs. \
                 Set it with `bd config set --user dolt.path PATH` or BD_DOLT instead",
                ignored.origin
            ));
        }
        allowed
    }

    /// The dolt binary selected by `BD_DOLT`, `dolt.path`, `PATH` or the
    /// pinned build's cache, version-checked.
    pub fn dolt(&self) -> anyhow::Result<Dolt> {
        Dolt::locate(self.dolt_setting().map(|e| e.value.to_string()).as_deref()).map_err(with_install_hint)
    }

    /// Where the dolt in use is and what chose it (`env:BD_DOLT`, the file
    /// that sets `dolt.path`, `PATH` or the cache), without running it.
    pub fn dolt_location(&self) -> anyhow::Result<(PathBuf, String)> {
        let setting = self.dolt_setting();
        let (path, found) =
            crate::dolt::find(setting.map(|e| e.value.to_string()).as_deref()).map_err(with_install_hint)?;
        let origin = match (found, setting) {
            (crate::dolt::Found::Config, Some(entry)) => entry.origin.to_string(),
            (found, _) => found.to_string(),
        };
        Ok((path, origin))
    }

    /// The town: workspace, Dolt repository and identity.
    pub fn town(&self) -> anyhow::Result<Town> {
        Ok(Town::open(self.workspace()?, &self.dolt()?, &self.config)?.with_printer(self.printer.clone()))
    }
}

/// A missing or too old dolt is the user's to fix, with the one command
/// that does.
fn with_install_hint(err: crate::dolt::DoltError) -> anyhow::Error {
    match err {
        crate::dolt::DoltError::NotFound { .. } | crate::dolt::DoltError::TooOld { .. } => {
            UserError::failure(err.to_string()).with_hint(crate::dolt::install_hint()).into()
        }
        other => other.into(),
    }
}

/// The entries of `.beads/` that bd writes or locks. A link there (one a
/// clone can carry) would make bd write, lock or keep its database wherever
/// the link points, so bd refuses to work through one.
const WRITTEN_ENTRIES: [&str; 7] =
    ["dolt", "bd.lock", "federation-log.jsonl", "credentials", "credentials.key", "pseudonym.key", "issues.jsonl"];

/// Refuses a `.beads/` where an entry bd writes is a symbolic link.
pub(crate) fn refuse_links(beads_dir: &Path) -> anyhow::Result<()> {
    for name in WRITTEN_ENTRIES {
        let path = beads_dir.join(name);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            let target = std::fs::read_link(&path).map(|t| t.display().to_string()).unwrap_or_default();
            return Err(UserError::failure(format!(
                "{} is a symbolic link (to {}): bd writes there, and never through a link, \
                 which could point anywhere outside the project",
                path.display(),
                crate::error::quoted(&target)
            ))
            .with_hint(format!("remove the link (`rm {}`) and run the command again", path.display()))
            .into());
        }
    }
    Ok(())
}
