//! One file per bundled command: its clap `Args` (whose doc comments are the
//! help text) and its `run`, which turns the args into a call and returns a
//! report for the printer.
//!
//! A handler owns its command line: the options, checks about the
//! invocation itself (an empty `bd update`), warnings and the report's
//! rendering. It holds no SQL (`tests/it/house.rs` checks): reads and writes
//! are typed functions of [`crate::tracker::Town`], exchanges with peers are
//! [`crate::federation`]'s, printing is [`crate::output`]'s.

// Doc comments here are command-line help text, written for a terminal, not rustdoc.
#![allow(clippy::doc_markdown)]

pub mod blocked;
pub mod close;
pub mod comment;
pub mod config;
pub mod count;
pub mod create;
pub mod delete;
pub mod dep;
pub mod doctor;
pub mod export;
pub mod federation;
pub mod import;
pub mod init;
pub mod label;
pub mod list;
pub mod ready;
pub mod reopen;
pub mod search;
pub mod show;
pub mod stats;
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
    reopen::Reopen,
    delete::Delete,
    comment::CommentCmd,
    ready::Ready,
    blocked::BlockedCmd,
    search::Search,
    count::Count,
    stats::StatsCmd,
    dep::add::Add,
    dep::remove::Remove,
    dep::list::List,
    dep::tree::Tree,
    label::add::Add,
    label::remove::Remove,
    label::list::List,
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

/// A status or type on the command line: any word of the open set
/// ([`crate::tracker::validate::WORD_RULE`]); the well-known ones are the
/// possible values the shell completes.
#[derive(Debug, Clone, Copy)]
struct OpenWord {
    what: &'static str,
    known: &'static [&'static str],
}

impl clap::builder::TypedValueParser for OpenWord {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        let text = value.to_string_lossy();
        crate::tracker::validate::word(self.what, &text).map(|()| text.into_owned()).map_err(|e| {
            let arg = arg.map_or_else(|| self.what.to_owned(), ToString::to_string);
            let hint = e.hint().map(|h| format!("\nhint: {h}")).unwrap_or_default();
            clap::Error::raw(clap::error::ErrorKind::ValueValidation, format!("invalid value for {arg}: {e}{hint}\n"))
                .with_cmd(cmd)
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(self.known.iter().map(|&name| clap::builder::PossibleValue::new(name))))
    }
}

/// The parser of `--status`.
fn status_arg() -> OpenWord {
    OpenWord { what: "status", known: crate::tracker::Status::NAMES }
}

/// The parser of `--type`.
fn type_arg() -> OpenWord {
    OpenWord { what: "type", known: crate::tracker::IssueType::NAMES }
}
