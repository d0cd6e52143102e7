//! `bd plugins`: every `bd-*` executable found, kubectl-style warnings about
//! shadowed, unreachable, non-executable and bundled-replacing plugins.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use super::discover::{PREFIX, SearchPath, Status};
use super::handshake;
use crate::output::{Report, Style};

/// One `bd-*` file.
#[derive(Debug, Serialize)]
pub struct Plugin {
    /// The command words.
    pub command: String,
    /// The file's path.
    pub path: PathBuf,
    /// `bundled` or `third-party`.
    pub kind: &'static str,
    /// Its summary, if it answered the handshake.
    pub summary: Option<String>,
    /// Its version, if it answered the handshake.
    pub version: Option<String>,
    /// The protocol version it speaks, if it answered.
    pub api: Option<u32>,
    /// `active`, `shadowed`, `unreachable` (a third-party name that extends
    /// a bundled command) or `not_executable`.
    pub status: &'static str,
    /// For a shadowed or unreachable file, the one that runs instead.
    pub shadowed_by: Option<PathBuf>,
}

/// What `bd plugins` prints.
#[derive(Debug, Serialize)]
pub struct Plugins {
    /// Every file found, in search order.
    pub plugins: Vec<Plugin>,
    /// Problems worth knowing.
    pub warnings: Vec<String>,
    #[serde(skip)]
    verbose: bool,
}

/// Lists the plugins on `search`, asking the active ones for their handshake.
#[must_use]
pub fn list(search: &SearchPath, verbose: bool) -> Plugins {
    let candidates = search.all_candidates();
    let active: Vec<PathBuf> =
        candidates.iter().filter(|c| c.status == Status::Active).map(|c| c.path.clone()).collect();
    let infos = handshake::query_all(&active);
    let mut warnings = Vec::new();
    let mut plugins = Vec::new();
    for c in &candidates {
        let info = active.iter().position(|p| *p == c.path).and_then(|i| infos[i].clone());
        let (status, winner) = match &c.status {
            Status::Active => ("active", None),
            Status::NotExecutable => {
                warnings
                    .push(format!("{} is not executable; it cannot run (chmod +x it or remove it)", c.path.display()));
                ("not_executable", None)
            }
            Status::Shadowed { by } => {
                if c.bundled {
                    warnings.push(format!(
                        "{} replaces the bundled command 'bd {}' ({} does not run)",
                        by.display(),
                        c.words(),
                        c.path.display()
                    ));
                } else {
                    warnings.push(format!("{} is shadowed by {}", c.path.display(), by.display()));
                }
                ("shadowed", Some(by.clone()))
            }
            Status::Unreachable { by } => {
                let words = c.name[PREFIX.len()..].replace('-', " ");
                warnings.push(format!(
                    "{} never runs: `bd {words}` runs {} instead, because a command found on PATH cannot take \
                     over the words of a bundled command (or of one in BD_EXEC_PATH); rename or remove it",
                    c.path.display(),
                    by.display(),
                ));
                ("unreachable", Some(by.clone()))
            }
        };
        plugins.push(Plugin {
            command: c.words(),
            path: c.path.clone(),
            kind: if c.bundled { "bundled" } else { "third-party" },
            summary: info.as_ref().map(|i| i.summary.clone()),
            version: info.as_ref().map(|i| i.version.clone()),
            api: info.as_ref().map(|i| i.api),
            status,
            shadowed_by: winner,
        });
    }
    Plugins { plugins, warnings, verbose }
}

impl Report for Plugins {
    fn human(&self, style: Style) -> String {
        let mut out = String::new();
        for kind in ["bundled", "third-party"] {
            let rows: Vec<&Plugin> = self.plugins.iter().filter(|p| p.kind == kind && p.status == "active").collect();
            if rows.is_empty() {
                continue;
            }
            let _ = writeln!(
                out,
                "{}",
                style.bold(&format!("{}:", if kind == "bundled" { "Bundled" } else { "Third-party" }))
            );
            for p in rows {
                let _ = write!(out, "  {:<24}{:<44}", p.command, p.summary.as_deref().unwrap_or("(no handshake)"));
                if self.verbose {
                    let _ = write!(
                        out,
                        " {} api={}",
                        p.version.as_deref().unwrap_or("?"),
                        p.api.map_or("?".to_owned(), |a| a.to_string())
                    );
                }
                let _ = writeln!(out, " {}", style.dim(&p.path.display().to_string()));
            }
        }
        out
    }
}

impl Plugins {
    /// The warnings, for stderr.
    #[must_use]
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}
