//! The global options: one clap definition that every bundled command and
//! the front door `bd` parse, and their `BD_*` environment form.
//!
//! The front door parses them before the command word and hands them to the
//! plugin as environment ([`Globals::to_env`]); a bundled command parses them
//! anywhere on its own command line and merges that environment back in
//! ([`Globals::with_env`]). This module knows neither the plugin protocol nor
//! the context, so both can use it.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::env;
use crate::error::UserError;
use crate::output::{ColorChoice, Printer};

/// The options every command accepts, before or after the command word.
#[derive(Debug, Clone, Default, Args)]
pub struct Globals {
    /// Print machine-readable JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Print nothing but errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Print more detail on stderr.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// When to use colour.
    #[arg(long, global = true, value_name = "WHEN")]
    pub color: Option<ColorChoice>,
    /// Use this .beads directory instead of discovering one.
    #[arg(long, global = true, value_name = "DIR")]
    pub beads_dir: Option<PathBuf>,
    /// Run as if bd was started in DIR.
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub chdir: Option<PathBuf>,
}

impl Globals {
    /// Merges the flags with what the front door passed as environment. A
    /// variable holding a value bd cannot read is an error listing the valid
    /// ones, never silently ignored.
    pub fn with_env(mut self) -> Result<Self, UserError> {
        self.json |= env::flag(env::BD_JSON)?;
        self.quiet |= env::flag(env::BD_QUIET)?;
        self.verbose |= env::flag(env::BD_VERBOSE)?;
        if self.color.is_none() {
            self.color = env::get(env::BD_COLOR).map(|c| env_color(&c)).transpose()?;
        }
        if self.beads_dir.is_none() {
            self.beads_dir = env::path(env::BEADS_DIR);
        }
        Ok(self)
    }

    /// The variables that carry these options to a plugin; `cwd` is where
    /// the plugin runs, against which a relative `--beads-dir` is resolved.
    #[must_use]
    pub fn to_env(&self, cwd: &std::path::Path) -> Vec<(&'static str, std::ffi::OsString)> {
        let mut vars = Vec::new();
        for (flag, var) in [(self.json, env::BD_JSON), (self.quiet, env::BD_QUIET), (self.verbose, env::BD_VERBOSE)] {
            if flag {
                vars.push((var, "1".into()));
            }
        }
        if let Some(color) = self.color {
            vars.push((env::BD_COLOR, color.as_str().into()));
        }
        if let Some(dir) = &self.beads_dir {
            vars.push((env::BEADS_DIR, cwd.join(dir).into_os_string()));
        }
        vars
    }

    /// The printer these options ask for.
    #[must_use]
    pub fn printer(&self) -> Printer {
        Printer::new(self.json, self.quiet, self.verbose, self.color.unwrap_or_default())
    }
}

/// `BD_COLOR`, through the same parser as `--color`.
fn env_color(value: &str) -> Result<ColorChoice, UserError> {
    ColorChoice::from_str(value, false).map_err(|_| env::bad_value(env::BD_COLOR, value, &ColorChoice::spellings()))
}
