//! Finding `bd-*` executables: search order, longest-match resolution and
//! the list of every command installed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::env;

/// The prefix of every plugin executable.
pub const PREFIX: &str = "bd-";

/// Where plugins are searched, in order: `BD_EXEC_PATH`, the running `bd`'s
/// own directory (bundled commands), then `PATH`.
#[derive(Debug, Clone)]
pub struct SearchPath {
    dirs: Vec<PathBuf>,
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
        let mut dirs = Vec::new();
        if let Some(exec_path) = env::get_os(env::BD_EXEC_PATH) {
            dirs.extend(std::env::split_paths(&exec_path));
        }
        dirs.extend(bundled.clone());
        if let Some(path) = env::get_os(env::PATH) {
            dirs.extend(std::env::split_paths(&path));
        }
        Self::new(dirs, bundled)
    }

    /// A search path over `dirs`; `bundled` is the directory of bundled commands.
    #[must_use]
    pub fn new(dirs: Vec<PathBuf>, bundled: Option<PathBuf>) -> Self {
        // A directory listed twice (PATH often includes bd's own) is searched once.
        let mut seen = std::collections::HashSet::new();
        let dirs = dirs.into_iter().filter(|d| seen.insert(d.canonicalize().unwrap_or_else(|_| d.clone()))).collect();
        Self { dirs, bundled }
    }

    /// Whether `path` is one of the bundled commands.
    #[must_use]
    pub fn is_bundled(&self, path: &Path) -> bool {
        self.bundled.as_deref().is_some_and(|b| path.parent() == Some(b))
    }

    /// The first executable called `name` on the search path.
    #[must_use]
    pub fn find(&self, name: &str) -> Option<PathBuf> {
        self.dirs.iter().map(|d| d.join(name)).find(|p| is_executable(p))
    }

    /// Resolves command words the git way: the longest `bd-w1-w2-…` that
    /// exists wins. Returns the executable and how many words it consumed.
    #[must_use]
    pub fn resolve(&self, words: &[String]) -> Option<(PathBuf, usize)> {
        (1..=words.len()).rev().find_map(|n| {
            let name = format!("{PREFIX}{}", words[..n].join("-"));
            self.find(&name).map(|path| (path, n))
        })
    }

    /// Every `bd-*` file on the search path, in search order, including
    /// shadowed duplicates and non-executable files (for `bd plugins`).
    #[must_use]
    pub fn all_candidates(&self) -> Vec<Candidate> {
        let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
        let mut out = Vec::new();
        for dir in &self.dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut names: Vec<(String, PathBuf)> = entries
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    (name.starts_with(PREFIX) && name.len() > PREFIX.len() && !name.contains('.'))
                        .then(|| (name, e.path()))
                })
                .collect();
            names.sort();
            for (name, path) in names {
                if path.is_dir() {
                    continue;
                }
                let executable = is_executable(&path);
                let shadowed_by = if executable { seen.get(&name).cloned() } else { None };
                if executable && shadowed_by.is_none() {
                    seen.insert(name.clone(), path.clone());
                }
                out.push(Candidate { bundled: self.is_bundled(&path), name, path, executable, shadowed_by });
            }
        }
        out
    }

    /// The commands that would run: one per name, the first executable found.
    #[must_use]
    pub fn commands(&self) -> Vec<Candidate> {
        self.all_candidates().into_iter().filter(|c| c.executable && c.shadowed_by.is_none()).collect()
    }
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
    /// Whether it can be run.
    pub executable: bool,
    /// The earlier file of the same name that wins over this one.
    pub shadowed_by: Option<PathBuf>,
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
