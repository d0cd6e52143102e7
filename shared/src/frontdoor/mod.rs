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
use crate::output::{ColorChoice, Printer, Report, Style};
use crate::plugin::API_VERSION;
use discover::{Candidate, SearchPath};

/// Global options given before the command word.
#[derive(Debug, Default, Clone)]
pub struct FrontArgs {
    /// `--json`
    pub json: bool,
    /// `-q`
    pub quiet: bool,
    /// `-v`
    pub verbose: bool,
    /// `--color`
    pub color: Option<ColorChoice>,
    /// `-C DIR`
    pub chdir: Option<PathBuf>,
    /// `--beads-dir DIR`
    pub beads_dir: Option<PathBuf>,
    /// `--version`
    pub version: bool,
    /// `--help`
    pub help: bool,
    /// The command words and the plugin's arguments.
    pub rest: Vec<OsString>,
}

const USAGE: &str = "usage: bd [--json] [-q] [-v] [--color WHEN] [-C DIR] [--beads-dir DIR] <command> [<args>...]";

/// Parses the global options before the first command word.
pub fn parse_args(args: Vec<OsString>) -> Result<FrontArgs, UserError> {
    let mut out = FrontArgs::default();
    let mut iter = args.into_iter();
    let value = |iter: &mut std::vec::IntoIter<OsString>, flag: &str| {
        iter.next().ok_or_else(|| UserError::usage(format!("option '{flag}' needs a value")).with_hint(USAGE))
    };
    while let Some(arg) = iter.next() {
        let text = arg.to_string_lossy().into_owned();
        match text.as_str() {
            "--json" => out.json = true,
            "-q" | "--quiet" => out.quiet = true,
            "-v" | "--verbose" => out.verbose = true,
            "--version" | "-V" => out.version = true,
            "-h" | "--help" => out.help = true,
            "-C" => out.chdir = Some(value(&mut iter, "-C")?.into()),
            "--beads-dir" => out.beads_dir = Some(value(&mut iter, "--beads-dir")?.into()),
            "--color" => {
                out.color = Some(parse_color(&value(&mut iter, "--color")?.to_string_lossy())?);
            }
            "--" => {
                out.rest.extend(iter);
                break;
            }
            _ => {
                if let Some(v) = text.strip_prefix("--color=") {
                    out.color = Some(parse_color(v)?);
                } else if let Some(v) = text.strip_prefix("--beads-dir=") {
                    out.beads_dir = Some(v.into());
                } else if let Some(v) = text.strip_prefix("-C").filter(|v| !v.is_empty()) {
                    out.chdir = Some(v.into());
                } else if text.starts_with('-') {
                    return Err(UserError::usage(format!("unknown option {}", error::quoted(&text))).with_hint(USAGE));
                } else {
                    out.rest.push(arg);
                    out.rest.extend(iter);
                    break;
                }
            }
        }
    }
    Ok(out)
}

fn parse_color(value: &str) -> Result<ColorChoice, UserError> {
    ColorChoice::parse(value).ok_or_else(|| {
        UserError::usage(format!(
            "invalid value {} for --color: expected one of auto, always, never",
            error::quoted(value)
        ))
    })
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
    let printer = Printer::new(
        front.json || env::flag(env::BD_JSON),
        front.quiet,
        front.verbose,
        front.color.unwrap_or_default(),
    );
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
        Some("plugins") => {
            let verbose = front.verbose || front.rest.iter().any(|a| a == "-v" || a == "--verbose");
            let json = front.rest.iter().any(|a| a == "--json");
            let printer = if json {
                Printer::new(true, front.quiet, verbose, front.color.unwrap_or_default())
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
            let name = words.get(1).map(String::as_str).unwrap_or_default();
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
    let cwd = match &front.chdir {
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
    for (flag, var) in [(front.json, env::BD_JSON), (front.quiet, env::BD_QUIET), (front.verbose, env::BD_VERBOSE)] {
        if flag {
            command.env(var, "1");
        }
    }
    if let Some(color) = front.color {
        command.env(env::BD_COLOR, color.as_str());
    }
    if let Some(dir) = &front.beads_dir {
        command.env(env::BEADS_DIR, cwd.join(dir));
    }
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
