//! The library behind every `bd` command.
//!
//! `bd` is a front door that runs `bd-*` executables git-style; each bundled
//! command is a thin `main` over this crate, and third-party plugins written
//! in Rust can use it the same way.
//!
//! # A command's life
//!
//! 1. Each bundled executable's `main` is one [`main!`] call, which runs
//!    [`plugin::main`]: it answers the front door's `--bd-plugin-info`
//!    handshake, parses the command's clap args with the [`globals::Globals`]
//!    (`--json`, `-q`, `-v`, `--color`, `--beads-dir`, `-C`), and fills in
//!    what the front door passed as `BD_*` variables ([`env`](mod@env)).
//! 2. [`context::Context`] applies `-C`, finds the `.beads/` directory
//!    ([`workspace`]) and resolves configuration once ([`config`]), the
//!    command's flags that stand for keys (`--timeout`, `--strategy`:
//!    [`plugin::Command::config_flags`]) as its top layer. Federation
//!    commands read the result as one typed
//!    [`config::FederationSettings`] ([`context::Context::federation`]).
//! 3. The handler (`cmd::*`) turns its args into a call: it opens the town
//!    ([`tracker::Town`]) and calls a typed function there, or a federation
//!    operation ([`federation`]). SQL is written only behind those functions
//!    ([`tracker::sql`]); everything reaches dolt through the one runner
//!    ([`dolt`]).
//! 4. The handler returns a [`output::Report`]; the [`output::Printer`] prints
//!    it as JSON or text and the report names its exit code, or the printer
//!    prints the error and [`error::exit_code`] picks the code.
//!
//! # Modules
//!
//! - [`frontdoor`]: the `bd` executable: global options, dispatch, `bd help`.
//! - [`plugin`]: the plugin protocol, the `Command` trait and [`main!`].
//! - [`globals`]: the global options, shared by the front door and every
//!   command.
//! - [`context`]: what a handler receives.
//! - [`cmd`]: one module per bundled command: its args, its call, its report.
//! - [`config`]: the layered configuration resolver, its keys, the typed
//!   federation settings (peers' sections and their keys included), the
//!   confirmation of project-file destinations, and its editor.
//! - [`workspace`]: `.beads/` discovery and the per-town write lock.
//! - [`dolt`]: the one way to run dolt.
//! - [`tracker`]: a town, its schema and every read and write of its issues:
//!   - [`tracker::sql`]: the one quoting function and the SQL fragment type;
//!   - [`tracker::schema`]: the tables every town holds;
//!   - [`tracker::genesis`]: the shared first commits, shipped as data;
//!   - [`tracker::migrate`]: schema versions and migrations;
//!   - [`tracker::validate`]: what every stored value must be;
//!   - [`tracker::jsonl`]: export and import in upstream beads' JSONL;
//!   - `issue`, `id`: the issue model and collision-free ids;
//!   - `create`, `edit`, `comment`, `graph`: recording, changing and
//!     commenting on issues; dependencies, labels, search, counts, deletion.
//! - [`federation`]: exchanging issues with peer towns, one file per operation.
//! - [`peer`]: peer names and the endpoint parser.
//! - [`backup`]: the JSONL backup in git that every sync mode but `dolt-native` keeps.
//! - [`credentials`]: peer passwords, sealed at rest, handed to dolt by environment.
//! - [`gitrepo`]: the project's git repository (committing the export, who wrote a file).
//! - [`doctor`]: `bd doctor`'s checks, each with its fix.
//! - [`docs`]: man pages and completions generated from the clap definitions.
//! - [`output`]: the one place that prints.
//! - [`error`]: error kinds and the one mapping to exit codes.
//! - [`env`](mod@env): every environment variable bd reads or sets.
//! - [`clock`]: timestamps, in the database and in output.
//! - [`fsutil`]: atomic file replacement.
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
pub mod globals;
pub mod output;
pub mod peer;
pub mod plugin;
pub mod tracker;
pub mod workspace;
