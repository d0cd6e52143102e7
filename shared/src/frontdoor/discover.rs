//! Finding `bd-*` executables: search order, longest-match resolution and
//! the list of every command installed.
//!
//! Bundled commands win: a command found in `BD_EXEC_PATH` or beside the
//! running `bd` (the *first-party* directories, which only the user and bd's
//! installer choose) can never be taken over by a file that a third party
//! drops on `PATH`. So a third-party name that extends a first-party one at a
//! word boundary (`bd-federation-add-peer-hub2` next to the bundled
//! `bd-federation-add-peer`) is never run: `bd federation add-peer hub2 …`
//! would otherwise hand that file whatever the user meant for the bundled
//! command, a password included.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::env;
use crate::error::{self, UserError};

/// The prefix of every plugin executable.
pub const PREFIX: &str = "bd-";

/// What a command word may not contain, as errors and docs say it.
pub const WORD_RULE: &str = "a command word may not be empty or contain '/', '\\', '..' or control characters";

/// Whether `word` can be part of an executable name: a path separator or
/// `..` would reach a file outside every search directory, and a control
/// character cannot be typed or shown safely.
#[must_use]
pub fn is_command_word(word: &str) -> bool {
    !word.is_empty() && !word.contains(['/', '\\']) && !word.contains("..") && !word.chars().any(char::is_control)
}

/// A directory on the search path.
#[derive(Debug, Clone)]
struct Dir {
    path: PathBuf,
    /// `BD_EXEC_PATH` or the running `bd`'s own directory.
    first_party: bool,
}

/// Where plugins are searched, in order: `BD_EXEC_PATH`, the running `bd`'s
/// own directory (bundled commands), then `PATH`.
#[derive(Debug, Clone)]
pub struct SearchPath {
    dirs: Vec<Dir>,
    bundled: Option<PathBuf>,
}

impl SearchPath {
    /// The search path of this process.
    #[must_use]
    pub fn from_env() -> Self {
        let bundled = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.canonicalize().ok())
            .and_then(|exe| exe.parent().map(Path::to_path_buf));
        let exec_path = env::get_os(env::BD_EXEC_PATH).map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
        let path = env::get_os(env::PATH).map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
        Self::new(exec_path, bundled, path)
    }

    /// A search path over `exec_path`, then `bundled` (the directory of
    /// bundled commands), then `path`.
    #[must_use]
    pub fn new(exec_path: Vec<PathBuf>, bundled: Option<PathBuf>, path: Vec<PathBuf>) -> Self {
        let first_party = exec_path.into_iter().chain(bundled.clone()).map(|path| Dir { path, first_party: true });
        let third_party = path.into_iter().map(|path| Dir { path, first_party: false });
        // A directory listed twice (PATH often includes bd's own) is searched
        // once, as the earliest listing says.
        let mut seen = std::collections::HashSet::new();
        let dirs = first_party
            .chain(third_party)
            .filter(|d| seen.insert(d.path.canonicalize().unwrap_or_else(|_| d.path.clone())))
            .collect();
        Self { dirs, bundled }
    }

    /// Whether `path` is one of the bundled commands.
    #[must_use]
    pub fn is_bundled(&self, path: &Path) -> bool {
        self.bundled.as_deref().is_some_and(|b| path.parent() == Some(b))
    }

    /// The first executable called `name` on the search path, and whether
    /// it is in a first-party directory.
    fn find(&self, name: &str) -> Option<(PathBuf, bool)> {
        self.dirs.iter().map(|d| (d.path.join(name), d.first_party)).find(|(p, _)| is_executable(p))
    }

    /// The first-party command whose name `name` extends at a word
    /// boundary (`bd-list` for `bd-list-all`), if any.
    fn first_party_prefix(&self, name: &str) -> Option<PathBuf> {
        name.match_indices('-')
            .map(|(at, _)| &name[..at])
            .filter(|prefix| prefix.len() > PREFIX.len())
            .find_map(|prefix| self.find(prefix).filter(|(_, first)| *first).map(|(path, _)| path))
    }

    /// Resolves command words the git way: the longest `bd-w1-w2-…` that
    /// exists wins, except that a third-party name extending a first-party
    /// command is skipped. Only the leading words that can be part of a file
    /// name are tried; the rest are arguments. Returns the executable and how
    /// many words it consumed; an error when the first word cannot name a
    /// command at all.
    pub fn resolve(&self, words: &[String]) -> Result<Option<(PathBuf, usize)>, UserError> {
        let usable = words.iter().take_while(|w| is_command_word(w)).count();
        if usable == 0 {
            let typed = words.first().map_or("", String::as_str);
            return Err(UserError::not_a_command(format!("{} is not a bd command: {WORD_RULE}", error::quoted(typed)))
                .with_hint("run 'bd help' to see the commands installed"));
        }
        Ok((1..=usable).rev().find_map(|n| {
            let name = format!("{PREFIX}{}", words[..n].join("-"));
            match self.find(&name)? {
                (path, true) => Some((path, n)),
                (path, false) => self.first_party_prefix(&name).is_none().then_some((path, n)),
            }
        }))
    }

    /// Every `bd-*` file on the search path, in search order, including
    /// shadowed and unreachable duplicates and non-executable files (for `bd
    /// plugins`). Names with a `.` are included when executable (the front
    /// door runs them); files it could never run (names it refuses as
    /// command words, names that are not UTF-8) are left out.
    #[must_use]
    pub fn all_candidates(&self) -> Vec<Candidate> {
        let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
        let mut first_party: BTreeMap<String, PathBuf> = BTreeMap::new();
        let mut out = Vec::new();
        for dir in &self.dirs {
            let Ok(entries) = std::fs::read_dir(&dir.path) else {
                continue;
            };
            let mut names: Vec<(String, PathBuf)> = entries
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    let word = name.strip_prefix(PREFIX)?;
                    is_command_word(word).then(|| (name.clone(), e.path()))
                })
                .collect();
            names.sort();
            for (name, path) in names {
                if path.is_dir() {
                    continue;
                }
                let executable = is_executable(&path);
                // A non-executable file with a `.` is a build by-product or a
                // document (`bd-create.d`), not a plugin someone meant to run.
                if !executable && name.contains('.') {
                    continue;
                }
                let status = if !executable {
                    Status::NotExecutable
                } else if let Some(winner) = seen.get(&name) {
                    Status::Shadowed { by: winner.clone() }
                } else if let Some(prefix) = (!dir.first_party).then(|| prefix_in(&first_party, &name)).flatten() {
                    Status::Unreachable { by: prefix }
                } else {
                    Status::Active
                };
                if executable && !seen.contains_key(&name) {
                    seen.insert(name.clone(), path.clone());
                    if dir.first_party {
                        first_party.insert(name.clone(), path.clone());
                    }
                }
                out.push(Candidate { bundled: self.is_bundled(&path), name, path, status });
            }
        }
        out
    }

    /// The commands that would run: one per name, the first executable found.
    #[must_use]
    pub fn commands(&self) -> Vec<Candidate> {
        self.all_candidates().into_iter().filter(|c| c.status == Status::Active).collect()
    }
}

/// The first-party command in `first_party` whose name `name` extends at a
/// word boundary.
fn prefix_in(first_party: &BTreeMap<String, PathBuf>, name: &str) -> Option<PathBuf> {
    name.match_indices('-').find_map(|(at, _)| first_party.get(&name[..at]).cloned())
}

/// Whether a `bd-*` file found on the search path would run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// It runs for its name.
    Active,
    /// It cannot be run.
    NotExecutable,
    /// An earlier file of the same name runs instead.
    Shadowed {
        /// That file.
        by: PathBuf,
    },
    /// A third-party file whose name extends a first-party command, which
    /// runs instead for the same words.
    Unreachable {
        /// That command.
        by: PathBuf,
    },
}

/// A `bd-*` file found on the search path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The file name, `bd-…`.
    pub name: String,
    /// Its full path.
    pub path: PathBuf,
    /// Whether it is one of the commands shipped beside `bd`.
    pub bundled: bool,
    /// Whether, and why not, it would run.
    pub status: Status,
}

impl Candidate {
    /// The command as typed after `bd`: a bundled command's words
    /// (`federation push`), or a plugin's name without `bd-` (`hello-world`).
    #[must_use]
    pub fn words(&self) -> String {
        crate::cmd::BUNDLED
            .iter()
            .find(|b| b.executable() == self.name)
            .map_or_else(|| self.name[PREFIX.len()..].to_owned(), |b| b.name.to_owned())
    }
}

/// Whether `path` is a regular file the user may execute.
#[must_use]
pub fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// Known command words close to what the user typed, best first.
#[must_use]
pub fn suggestions(typed: &str, known: &[String]) -> Vec<String> {
    let mut scored: Vec<(f64, &String)> = known
        .iter()
        .map(|k| {
            let first = k.split(' ').next().unwrap_or(k);
            let score = strsim::normalized_damerau_levenshtein(typed, k)
                .max(strsim::normalized_damerau_levenshtein(typed, first))
                .max(if k.starts_with(typed) && typed.len() >= 3 { 0.9 } else { 0.0 });
            (score, k)
        })
        .filter(|(score, _)| *score >= 0.6)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    let mut out: Vec<String> = scored.into_iter().map(|(_, k)| k.clone()).collect();
    out.dedup();
    out.truncate(3);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_are_suggested() {
        let known = vec!["create".to_owned(), "close".to_owned(), "federation push".to_owned()];
        assert_eq!(suggestions("creat", &known)[0], "create");
        assert_eq!(suggestions("federaton", &known), vec!["federation push".to_owned()]);
        assert!(suggestions("frobnicate", &known).is_empty());
    }
}
