//! Finding the `.beads/` directory and serialising writers.
//!
//! Discovery follows upstream beads: `BEADS_DIR` (or `--beads-dir`) wins;
//! otherwise walk up from the current directory looking for `.beads/`,
//! stopping at the git work-tree root (found with gix) so a project never
//! picks up an unrelated `.beads/` above it. Outside a git repository the
//! walk goes up to the filesystem root.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::UserError;

/// The name of the workspace directory.
pub const BEADS_DIR_NAME: &str = ".beads";

/// A bd workspace: the `.beads/` directory and what lives in it.
#[derive(Debug, Clone)]
pub struct Workspace {
    beads_dir: PathBuf,
}

impl Workspace {
    /// A workspace rooted at an existing or future `.beads/` directory.
    #[must_use]
    pub fn at(beads_dir: PathBuf) -> Self {
        Self { beads_dir }
    }

    /// The `.beads/` directory.
    #[must_use]
    pub fn beads_dir(&self) -> &Path {
        &self.beads_dir
    }

    /// The Dolt repository (`.beads/dolt/`).
    #[must_use]
    pub fn dolt_dir(&self) -> PathBuf {
        self.beads_dir.join("dolt")
    }

    /// The project configuration file.
    #[must_use]
    pub fn project_config(&self) -> PathBuf {
        self.beads_dir.join("config.yaml")
    }

    /// Whether this workspace has a Dolt database.
    #[must_use]
    pub fn has_dolt(&self) -> bool {
        self.dolt_dir().join(".dolt").is_dir()
    }

    /// Takes the per-town write lock, waiting up to `wait` for another writer.
    pub fn lock_for_write(&self, wait: Duration) -> anyhow::Result<WriteLock> {
        let path = self.beads_dir.join("bd.lock");
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| anyhow::anyhow!("cannot open the write lock {}: {e}", path.display()))?;
        let deadline = Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    let holder = std::fs::read_to_string(&path).unwrap_or_default();
                    let holder = holder.trim();
                    let pid = holder.strip_prefix("pid ").unwrap_or_default();
                    let who = if holder.is_empty() {
                        String::new()
                    } else if process_gone(pid) {
                        // bd is gone but a dolt it started still holds the inherited lock.
                        format!(" (a dolt started by bd {holder}, which was stopped, is still finishing)")
                    } else {
                        format!(" ({holder})")
                    };
                    return Err(UserError::failure(format!(
                        "another bd command is writing to this town{who}; waited {}s for it",
                        wait.as_secs()
                    ))
                    .with_hint("wait for it to finish and run the command again")
                    .into());
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(anyhow::anyhow!("cannot lock {}: {e}", path.display()));
                }
            }
        }
        // Record who holds the lock so a waiting writer can say: written
        // over the last holder's in place, padded to the widest pid (a
        // truncate first would cost a metadata write on every command).
        let _ = write!(file, "pid {:<10}", std::process::id());
        // dolt children inherit the locked descriptor: if bd is killed while a
        // dolt is still writing, the lock lasts until that dolt exits too, so
        // the next writer waits instead of racing it.
        #[cfg(unix)]
        rustix::io::fcntl_setfd(&file, rustix::io::FdFlags::empty())
            .map_err(|e| anyhow::anyhow!("cannot share the write lock {} with dolt: {e}", path.display()))?;
        Ok(WriteLock { _file: file })
    }
}

/// Whether process `pid` has certainly ended (`false` when it runs, or when
/// there is no `/proc` to tell).
pub(crate) fn process_gone(pid: &str) -> bool {
    !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && !Path::new("/proc").join(pid).exists()
        && Path::new("/proc/self").exists()
}

/// Held while a command writes; released on drop.
#[derive(Debug)]
pub struct WriteLock {
    _file: File,
}

/// Finds the `.beads/` directory for `cwd`. `explicit` is `--beads-dir` or
/// `BEADS_DIR`, which skip discovery.
#[must_use]
pub fn discover(explicit: Option<&Path>, cwd: &Path) -> Option<PathBuf> {
    if let Some(dir) = explicit {
        return Some(if dir.is_absolute() { dir.to_owned() } else { cwd.join(dir) });
    }
    let stop = git_work_tree_root(cwd);
    let mut dir = Some(cwd);
    while let Some(d) = dir {
        let candidate = d.join(BEADS_DIR_NAME);
        if candidate.is_dir() {
            return Some(candidate);
        }
        if stop.as_deref() == Some(d) {
            break;
        }
        dir = d.parent();
    }
    None
}

/// The root of the git work tree containing `dir`, if any.
#[must_use]
pub fn git_work_tree_root(dir: &Path) -> Option<PathBuf> {
    let (path, _trust) = gix_discover::upwards(dir).ok()?;
    let (_git_dir, work_tree) = path.into_repository_and_work_tree_directories();
    let work_tree = work_tree?;
    Some(if work_tree.is_absolute() { work_tree } else { dir.join(work_tree) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_stops_at_the_git_work_tree_root() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let outer = tmp.path();
        std::fs::create_dir(outer.join(BEADS_DIR_NAME)).expect("outer .beads");
        let project = outer.join("project");
        std::fs::create_dir_all(project.join(".git/objects")).expect("git dir");
        std::fs::create_dir_all(project.join(".git/refs")).expect("git refs");
        std::fs::write(project.join(".git/HEAD"), "ref: refs/heads/main\n").expect("HEAD");
        let sub = project.join("src/deep");
        std::fs::create_dir_all(&sub).expect("sub");
        assert_eq!(discover(None, &sub), None, "must not escape the git work tree");
        std::fs::create_dir(project.join(BEADS_DIR_NAME)).expect("project .beads");
        assert_eq!(discover(None, &sub), Some(project.join(BEADS_DIR_NAME)));
    }

    #[test]
    fn explicit_dir_wins_and_is_made_absolute() {
        let cwd = Path::new("/tmp/somewhere");
        assert_eq!(discover(Some(Path::new("x/.beads")), cwd), Some(cwd.join("x/.beads")));
    }
}
