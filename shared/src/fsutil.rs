//! Atomic file replacement, the one way bd rewrites a file, so config,
//! state, export and key files are never half-written.
//!
//! A replaced file keeps what made it the user's: a symbolic link the user
//! keeps (a dotfile manager's `config.yaml`) is written through and stays a
//! link, and the file keeps its mode and, where the system lets us, its
//! owner. Whatever is not a regular file (a device, a FIFO, `/dev/stdout`,
//! a directory) is refused rather than replaced. Under `.beads/`, which git
//! carries, a link could point anywhere, so there links are refused too.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// What a symbolic link at the written path means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Write through to the file it points to (the link stays).
    Follow,
    /// Refuse the write: files bd keeps under `.beads/` are never followed
    /// through links, which a clone could point anywhere.
    Refuse,
}

/// The most links followed to reach a file, as the kernel's own limit.
const MAX_LINKS: usize = 40;

/// Reads `reader` to its end, but never more than `limit + 1` bytes: `None`
/// when it holds more than `limit`. Input whose size bd does not choose
/// (stdin, a file named on the command line) is read this way, so `/dev/zero`
/// or a runaway pipe ends in an error instead of eating all memory.
pub fn read_limited(reader: impl std::io::Read, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    reader.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// Writes `bytes` to a temporary file beside the target, syncs it and
/// renames it over the target; readers see the old or the new content,
/// never a mix. The target keeps its mode and owner.
pub fn write_atomic(path: &Path, bytes: &[u8], links: Links) -> std::io::Result<()> {
    replace(path, bytes, links, None)
}

/// Writes a file only its owner can read, atomically (never through a link).
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    replace(path, bytes, Links::Refuse, Some(0o600))
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}

fn replace(path: &Path, bytes: &[u8], links: Links, private: Option<u32>) -> std::io::Result<()> {
    let link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if link && links == Links::Refuse {
        let to = std::fs::read_link(path).map(|t| format!(" to {}", t.display())).unwrap_or_default();
        return Err(refused(format!(
            "it is a symbolic link{to}, and bd does not write through links inside .beads/, where a clone could \
             point one anywhere; replace it with a regular file"
        )));
    }
    // Asked through the path itself, so links the kernel resolves in its
    // own way (`/dev/stdout` to a pipe) are judged by what they reach.
    let existing = match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => Some(meta),
        Ok(meta) => {
            return Err(refused(format!(
                "it is {}, not a regular file; bd writes only regular files",
                kind_of(meta.file_type())
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let target = if link { resolve(path)? } else { path.to_owned() };
    let dir = target.parent().unwrap_or_else(|| Path::new("."));
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        // A leftover from a killed run could carry a wider mode: start afresh.
        match std::fs::remove_file(&tmp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            if let Some(mode) = private {
                options.mode(mode);
            }
        }
        let mut file = options.open(&tmp)?;
        #[cfg(unix)]
        if let Some(meta) = &existing {
            use std::os::unix::fs::{MetadataExt, PermissionsExt};
            // Only root may give a file away; for others it already is theirs.
            let _ = std::os::unix::fs::fchown(&file, Some(meta.uid()), Some(meta.gid()));
            // Set after the owner (a change of owner clears set-id bits) and
            // exactly (the umask narrowed the mode the file was created with).
            let mode = private.unwrap_or(meta.permissions().mode() & 0o7777);
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The file a chain of links ends at (which may not exist yet).
fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    let mut target = path.to_owned();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&target) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let next = std::fs::read_link(&target)?;
                // A relative link is relative to the directory holding it.
                target = target.parent().map_or_else(|| next.clone(), |dir| dir.join(&next));
            }
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => return Ok(target),
        }
    }
    Err(refused(format!("it leads through more than {MAX_LINKS} symbolic links")))
}

fn refused(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, message)
}

fn kind_of(file_type: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() { "a directory" } else { "not a plain file" }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::{Links, write_atomic};

    fn mode(path: &std::path::Path) -> u32 {
        std::fs::metadata(path).expect("meta").permissions().mode() & 0o7777
    }

    #[test]
    fn a_leftover_temporary_file_cannot_widen_a_private_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("credentials");
        let leftover = dir.path().join(format!(".credentials.tmp.{}", std::process::id()));
        std::fs::write(&leftover, "old").expect("leftover");
        std::fs::set_permissions(&leftover, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        super::write_private(&path, b"secret").expect("write");
        assert_eq!(std::fs::read(&path).expect("read"), b"secret");
        assert_eq!(mode(&path), 0o600);
        assert!(!leftover.exists());
    }

    #[test]
    fn a_chain_of_links_is_written_through_and_the_mode_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let real = dir.path().join("sub/real.yaml");
        std::fs::create_dir_all(real.parent().expect("dir")).expect("mkdir");
        std::fs::write(&real, "old").expect("real");
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o604)).expect("chmod");
        std::os::unix::fs::symlink("sub/real.yaml", dir.path().join("middle")).expect("link");
        std::os::unix::fs::symlink("middle", dir.path().join("config.yaml")).expect("link");
        write_atomic(&dir.path().join("config.yaml"), b"new", Links::Follow).expect("write");
        assert_eq!(std::fs::read(&real).expect("read"), b"new");
        assert_eq!(mode(&real), 0o604);
        assert!(std::fs::symlink_metadata(dir.path().join("middle")).expect("link").file_type().is_symlink());
        // A link to nothing yet makes the file it names.
        std::os::unix::fs::symlink("sub/new.yaml", dir.path().join("dangling")).expect("link");
        write_atomic(&dir.path().join("dangling"), b"made", Links::Follow).expect("write");
        assert_eq!(std::fs::read(dir.path().join("sub/new.yaml")).expect("read"), b"made");
        let err = write_atomic(&dir.path().join("config.yaml"), b"x", Links::Refuse).expect_err("refused");
        assert!(err.to_string().contains("is a symbolic link to middle"), "{err}");
        let err = write_atomic(dir.path(), b"x", Links::Follow).expect_err("a directory");
        assert!(err.to_string().contains("it is a directory, not a regular file"), "{err}");
    }
}
