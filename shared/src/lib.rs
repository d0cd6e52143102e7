//! The library behind every `bd` command.
//!
//! `bd` is a front door that runs `bd-*` executables git-style; each bundled
//! command is a thin `main` over this crate, and third-party plugins written
//! in Rust can use it the same way.
//!
//! # A command's life
//!
//! 1. [`plugin::main`] parses the command's clap args plus the [`plugin::Globals`]
//!    (`--json`, `-q`, `-v`, `--color`, `--beads-dir`, `-C`, and the `BD_*`
//!    variables the front door sets), and answers `--bd-plugin-info`.
//! 2. [`context::Context`] finds the workspace ([`workspace`]) and resolves
//!    configuration once ([`config`]).
//! 3. The handler (`cmd::*`) opens the town ([`tracker::Town`]), which drives
//!    dolt through the one runner ([`dolt`]).
//! 4. The handler returns a [`output::Report`]; the [`output::Printer`] prints
//!    it as JSON or text, or prints the error and picks the exit code
//!    ([`error`]).
//!
//! # Modules
//!
//! - [`frontdoor`]: the `bd` executable: global options, dispatch, `bd help`.
//! - [`plugin`]: the plugin protocol, the `Command` trait and [`main!`].
//! - [`context`]: what a handler receives.
//! - [`config`]: the layered configuration resolver.
//! - [`workspace`]: `.beads/` discovery and the per-town write lock.
//! - [`dolt`]: the one way to run dolt.
//! - [`tracker`]: the schema, issues and their reads and writes.
//! - [`cmd`]: one module per bundled command.
//! - [`backup`]: the JSONL backup in git that every sync mode but `dolt-native` keeps.
//! - [`output`], [`error`], [`env`], [`clock`], [`fsutil`]: printing, exit
//!   codes, environment variables, timestamps, atomic writes.
//!
//! # Adding a command
//!
//! ```no_run
//! use bd_shared::{context::Context, output::{Report, Style}, plugin::Command};
//!
//! /// Say hello to the town.
//! #[derive(Debug, clap::Args)]
//! struct Hello {
//!     /// Who to greet.
//!     name: String,
//! }
//!
//! #[derive(serde::Serialize)]
//! struct Greeting { text: String }
//!
//! impl Report for Greeting {
//!     fn human(&self, _style: Style) -> String { format!("{}\n", self.text) }
//! }
//!
//! impl Command for Hello {
//!     const NAME: &'static str = "hello";
//!     const SUMMARY: &'static str = "Say hello";
//!     type Output = Greeting;
//!     fn run(self, ctx: &Context) -> anyhow::Result<Greeting> {
//!         let town = ctx.town()?;
//!         Ok(Greeting { text: format!("hello {} from {}", self.name, town.name()) })
//!     }
//! }
//!
//! bd_shared::main!(Hello);
//! ```
#![warn(missing_docs)]

pub mod backup;
pub mod clock;
pub mod cmd;
pub mod config;
pub mod context;
pub mod credentials;
pub mod docs;
pub mod doctor;
pub mod dolt;
pub mod env;
pub mod error;
pub mod federation;
pub mod frontdoor;
pub mod fsutil;
pub mod gitrepo;
pub mod output;
pub mod peer;
pub mod plugin;
pub mod tracker;
pub mod workspace;
