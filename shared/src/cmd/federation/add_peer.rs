//! `bd federation add-peer`: register a peer town.

use clap::Args;
use serde::Serialize;

use crate::config::Tier;
use crate::context::Context;
use crate::credentials;
use crate::federation::{self, peers};
use crate::output::{Report, Style};
use crate::peer::Endpoint;
use crate::plugin::Command;

/// Register a peer town as a Dolt remote and in the project config.
///
/// Endpoint formats: dolthub://org/repo, gs://bucket/path, s3://bucket/path,
/// file:///path, https://host/path (http:// for 127.0.0.1), ssh://host/path,
/// git@host:path. Connectivity is checked on the first push or pull, not
/// here: nothing at the endpoint is touched (a file:// directory that does
/// not exist yet is not created; the first push creates it, or fails naming
/// the peer and the path). A password is never taken on the command line: it comes from
/// --password-stdin, BD_PEER_PASSWORD or a prompt, and is stored encrypted.
#[derive(Debug, Args)]
pub struct AddPeer {
    /// The peer's name: a letter first, then letters, digits, '-' or '_'.
    pub name: String,
    /// Where the peer's database lives.
    pub endpoint: String,
    /// The peer's data sovereignty tier (the stricter of this and the town's applies).
    #[arg(long, value_name = "TIER", value_parser = clap::value_parser!(Tier))]
    pub sovereignty: Option<Tier>,
    /// User for the peer's remotesapi server.
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Read the password from stdin (requires --user).
    #[arg(long, requires = "user")]
    pub password_stdin: bool,
    /// Replace a peer of this name: its dolt remote and configured endpoint
    /// become ENDPOINT (the repair when they disagree).
    #[arg(long)]
    pub force: bool,
}

/// The guide's JSON: `{"name","endpoint","status"}`.
#[derive(Debug, Serialize)]
pub struct Added {
    /// The peer's name.
    pub name: String,
    /// The endpoint as given.
    pub endpoint: String,
    /// Always `added`.
    pub status: &'static str,
    #[serde(skip)]
    dolt_url: String,
}

impl Report for Added {
    fn human(&self, style: Style) -> String {
        format!(
            "{} peer '{}' at {} (dolt remote {})\n",
            style.green("Added"),
            self.name,
            self.endpoint,
            style.dim(&self.dolt_url)
        )
    }
}

impl Command for AddPeer {
    const NAME: &'static str = "federation add-peer";
    const SUMMARY: &'static str = "Register a peer town";
    type Output = Added;

    fn run(self, ctx: &Context) -> anyhow::Result<Added> {
        crate::peer::check_name(&self.name)?;
        let endpoint = Endpoint::parse(&self.endpoint)?;
        let town = federation::open(ctx)?;
        let credentials = match &self.user {
            Some(user) => Some((user.clone(), credentials::read_password(self.password_stdin, user)?)),
            None => None,
        };
        let dolt_url = endpoint.dolt_url().to_owned();
        peers::add(
            &town,
            ctx.config(),
            &peers::NewPeer {
                name: self.name.clone(),
                endpoint,
                sovereignty: self.sovereignty,
                credentials,
                force: self.force,
            },
        )?;
        Ok(Added { name: self.name, endpoint: self.endpoint, status: "added", dolt_url })
    }
}
