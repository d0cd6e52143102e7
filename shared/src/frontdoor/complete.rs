//! `bd __complete WORDS… CURRENT`: the candidates for the word being typed,
//! one per line, for the shell scripts in `completions/`.
//!
//! Command words come from the bundled commands and the `bd-*` plugins on
//! the search path at completion time; flags and values from the bundled
//! commands' clap definitions; peer names from the town's configuration.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::discover::SearchPath;
use crate::cmd::BUNDLED;
use crate::config::{self, Files};
use crate::workspace;

/// The candidates for the last word of `words` (the words after `bd`).
#[must_use]
pub fn candidates(search: &SearchPath, cwd: &Path, words: &[String]) -> Vec<String> {
    let Some((current, typed)) = words.split_last() else { return Vec::new() };
    // The front door's own options, from the clap definition it parses with.
    let front = <super::FrontArgs as clap::CommandFactory>::command();
    let mut chdir: Option<PathBuf> = None;
    let mut beads_dir: Option<PathBuf> = None;
    let mut i = 0;
    while i < typed.len() && typed[i].starts_with('-') {
        match typed[i].as_str() {
            "-C" => chdir = typed.get(i + 1).map(PathBuf::from),
            "--beads-dir" => beads_dir = typed.get(i + 1).map(PathBuf::from),
            _ => {}
        }
        i += if option(&front, &typed[i]).is_some_and(|o| o.get_action().takes_values()) { 2 } else { 1 };
    }
    if i > typed.len() {
        // The word being typed is the value of the last option (`--color`).
        let values = arguments(&front, &typed[typed.len() - 1..], current, &Vec::new);
        let set: BTreeSet<String> = values.into_iter().filter(|c| c.starts_with(current.as_str())).collect();
        return set.into_iter().collect();
    }
    let rest = &typed[i..];
    let cwd = chdir.map_or_else(|| cwd.to_owned(), |d| cwd.join(d));
    let peers = || peer_names(&cwd, beads_dir.as_deref());

    let mut commands: Vec<(Vec<String>, bool)> =
        BUNDLED.iter().map(|b| (b.name.split(' ').map(str::to_owned).collect(), true)).collect();
    let bundled: BTreeSet<String> = BUNDLED.iter().map(|b| b.name.to_owned()).collect();
    for c in search.commands() {
        if !bundled.contains(&c.words()) {
            commands.push((vec![c.words()], false));
        }
    }
    for builtin in ["help", "plugins", "completions"] {
        commands.push((vec![builtin.to_owned()], false));
    }

    let words_typed: Vec<&String> = rest.iter().take_while(|w| !w.starts_with('-')).collect();
    // The longest command whose words were all typed.
    let matched = commands
        .iter()
        .filter(|(cmd, _)| cmd.len() <= words_typed.len() && cmd.iter().zip(&words_typed).all(|(a, b)| a == *b))
        .max_by_key(|(cmd, _)| cmd.len());
    let out: Vec<String> = match matched {
        None if rest.is_empty() && current.starts_with('-') => front
            .get_arguments()
            .filter(|a| !a.is_positional())
            .flat_map(|a| {
                a.get_long().map(|l| format!("--{l}")).into_iter().chain(a.get_short().map(|s| format!("-{s}")))
            })
            .collect(),
        None => {
            let depth = words_typed.len();
            commands
                .iter()
                .filter(|(cmd, _)| cmd.len() > depth && cmd.iter().zip(&words_typed).all(|(a, b)| a == *b))
                .map(|(cmd, _)| cmd[depth].clone())
                .collect()
        }
        Some((cmd, true)) => {
            let name = cmd.join(" ");
            let definition = BUNDLED.iter().find(|b| b.name == name).map(|b| (b.command)());
            definition.map(|d| arguments(&d, &rest[cmd.len()..], current, &peers)).unwrap_or_default()
        }
        Some((cmd, false)) if cmd[0] == "help" => {
            commands.iter().filter(|(c, _)| c[0] != "help").map(|(c, _)| c[0].clone()).collect()
        }
        Some((cmd, false)) if cmd[0] == "completions" => ["bash", "zsh", "fish"].map(str::to_owned).to_vec(),
        Some(_) => Vec::new(),
    };
    let set: BTreeSet<String> = out.into_iter().filter(|c| c.starts_with(current.as_str())).collect();
    set.into_iter().collect()
}

/// Candidates inside a bundled command: its flags, an option's values, or
/// the next positional's values; anything named `peer` completes peer names.
fn arguments(cmd: &clap::Command, rest: &[String], current: &str, peers: &dyn Fn() -> Vec<String>) -> Vec<String> {
    if current.starts_with('-') {
        return cmd.get_arguments().filter_map(|a| a.get_long().map(|l| format!("--{l}"))).collect();
    }
    let find_option = |word: &str| option(cmd, word);
    let values = |arg: &clap::Arg| -> Vec<String> {
        if arg.get_id().as_str().starts_with("peer") {
            peers()
        } else {
            arg.get_possible_values().iter().map(|v| v.get_name().to_owned()).collect()
        }
    };
    if let Some(last) = rest.last()
        && let Some(option) = find_option(last)
        && option.get_action().takes_values()
    {
        return values(option);
    }
    let mut positional = 0;
    let mut skip_value = false;
    for word in rest {
        if skip_value {
            skip_value = false;
        } else if word.starts_with('-') {
            skip_value = find_option(word).is_some_and(|o| o.get_action().takes_values());
        } else {
            positional += 1;
        }
    }
    cmd.get_positionals().nth(positional).map(values).unwrap_or_default()
}

/// The option of `cmd` that `word` names (`--color`, `-C`).
fn option<'a>(cmd: &'a clap::Command, word: &str) -> Option<&'a clap::Arg> {
    cmd.get_arguments().find(|a| {
        !a.is_positional()
            && (a.get_long().is_some_and(|l| word == format!("--{l}"))
                || a.get_short().is_some_and(|s| word == format!("-{s}")))
    })
}

/// The peers configured for the town at `cwd`.
fn peer_names(cwd: &Path, beads_dir: Option<&Path>) -> Vec<String> {
    let beads = workspace::discover(beads_dir, cwd);
    config::resolve(Files::for_workspace(beads.as_deref()), &[])
        .map(|c| c.peers().iter().map(|p| p.name().to_owned()).collect())
        .unwrap_or_default()
}
