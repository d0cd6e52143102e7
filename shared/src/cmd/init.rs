//! `bd init`: create a town.

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use crate::config::{self, Files, Key};
use crate::context::Context;
use crate::dolt::Dolt;
use crate::error::{self, UserError};
use crate::fsutil;
use crate::output::{Report, Style};
use crate::plugin::Command;
use crate::tracker::{self, Town, schema, sql};
use crate::workspace::{BEADS_DIR_NAME, Workspace};

/// Create a town here: a .beads directory holding a Dolt database.
///
/// Every town starts from the same genesis commits, so any two towns can
/// later federate with each other.
#[derive(Debug, Args)]
pub struct Init {
    /// Prefix of this town's issue ids (default: the town name, lower-cased).
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,
    /// This town's federation identity (default: the project directory's name).
    #[arg(long, value_name = "NAME")]
    pub town: Option<String>,
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
}

impl Report for Initialized {
    fn human(&self, style: Style) -> String {
        format!(
            "{} town '{}' in {} (issue ids: {}-…)\n",
            style.green("Initialized"),
            self.town,
            self.beads_dir.display(),
            self.prefix
        )
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

    fn run(self, ctx: &Context) -> anyhow::Result<Initialized> {
        let beads_dir = match &ctx.globals().beads_dir {
            Some(dir) => ctx.cwd().join(dir),
            None => ctx.cwd().join(BEADS_DIR_NAME),
        };
        let workspace = Workspace::at(beads_dir.clone());
        crate::context::refuse_links(&beads_dir)?;
        if workspace.has_dolt() {
            return Err(UserError::failure(format!("{} is already a bd town", beads_dir.display()))
                .with_hint("use it as it is, or remove its .beads directory to start over")
                .into());
        }
        // A project cloned from git already names its town; keep that
        // identity. A town found above this directory is another town: its
        // name and prefix are not this one's (as `git init` inside a repository
        // makes a repository of its own).
        let own;
        let config = if ctx.beads_dir() == Some(beads_dir.as_path()) {
            ctx.config()
        } else {
            own = config::resolve(Files::for_workspace(Some(&beads_dir)), &[])?;
            &own
        };
        let town = self
            .town
            .or_else(|| config.string(Key::TownName))
            .unwrap_or_else(|| tracker::default_town_name(&workspace));
        let prefix_from_config = config.string(Key::TownPrefix);
        check_identifier("town name", "--town NAME", &town)?;
        let prefix = self.prefix.or(prefix_from_config).unwrap_or_else(|| tracker::default_prefix(&town));
        check_identifier("prefix", "--prefix PREFIX", &prefix)?;
        let dolt = ctx.dolt()?;

        let created_beads = !beads_dir.exists();
        let result = create(&workspace, &dolt, &town, &prefix);
        if result.is_err() {
            // Leave nothing half-made behind.
            let _ = std::fs::remove_dir_all(workspace.dolt_dir());
            if created_beads {
                let _ = std::fs::remove_dir_all(&beads_dir);
            }
        }
        result?;
        let town = Town::new(workspace, dolt.repo(beads_dir.join("dolt")), town, prefix);
        Ok(Initialized {
            status: "initialized",
            source_system: town.source_system(),
            town: town.name().to_owned(),
            prefix: town.prefix().to_owned(),
            beads_dir,
        })
    }
}

fn create(workspace: &Workspace, dolt: &Dolt, town: &str, prefix: &str) -> anyhow::Result<()> {
    let dolt_dir = workspace.dolt_dir();
    std::fs::create_dir_all(&dolt_dir)?;
    write_if_absent(&workspace.beads_dir().join(".gitignore"), GITIGNORE)?;
    write_if_absent(
        &workspace.project_config(),
        &format!(
            "# bd project configuration; see `bd config list --show-origin`.\ntown:\n  name: {town}\n  prefix: {prefix}\n"
        ),
    )?;
    dolt.call(
        &dolt_dir,
        [
            "init",
            "--name",
            schema::GENESIS_AUTHOR_NAME,
            "--email",
            schema::GENESIS_AUTHOR_EMAIL,
            "--date",
            schema::GENESIS_DATE,
            "-b",
            schema::BRANCH,
        ],
    )
    .env("DOLT_COMMITTER_DATE", schema::GENESIS_DATE)
    .env("DOLT_AUTHOR_DATE", schema::GENESIS_DATE)
    .run()?;
    let script = format!(
        "{}\nCALL DOLT_COMMIT('-A', '-m', {}, '--author', {}, '--date', {});\n",
        schema::SCHEMA,
        sql::lit(schema::SCHEMA_MESSAGE),
        sql::lit(&format!("{} <{}>", schema::GENESIS_AUTHOR_NAME, schema::GENESIS_AUTHOR_EMAIL)),
        sql::lit(schema::GENESIS_DATE),
    );
    dolt.call(&dolt_dir, ["sql"])
        .stdin(script)
        .env("DOLT_COMMITTER_DATE", schema::GENESIS_DATE)
        .env("DOLT_AUTHOR_DATE", schema::GENESIS_DATE)
        .run()?;
    Ok(())
}

fn write_if_absent(path: &Path, text: &str) -> anyhow::Result<()> {
    if !path.exists() {
        fsutil::write_atomic(path, text.as_bytes(), fsutil::Links::Refuse)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}
