//! One file per bundled command: its clap `Args` (whose doc comments are the
//! help text) and its `run`, which returns a report for the printer.

// Doc comments here are command-line help text, written for a terminal, not rustdoc.
#![allow(clippy::doc_markdown)]

pub mod close;
pub mod comment;
pub mod config;
pub mod create;
pub mod doctor;
pub mod export;
pub mod federation;
pub mod import;
pub mod init;
pub mod list;
pub mod show;
pub mod sync;
pub mod update;

use crate::plugin::{Command, clap_command};

/// A bundled command as the man page generator, completion and `bd help`
/// see it.
#[derive(Debug, Clone, Copy)]
pub struct Bundled {
    /// The command words, e.g. `federation push`.
    pub name: &'static str,
    /// One line.
    pub summary: &'static str,
    /// Its clap definition.
    pub command: fn() -> clap::Command,
}

impl Bundled {
    /// The executable name, e.g. `bd-federation-push`.
    #[must_use]
    pub fn executable(&self) -> String {
        crate::plugin::executable_name(self.name)
    }
}

macro_rules! bundled {
    ($($ty:ty),* $(,)?) => {
        &[$(Bundled { name: <$ty as Command>::NAME, summary: <$ty as Command>::SUMMARY, command: clap_command::<$ty> }),*]
    };
}

/// Every command shipped with bd, in the order `bd help` lists them.
pub const BUNDLED: &[Bundled] = bundled![
    init::Init,
    create::Create,
    list::List,
    show::Show,
    update::Update,
    close::Close,
    comment::CommentCmd,
    export::Export,
    import::Import,
    sync::Sync,
    doctor::Doctor,
    config::list::List,
    config::get::Get,
    config::set::Set,
    config::unset::Unset,
    federation::add_peer::AddPeer,
    federation::remove_peer::RemovePeer,
    federation::list_peers::ListPeers,
    federation::push::Push,
    federation::pull::Pull,
    federation::fetch::Fetch,
    federation::sync::Sync,
    federation::join::Join,
    federation::status::Status,
    federation::log::Log,
    federation::trust::Trust,
];

/// Parses a priority for clap (`0`–`4` or `P0`–`P4`).
fn priority_arg(s: &str) -> Result<i64, String> {
    crate::tracker::parse_priority(s).map_err(|e| e.to_string())
}
