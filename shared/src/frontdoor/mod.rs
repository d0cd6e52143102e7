//! The front door `bd`: global options, git-style dispatch to `bd-*`
//! executables, and the built-in `help`.
//!
//! `bd [GLOBAL OPTIONS] w1 w2 … ARGS` runs the longest existing
//! `bd-w1-w2-…` (see [`discover`]) with the remaining words as arguments and
//! the global options as environment (`BD_JSON`, `BEADS_DIR`, …). On Unix the
//! front door replaces itself with the plugin, so exit codes and signals pass
//! through untouched.

pub mod complete;
pub mod discover;
pub mod handshake;
pub mod plugins;

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;

use crate::env;
use crate::error::{self, UserError};
use crate::globals::Globals;
use crate::output::{ColorChoice, Printer, Report, Style};
use crate::plugin::API_VERSION;
use discover::{Candidate, SearchPath};

/// What the front door parses before the command word: the [`Globals`]
/// every command shares (one clap definition), `--help`, `--version`, and
/// the command words with the plugin's arguments, which stay unparsed.
#[derive(Debug, Default, Clone, clap::Parser)]
#[command(name = "bd", no_binary_name = true, disable_help_flag = true, disable_version_flag = true)]
pub struct FrontArgs {
    /// The global options.
    #[command(flatten)]
    pub globals: Globals,
    /// `--version`
    #[arg(short = 'V', long)]
    pub version: bool,
    /// `--help`
    #[arg(short, long)]
    pub help: bool,
    /// The command words and the plugin's arguments.
    #[arg(trailing_var_arg = true, value_parser = clap::value_parser!(OsString))]
    pub rest: Vec<OsString>,
}

const USAGE: &str = "usage: bd [--json] [-q] [-v] [--color WHEN] [-C DIR] [--beads-dir DIR] <command> [<args>...]";

/// Parses the global options before the first command word.
pub fn parse_args(args: Vec<OsString>) -> Result<FrontArgs, UserError> {
    use clap::Parser as _;
    FrontArgs::try_parse_from(args).map_err(|e| front_error(&e))
}

/// A clap error about the front door's own options, in bd's words.
fn front_error(e: &clap::Error) -> UserError {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let text = |kind| match e.get(kind) {
        Some(ContextValue::String(v)) => v.clone(),
        Some(ContextValue::Strings(v)) => v.join(", "),
        _ => String::new(),
    };
    // clap names an option with its value placeholder: `--color <WHEN>`.
    let option = text(ContextKind::InvalidArg).split(' ').next().unwrap_or_default().to_owned();
    match e.kind() {
        ErrorKind::InvalidValue if text(ContextKind::InvalidValue).is_empty() => {
            UserError::usage(format!("option '{option}' needs a value")).with_hint(USAGE)
        }
        ErrorKind::InvalidValue => UserError::usage(format!(
            "invalid value {} for {option}: expected one of {}",
            error::quoted(&text(ContextKind::InvalidValue)),
            text(ContextKind::ValidValue)
        )),
        ErrorKind::UnknownArgument => {
            UserError::usage(format!("unknown option {}", error::quoted(&option))).with_hint(USAGE)
        }
        _ => UserError::usage(e.kind().as_str().unwrap_or("invalid command line").to_owned()).with_hint(USAGE),
    }
}

/// The front door's `main`.
#[must_use]
pub fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let front = match parse_args(args) {
        Ok(front) => front,
        Err(err) => {
            return fail(&Printer::new(false, false, false, ColorChoice::Auto), &err.into());
        }
    };
    // The plugin reads the environment itself; the front door's own output
    // (help, plugins, errors) follows the same merged options.
    let printer = match front.globals.clone().with_env() {
        Ok(merged) => merged.printer(),
        Err(err) => return fail(&front.globals.printer(), &err.into()),
    };
    match run(&front, &printer) {
        Ok(code) => ExitCode::from(code),
        Err(err) => fail(&printer, &err),
    }
}

fn fail(printer: &Printer, err: &anyhow::Error) -> ExitCode {
    let code = error::exit_code(err);
    printer.error(err, code);
    ExitCode::from(code)
}

fn run(front: &FrontArgs, printer: &Printer) -> anyhow::Result<u8> {
    let search = SearchPath::from_env();
    let words: Vec<String> =
        front.rest.iter().map(|a| a.to_string_lossy().into_owned()).take_while(|w| !w.starts_with('-')).collect();
    if front.version && words.is_empty() {
        printer.raw(&format!("bd {}\n", env!("CARGO_PKG_VERSION")));
        return Ok(error::exit::SUCCESS);
    }
    match words.first().map(String::as_str) {
        None => {
            printer.report(&listing(&search));
            Ok(if front.help { error::exit::SUCCESS } else { error::exit::USAGE })
        }
        Some("help") if words.len() == 1 => {
            printer.report(&listing(&search));
            Ok(error::exit::SUCCESS)
        }
        // The built-ins have no executable to ask for --help: their help is here.
        Some("help") if words.len() == 2 && builtin_help(&words[1]).is_some() => {
            printer.raw(builtin_help(&words[1]).unwrap_or_default());
            Ok(error::exit::SUCCESS)
        }
        Some(word)
            if builtin_help(word).is_some()
                && (front.help || front.rest[1..].iter().any(|a| a == "--help" || a == "-h")) =>
        {
            printer.raw(builtin_help(word).unwrap_or_default());
            Ok(error::exit::SUCCESS)
        }
        Some("plugins") => {
            let verbose = front.globals.verbose || front.rest.iter().any(|a| a == "-v" || a == "--verbose");
            let json = front.rest.iter().any(|a| a == "--json");
            let printer = if json {
                Printer::new(true, front.globals.quiet, verbose, front.globals.color.unwrap_or_default())
            } else {
                printer.clone()
            };
            let listing = plugins::list(&search, verbose);
            for warning in listing.warnings() {
                printer.warn(warning);
            }
            printer.report(&listing);
            Ok(error::exit::SUCCESS)
        }
        Some("completions") => {
            let Some(name) = words.get(1).map(String::as_str) else {
                return Err(UserError::usage("bd completions needs a shell: bash, zsh or fish")
                    .with_hint("e.g. `bd completions bash`; `bd completions --help` says how to enable them")
                    .into());
            };
            let shell = crate::docs::Shell::parse(name).ok_or_else(|| {
                UserError::usage(format!("unknown shell {}: expected one of bash, zsh, fish", error::quoted(name)))
                    .with_hint("e.g. `bd completions bash > ~/.local/share/bash-completion/completions/bd`")
            })?;
            printer.raw(&crate::docs::completion_script(shell));
            Ok(error::exit::SUCCESS)
        }
        Some("__complete") => {
            let words: Vec<String> = front.rest[1..].iter().map(|a| a.to_string_lossy().into_owned()).collect();
            let cwd = std::env::current_dir()?;
            let mut out = String::new();
            for candidate in complete::candidates(&search, &cwd, &words) {
                out.push_str(&candidate);
                out.push('\n');
            }
            printer.raw(&out);
            Ok(error::exit::SUCCESS)
        }
        Some("help") => {
            let (path, used) = resolve(&search, &words[1..])?;
            let mut args: Vec<OsString> = front.rest[1 + used..].to_vec();
            args.push("--help".into());
            exec(front, &path, args)
        }
        Some(_) => {
            let (path, used) = resolve(&search, &words)?;
            let mut args: Vec<OsString> = front.rest[used..].to_vec();
            if front.help {
                args.push("--help".into());
            }
            exec(front, &path, args)
        }
    }
}

fn resolve(search: &SearchPath, words: &[String]) -> anyhow::Result<(PathBuf, usize)> {
    if let Some(found) = search.resolve(words)? {
        return Ok(found);
    }
    let typed = words.first().cloned().unwrap_or_default();
    let mut known: Vec<String> = search.commands().iter().map(Candidate::words).collect();
    // `bd config` names a group: list its subcommands instead of guessing.
    for n in (1..=words.len()).rev() {
        let group = format!("{} ", words[..n].join(" "));
        let subcommands: Vec<&str> = known.iter().filter_map(|k| k.strip_prefix(&group)).collect();
        if !subcommands.is_empty() {
            return Err(UserError::usage(format!(
                "'bd {}' needs a subcommand: {}",
                group.trim_end(),
                subcommands.join(", ")
            ))
            .with_hint(format!("run 'bd help {}' for one of them", group.trim_end()))
            .into());
        }
    }
    known.push("help".to_owned());
    let close = discover::suggestions(&words.join(" "), &known)
        .into_iter()
        .chain(discover::suggestions(&typed, &known))
        .fold(Vec::new(), |mut acc, s| {
            if !acc.contains(&s) {
                acc.push(s);
            }
            acc
        });
    let hint = if close.is_empty() {
        "run 'bd help' to see the commands installed".to_owned()
    } else {
        format!(
            "the most similar command{} {}; run 'bd help' to see all",
            if close.len() == 1 { " is" } else { "s are" },
            close.iter().map(|c| format!("'bd {c}'")).collect::<Vec<_>>().join(", ")
        )
    };
    Err(UserError::not_a_command(format!("{} is not a bd command", error::quoted(&typed))).with_hint(hint).into())
}

/// Runs the plugin with the global options as environment.
fn exec(front: &FrontArgs, path: &PathBuf, args: Vec<OsString>) -> anyhow::Result<u8> {
    let start = std::env::current_dir()?;
    let cwd = match &front.globals.chdir {
        Some(dir) => start.join(dir),
        None => start,
    };
    if !cwd.is_dir() {
        return Err(UserError::usage(format!("cannot change to '{}': no such directory", cwd.display())).into());
    }
    #[allow(clippy::disallowed_methods)] // the front door's exec is the one other place that spawns
    let mut command = std::process::Command::new(path);
    command.args(args).current_dir(&cwd).env(env::BD_PLUGIN_API, API_VERSION.to_string());
    if let Ok(me) = std::env::current_exe() {
        command.env(env::BD_BIN, me);
    }
    command.envs(front.globals.to_env(&cwd));
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let err = command.exec();
        Err(anyhow::anyhow!("cannot run {}: {err}", path.display()))
    }
    #[cfg(not(unix))]
    {
        let status = command.status().map_err(|e| anyhow::anyhow!("cannot run {}: {e}", path.display()))?;
        Ok(status.code().and_then(|c| u8::try_from(c).ok()).unwrap_or(error::exit::FAILURE))
    }
}

/// The help of the commands the front door answers itself.
fn builtin_help(word: &str) -> Option<&'static str> {
    match word {
        "help" => Some(
            "usage: bd help [<command>...]\n\n\
             With no command, lists every command installed (bundled ones and bd-* plugins), by group,\n\
             with its summary. With one, shows that command's options: `bd help federation push`.\n",
        ),
        "plugins" => Some(
            "usage: bd plugins [--json] [-v]\n\n\
             Lists every bd-* executable found, in search order: BD_EXEC_PATH, the directory of the\n\
             running bd (the bundled commands), then PATH. Each is bundled or third-party, with its\n\
             summary (-v: version and protocol too). Files that cannot run, or that another file\n\
             shadows, are named on stderr. --json lists every file with its path and status.\n",
        ),
        "completions" => Some(
            "usage: bd completions bash|zsh|fish\n\n\
             Prints the completion script for a shell. To enable it:\n\
             \x20 bash: bd completions bash > ~/.local/share/bash-completion/completions/bd\n\
             \x20 zsh:  bd completions zsh > ~/.zfunc/_bd   (with fpath+=(~/.zfunc) before compinit in ~/.zshrc)\n\
             \x20 fish: bd completions fish > ~/.config/fish/completions/bd.fish\n\
             Commands, flags, their values and peer names are completed, plugins included.\n",
        ),
        _ => None,
    }
}

/// A command as `bd help` lists it.
#[derive(Debug, Serialize)]
pub struct Listed {
    /// The command words.
    pub command: String,
    /// Its summary, if it answered the handshake.
    pub summary: Option<String>,
    /// `core`, `federation`, `config` or `third-party`.
    pub group: &'static str,
    /// The executable.
    pub path: PathBuf,
}

/// What `bd help` prints.
#[derive(Debug, Serialize)]
pub struct Listing {
    /// Every command found, grouped.
    pub commands: Vec<Listed>,
}

const GROUPS: [(&str, &str); 4] = [
    ("core", "Core commands"),
    ("federation", "Federation"),
    ("config", "Configuration"),
    ("third-party", "Third-party plugins"),
];

/// The group a command belongs to in `bd help`.
#[must_use]
pub fn group_of(candidate: &Candidate) -> &'static str {
    let words = candidate.words();
    if !candidate.bundled {
        "third-party"
    } else if words.starts_with("federation") {
        "federation"
    } else if words.starts_with("config") {
        "config"
    } else {
        "core"
    }
}

/// Lists the commands on the search path with their handshake summaries.
#[must_use]
pub fn listing(search: &SearchPath) -> Listing {
    let commands = search.commands();
    let paths: Vec<PathBuf> = commands.iter().map(|c| c.path.clone()).collect();
    let infos = handshake::query_all(&paths);
    let commands = commands
        .iter()
        .zip(infos)
        .map(|(c, info)| Listed {
            command: c.words(),
            summary: info.map(|i| i.summary),
            group: group_of(c),
            path: c.path.clone(),
        })
        .collect();
    Listing { commands }
}

impl Report for Listing {
    fn human(&self, style: Style) -> String {
        let mut out = format!("{USAGE}\n");
        for (group, title) in GROUPS {
            let items: Vec<&Listed> = self.commands.iter().filter(|c| c.group == group).collect();
            if items.is_empty() {
                continue;
            }
            let _ = write!(out, "\n{}\n", style.bold(&format!("{title}:")));
            for item in items {
                let _ = writeln!(out, "  {:<28}{}", item.command, item.summary.as_deref().unwrap_or(""));
            }
        }
        let _ = write!(out, "\n{}\n  help, plugins, completions\n", style.bold("Built in:"));
        out.push_str("\nSee 'bd help <command>' for a command's options.\n");
        out
    }
}
