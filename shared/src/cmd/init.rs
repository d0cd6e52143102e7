//! `bd init`: create a town.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use crate::config::{self, FederationSettings, Files, Key, SyncMode};
use crate::context::Context;
use crate::credentials;
use crate::dolt::Dolt;
use crate::error::{self, UserError};
use crate::federation::clone;
use crate::fsutil;
use crate::output::{Report, Style};
use crate::peer::Endpoint;
use crate::plugin::Command;
use crate::tracker::{self, Town};
use crate::workspace::{self, BEADS_DIR_NAME, Workspace};

/// Create a town here: a .beads directory holding a Dolt database.
///
/// Every town starts from the same genesis commits, so any two towns can
/// later federate with each other. With --from, the town starts as a copy of
/// a peer's main instead, and that peer is registered as with
/// `bd federation add-peer`.
#[derive(Debug, Args)]
pub struct Init {
    /// Prefix of this town's issue ids (default: the town name, lower-cased).
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,
    /// This town's federation identity (default: the project directory's name).
    #[arg(long, value_name = "NAME")]
    pub town: Option<String>,
    /// Start from this peer's main (any add-peer endpoint format): clone it,
    /// register it as a peer and set sync.mode dolt-native. The town keeps
    /// its own name and prefix.
    #[arg(long, value_name = "ENDPOINT")]
    pub from: Option<String>,
    /// The --from peer's name (default: the endpoint's last path part
    /// without .git, e.g. hub for file:///srv/hub).
    #[arg(long, value_name = "NAME", requires = "from")]
    pub peer: Option<String>,
    /// User for the --from peer's remotesapi server.
    #[arg(long, value_name = "USER", requires = "from")]
    pub user: Option<String>,
    /// Read the --from peer's password from stdin (requires --user).
    #[arg(long, requires = "user")]
    pub password_stdin: bool,
}

/// What `bd init` created.
#[derive(Debug, Serialize)]
pub struct Initialized {
    /// Always `initialized`.
    pub status: &'static str,
    /// The town name.
    pub town: String,
    /// The issue-id prefix.
    pub prefix: String,
    /// The `source_system` of issues created here.
    pub source_system: String,
    /// The `.beads` directory.
    pub beads_dir: PathBuf,
    /// With `--from`: the endpoint the town started from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// With `--from`: the name it is a peer under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
}

impl Report for Initialized {
    fn human(&self, style: Style) -> String {
        let mut out = format!(
            "{} town '{}' in {} (issue ids: {}-…)\n",
            style.green("Initialized"),
            self.town,
            self.beads_dir.display(),
            self.prefix
        );
        if let (Some(from), Some(peer)) = (&self.from, &self.peer) {
            let _ = writeln!(out, "from peer '{peer}' at {from}; sync.mode is dolt-native");
        }
        out
    }
}

const GITIGNORE: &str = "# Managed by bd: the database travels through Dolt remotes, not git.\n\
dolt/\nbd.lock\ncredentials\n*.key\nconfig.local.yaml\nfederation-log.jsonl\n.*.tmp.*\n";

/// Checks a town name or id prefix against the rule `bd config set` applies too.
fn check_identifier(what: &str, flag: &str, value: &str) -> Result<(), UserError> {
    if config::is_identifier(value) {
        Ok(())
    } else {
        Err(UserError::usage(format!("invalid {what} {}: expected {}", error::quoted(value), config::IDENTIFIER_RULE))
            .with_hint(format!("pass a valid {flag}")))
    }
}

impl Command for Init {
    const NAME: &'static str = "init";
    const SUMMARY: &'static str = "Create a town: a .beads directory with a Dolt database";
    type Output = Initialized;

    fn config_flags(&self) -> Vec<(Key, String)> {
        let town = self.town.iter().map(|t| (Key::TownName, t.clone()));
        town.chain(self.prefix.iter().map(|p| (Key::TownPrefix, p.clone()))).collect()
    }

    fn run(self, ctx: &Context) -> anyhow::Result<Initialized> {
        // A bad endpoint or peer name is refused before anything is touched.
        let from = match &self.from {
            Some(raw) => {
                let endpoint = Endpoint::parse(raw)?;
                let name = match &self.peer {
                    Some(name) => name.clone(),
                    None => clone::default_name(&endpoint)?,
                };
                crate::peer::check_name(&name)?;
                Some((name, endpoint))
            }
            None => None,
        };
        let beads_dir = match &ctx.globals().beads_dir {
            Some(dir) => ctx.cwd().join(dir),
            None => ctx.cwd().join(BEADS_DIR_NAME),
        };
        let workspace = Workspace::at(beads_dir.clone());
        crate::context::refuse_links(&beads_dir)?;
        remove_leftovers(&workspace);
        if workspace.has_dolt() {
            return Err(already_a_town(&workspace, &ctx.dolt()?));
        }
        // A project cloned from git already names its town; keep that
        // identity. A town found above this directory is another town: its
        // name and prefix are not this one's (as `git init` inside a repository
        // makes a repository of its own).
        let own;
        let config = if ctx.beads_dir() == Some(beads_dir.as_path()) {
            ctx.config()
        } else {
            own = config::resolve(Files::for_workspace(Some(&beads_dir)), &self.config_flags())?;
            &own
        };
        let town = config.string(Key::TownName).unwrap_or_else(|| tracker::default_town_name(&workspace));
        check_identifier("town name", "--town NAME", &town)?;
        let prefix = config.string(Key::TownPrefix).unwrap_or_else(|| tracker::default_prefix(&town));
        check_identifier("prefix", "--prefix PREFIX", &prefix)?;
        let dolt = ctx.dolt()?;
        let source = match from {
            Some((name, endpoint)) => Some(clone::Source {
                name,
                endpoint,
                credentials: match &self.user {
                    Some(user) => Some((user.clone(), credentials::read_password(self.password_stdin, user)?)),
                    None => None,
                },
                timeout: FederationSettings::resolve(config)?.timeout,
            }),
            None => None,
        };
        let (from, peer) = source.as_ref().map(|s| (s.endpoint.as_str().to_owned(), s.name.clone())).unzip();
        build(&workspace, &dolt, &town, &prefix, source)?;
        let town = Town::new(workspace, dolt.repo(beads_dir.join("dolt")), town, prefix);
        Ok(Initialized {
            status: "initialized",
            source_system: town.source_system(),
            town: town.name().to_owned(),
            prefix: town.prefix().to_owned(),
            beads_dir,
            from,
            peer,
        })
    }
}

/// Builds the town out of sight and moves it into place last, so a kill at
/// any point leaves no town or a whole one, never a database without its
/// schema. The rename is the commit point, on one file system:
///
/// - no `.beads/` yet: the whole directory (database, `.gitignore`,
///   `config.yaml`) is built as `.beads.init-<pid>` beside it and renamed
///   to `.beads`;
/// - `.beads/` exists (a cloned project with its committed `config.yaml`):
///   the database is built as `.beads/.dolt.tmp.<pid>` (a name the
///   `.gitignore` covers), the missing generated files are written
///   atomically, and the database is renamed to `.beads/dolt` last. A kill
///   before that leaves at most the generated files, which hold what this
///   init was asked for, and no town.
///
/// With `--from`, the database is a clone of the peer's main and the peer
/// is registered before the rename too (in the staging directory, or in an
/// existing `.beads/` whose files are put back as they were on failure).
///
/// Leftovers of a killed init are removed by the next one.
fn build(
    workspace: &Workspace,
    dolt: &Dolt,
    town: &str,
    prefix: &str,
    source: Option<clone::Source>,
) -> anyhow::Result<()> {
    let beads_dir = workspace.beads_dir();
    let fresh = !beads_dir.exists();
    let (staging, target) = if fresh {
        (staging_beads(beads_dir, std::process::id()), beads_dir.to_owned())
    } else {
        (staging_dolt(workspace, std::process::id()), workspace.dolt_dir())
    };
    let dolt_dir = if fresh { staging.join("dolt") } else { staging.clone() };
    let files = if fresh { Workspace::at(staging.clone()) } else { workspace.clone() };
    let federated = source.is_some();
    let kept = (federated && !fresh).then(|| Kept::take(beads_dir));
    let result = (|| -> anyhow::Result<()> {
        let parent = dolt_dir.parent().unwrap_or(beads_dir);
        std::fs::create_dir_all(parent).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", parent.display()))?;
        match &source {
            Some(source) => clone::clone_into(dolt, source, &dolt_dir)?,
            None => tracker::genesis::lay_down(dolt, &dolt_dir)?,
        }
        let staged = Town::new(files.clone(), dolt.repo(dolt_dir.clone()), town.to_owned(), prefix.to_owned());
        tracker::migrate::apply(&staged)?;
        write_if_absent(&files.beads_dir().join(".gitignore"), GITIGNORE)?;
        let mode = if federated { format!("sync:\n  mode: {}\n", SyncMode::DoltNative) } else { String::new() };
        let wrote_config = write_if_absent(
            &files.project_config(),
            &format!(
                "# bd project configuration; see `bd config list --show-origin`.\ntown:\n  name: {town}\n  prefix: {prefix}\n{mode}"
            ),
        )?;
        if let Some(source) = source {
            // A project file that was there already is given the mode too.
            if !wrote_config {
                let mode = Some(config::Value::Scalar(SyncMode::DoltNative.to_string()));
                config::update(&files.project_config(), &[(Key::SyncMode.name(), mode)])?;
            }
            let resolved = config::resolve(Files::for_workspace(Some(files.beads_dir())), &[])?;
            clone::register(&staged, &resolved, source)?;
        }
        // An empty directory in the way (from a run of an older bd) is
        // replaced by the rename; a non-empty one makes it fail.
        std::fs::rename(&staging, &target).map_err(|e| {
            if target.join(".dolt").is_dir() || (fresh && target.exists()) {
                anyhow::Error::new(
                    UserError::failure(format!("{} was made by another bd init meanwhile", target.display()))
                        .with_hint("use that town as it is"),
                )
            } else {
                anyhow::anyhow!("cannot move the new town into place as {}: {e}", target.display())
            }
        })
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
        if let Some(kept) = kept {
            kept.restore();
        }
        return result;
    }
    if federated && fresh {
        // The peer was written in the staging directory, where this
        // machine's confirmation of it could not be recorded: the whole
        // project file is this init's own, so confirm it now.
        let resolved = config::resolve(Files::for_workspace(Some(beads_dir)), &[])?;
        config::trust::confirm(&resolved, beads_dir).map_err(|err| {
            anyhow::Error::new(
                UserError::failure(format!("the town was made, but its peer could not be confirmed: {err:#}"))
                    .with_hint("run `bd federation trust`"),
            )
        })?;
    }
    Ok(())
}

/// The files of an existing `.beads/` that `--from` writes, as they were
/// before, so a failed init leaves them as it found them.
struct Kept(Vec<(PathBuf, Option<Vec<u8>>)>);

impl Kept {
    fn take(beads_dir: &Path) -> Self {
        let files = ["config.yaml", "credentials", "credentials.key"];
        Self(
            files
                .iter()
                .map(|name| beads_dir.join(name))
                .map(|path| (std::fs::read(&path).ok(), path))
                .map(|(b, p)| (p, b))
                .collect(),
        )
    }

    fn restore(self) {
        for (path, bytes) in self.0 {
            let _ = match bytes {
                Some(bytes) => fsutil::write_atomic(&path, &bytes, fsutil::Links::Refuse).map_err(drop),
                None => std::fs::remove_file(&path).map_err(drop),
            };
        }
    }
}

/// Where a fresh `.beads/` is built: beside it, on the same file system.
fn staging_beads(beads_dir: &Path, pid: u32) -> PathBuf {
    beads_dir.with_file_name(format!("{}{pid}", staging_beads_prefix(beads_dir)))
}

/// `.beads.init-`: the name of a fresh town's staging directory, before the pid.
fn staging_beads_prefix(beads_dir: &Path) -> String {
    let name = beads_dir.file_name().map_or_else(|| BEADS_DIR_NAME.into(), |n| n.to_string_lossy().into_owned());
    format!("{name}{INIT_MARK}")
}

/// Where the database of an existing `.beads/` is built.
fn staging_dolt(workspace: &Workspace, pid: u32) -> PathBuf {
    workspace.beads_dir().join(format!("{DOLT_MARK}{pid}"))
}

/// What follows the `.beads` name in a fresh town's staging directory.
const INIT_MARK: &str = ".init-";
/// The start of an existing `.beads/`'s staging database.
const DOLT_MARK: &str = ".dolt.tmp.";

/// Removes what inits that were killed left behind: staging directories
/// whose process is gone (a running init keeps its own).
fn remove_leftovers(workspace: &Workspace) {
    let beads_dir = workspace.beads_dir();
    let fresh = staging_beads_prefix(beads_dir);
    let places: [(Option<&Path>, &str); 2] = [(beads_dir.parent(), fresh.as_str()), (Some(beads_dir), DOLT_MARK)];
    for (dir, mark) in places {
        let Some(entries) = dir.and_then(|d| std::fs::read_dir(d).ok()) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix(mark)
                && workspace::process_gone(pid)
                && entry.file_type().is_ok_and(|t| t.is_dir())
            {
                let _ = std::fs::remove_dir_all(entry.path());
            }
            // A generated file a killed init was writing (`.<name>.tmp.<pid>`).
            if mark == DOLT_MARK
                && name.starts_with('.')
                && let Some((_, pid)) = name.rsplit_once(".tmp.")
                && workspace::process_gone(pid)
                && entry.file_type().is_ok_and(|t| t.is_file())
            {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// The refusal for a workspace that has a database: a whole town, or one
/// an interrupted init of an older bd left without its schema.
fn already_a_town(workspace: &Workspace, dolt: &Dolt) -> anyhow::Error {
    let dolt_dir = workspace.dolt_dir();
    if let Some(missing) = tracker::half_made(&dolt.repo(dolt_dir.clone())) {
        return UserError::failure(format!(
            "{} is a half-made town: its database lacks the table(s) {} (a `bd init` was interrupted) and holds no \
             data",
            workspace.beads_dir().display(),
            missing.join(", ")
        ))
        .with_hint(format!("remove the database and make the town again: `rm -rf {} && bd init`", dolt_dir.display()))
        .into();
    }
    UserError::failure(format!("{} is already a bd town", workspace.beads_dir().display()))
        .with_hint("use it as it is, or remove its .beads directory to start over")
        .into()
}

/// Writes `text` to `path` unless something is there; returns whether it wrote.
fn write_if_absent(path: &Path, text: &str) -> anyhow::Result<bool> {
    if path.exists() {
        return Ok(false);
    }
    fsutil::write_atomic(path, text.as_bytes(), fsutil::Links::Refuse)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(true)
}
