//! The plugin protocol: how a bundled command starts, answers the handshake
//! and ends.
//!
//! Each executable's `main` is one [`crate::main!`] call. [`main`] parses the
//! command's [`Command`] args together with the [`Globals`] (their own
//! module, which the front door shares), answers
//! `--bd-plugin-info`, builds the [`Context`] (the command's
//! [`Command::config_flags`] as the config resolver's flags layer), runs the
//! handler, prints the result or the error through the [`Printer`], and
//! returns the exit code.

use std::process::ExitCode;

use clap::{ArgMatches, Args, FromArgMatches};
use serde::Serialize;

use crate::config::Key;
use crate::context::Context;
use crate::env;
use crate::error;
use crate::globals::Globals;
use crate::output::{ColorChoice, Printer, Report};

/// The plugin protocol version this crate speaks.
pub const API_VERSION: u32 = 1;

/// The argument that asks a plugin for its handshake line.
pub const INFO_FLAG: &str = "--bd-plugin-info";

/// A bd command: its clap args (doc comments are the help text) and its
/// handler.
pub trait Command: Args {
    /// The command words after `bd`, e.g. `"federation push"`.
    const NAME: &'static str;
    /// One line for `bd help` and the handshake.
    const SUMMARY: &'static str;
    /// What the handler returns, printed as JSON or text.
    type Output: Report;
    /// The flags given that stand for configuration keys (`--timeout` for
    /// `federation.timeout`), as typed: the resolver's flags layer, above
    /// the environment and the files, so the handler reads one resolved
    /// value and its origin is `flag`. None by default.
    fn config_flags(&self) -> Vec<(Key, String)> {
        Vec::new()
    }
    /// Whether the command lists the configuration's warnings in its own
    /// report (`bd doctor`), so the runner does not print them first.
    const REPORTS_CONFIG_WARNINGS: bool = false;
    /// Runs the command.
    fn run(self, ctx: &Context) -> anyhow::Result<Self::Output>;
}

/// The executable name of a command: `bd-` plus its words joined by `-`.
#[must_use]
pub fn executable_name(words: &str) -> String {
    format!("bd-{}", words.replace(' ', "-"))
}

/// The clap definition of a command, shared by the executable, the man page
/// generator and the completion generator.
#[must_use]
pub fn clap_command<C: Command>() -> clap::Command {
    let cmd = clap::Command::new(executable_name(C::NAME))
        .bin_name(format!("bd {}", C::NAME))
        .version(env!("CARGO_PKG_VERSION"));
    add_globals(C::augment_args(cmd)).about(C::SUMMARY)
}

/// Adds the [`Globals`] to a command, keeping the command's own description
/// (augmenting would replace it with the `Globals` doc comment).
#[must_use]
pub fn add_globals(cmd: clap::Command) -> clap::Command {
    let about = cmd.get_about().cloned();
    let long_about = cmd.get_long_about().cloned();
    let cmd = Globals::augment_args(cmd);
    let cmd = match about {
        Some(text) => cmd.about(text),
        None => cmd.about(None::<&'static str>),
    };
    match long_about {
        Some(text) => cmd.long_about(text),
        None => cmd.long_about(None::<&'static str>),
    }
}

/// The handshake line: `{"name","version","summary","api"}`.
#[derive(Debug, Serialize, serde::Deserialize, PartialEq, Eq, Clone)]
pub struct PluginInfo {
    /// The command words, e.g. `federation push`.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// One line describing the command.
    pub summary: String,
    /// The protocol version.
    pub api: u32,
}

fn parse<C: Command>(matches: &ArgMatches) -> Result<(C, Globals), clap::Error> {
    Ok((C::from_arg_matches(matches)?, Globals::from_arg_matches(matches)?))
}

/// Runs a command as a process: the body of every bundled `main`.
#[must_use]
pub fn main<C: Command>() -> ExitCode {
    // Before anything is read: a core file of a process that holds a peer
    // password (from stdin, the environment or the credential store, which
    // any federation command opens) would hold the password too.
    crate::credentials::forbid_core_dumps();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == INFO_FLAG) {
        let info = PluginInfo {
            name: C::NAME.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            summary: C::SUMMARY.to_owned(),
            api: API_VERSION,
        };
        Printer::new(true, false, false, ColorChoice::Never).report(&Handshake(info));
        return ExitCode::SUCCESS;
    }
    let matches = match clap_command::<C>().try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => {
            // --help and --version arrive here too; clap knows their exit code.
            print_clap_error(&e);
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(error::exit::USAGE));
        }
    };
    let (command, globals) = match parse::<C>(&matches) {
        Ok(parsed) => parsed,
        Err(e) => {
            print_clap_error(&e);
            return ExitCode::from(error::exit::USAGE);
        }
    };
    // The flags alone pick how an error in the environment is printed.
    let flags_printer = globals.printer();
    let globals = match env::check().and_then(|()| globals.with_env()) {
        Ok(globals) => globals,
        Err(err) => {
            let err = anyhow::Error::from(err);
            let code = error::exit_code(&err);
            flags_printer.error(&err, code);
            return ExitCode::from(code);
        }
    };
    let printer = globals.printer();
    let flags = command.config_flags();
    let result = Context::new(globals, printer.clone(), &flags).and_then(|ctx| {
        if !C::REPORTS_CONFIG_WARNINGS {
            for warning in ctx.config().warnings() {
                printer.warn(warning);
            }
        }
        command.run(&ctx)
    });
    match result {
        Ok(output) => {
            printer.report(&output);
            ExitCode::from(output.exit_code())
        }
        Err(err) => {
            let code = error::exit_code(&err);
            printer.error(&err, code);
            ExitCode::from(code)
        }
    }
}

/// Prints a clap error in bd's style (`error: …`, then `hint: …`), with the input it quotes shown the way every bd
/// error shows input ([`error::quoted`]): clap quotes a rejected value or
/// argument whole, so a megabyte argument would fill the terminal and an
/// escape sequence would reach it.
fn print_clap_error(e: &clap::Error) {
    use clap::error::ContextValue;
    let rendered = e.render().to_string();
    let mut text = rendered.clone();
    for (_, value) in e.context() {
        let values = match value {
            ContextValue::String(v) => std::slice::from_ref(v),
            ContextValue::Strings(v) => v.as_slice(),
            _ => &[],
        };
        for v in values {
            let shown = error::quoted(v);
            if shown != format!("'{v}'") {
                text = text.replace(&format!("'{v}'"), &shown);
            }
        }
    }
    // bd's errors give their fix on a `hint:` line; clap calls it a tip.
    let text = text.replace("\n  tip: ", "\nhint: ");
    if text == rendered {
        let _ = e.print();
    } else {
        let _ = clap::Error::raw(e.kind(), text.strip_prefix("error: ").unwrap_or(&text)).print();
    }
}

#[derive(Serialize)]
#[serde(transparent)]
struct Handshake(PluginInfo);

impl Report for Handshake {
    fn human(&self, _style: crate::output::Style) -> String {
        String::new()
    }
}

/// Declares a bundled command's `main`: `bd_shared::main!(bd_shared::cmd::create::Create);`
#[macro_export]
macro_rules! main {
    ($command:ty) => {
        fn main() -> ::std::process::ExitCode {
            $crate::plugin::main::<$command>()
        }
    };
}
