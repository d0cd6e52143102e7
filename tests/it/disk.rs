//! A full disk: dolt's failure is named with the fix, never dumped as a Go
//! panic, and a write dolt committed before it failed is reported as done
//! (a user told "failed" would retry and make a duplicate). The disk is a
//! small tmpfs mounted over the town's directory; the suite runs as root.
//! Where it cannot be mounted the test fails and says why; it never skips.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::support::{Run, Town};

/// A tmpfs mounted on a directory, unmounted on drop (even when the test fails).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Self {
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output();
        match out {
            Ok(out) if out.status.success() => Self(dir.to_owned()),
            Ok(out) => panic!(
                "cannot mount a {size} tmpfs on {}: {}; this test needs root and permission to mount \
                 (the suite runs as root in CI), and it does not skip",
                dir.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => panic!("cannot run mount ({e}); this test needs mount(8) and root, and it does not skip"),
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let plain = std::process::Command::new("umount").arg(&self.0).status();
        if !plain.is_ok_and(|s| s.success()) {
            // Something still has it open: detach it now, it goes when they close.
            let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// Fills the file system holding `dir` to the last byte; returns the filler.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).expect("filler");
    for chunk in [1 << 20, 4096, 1] {
        let block = vec![0u8; chunk];
        while file.write_all(&block).is_ok() {}
    }
    let _ = file.sync_all();
    path
}

/// Asserts a run shows no Go panic or stack.
#[track_caller]
fn assert_no_dump(run: &Run, what: &str) {
    for raw in ["goroutine", "panic:", "runtime/debug", ".go:"] {
        assert!(!run.stderr.contains(raw), "{what} printed dolt's raw dump ({raw}):\n{}", run.stderr);
    }
}

#[test]
fn on_a_full_disk_writes_say_what_happened_and_reads_fail_clearly() {
    let town = Town::uninit("town-a");
    let _disk = Tmpfs::mount(town.dir(), "16m");
    town.bd(["init"]).success();
    town.create("before the disk filled");
    let filler = fill(town.dir());
    let (mut reported_done, mut reported_failed) = (Vec::new(), Vec::new());
    for n in 0..4 {
        let title = format!("on a full disk {n}");
        let out = town.bd(["create", &title]);
        assert_no_dump(&out, "create");
        match out.code {
            0 => {
                if !out.stderr.is_empty() {
                    out.stderr_has("the change was committed").stderr_has("do not run the command again");
                }
                reported_done.push(title);
            }
            1 => {
                assert!(
                    out.stderr.contains("is full: no space left on device")
                        || out.stderr.contains("may or may not have been committed"),
                    "a failed create must say why:\n{}",
                    out.stderr
                );
                reported_failed.push((title, out.stderr));
            }
            code => panic!("create exited {code}:\n{}", out.stderr),
        }
        let list = town.bd(["list"]);
        assert_no_dump(&list, "list");
        if list.code != 0 {
            list.code(1).stderr_has("no space left on device").stderr_has("df -h");
        }
    }
    std::fs::remove_file(filler).expect("free the disk");
    let titles = town.titles();
    for title in &reported_done {
        assert_eq!(titles.iter().filter(|t| *t == title).count(), 1, "{title:?} reported created: {titles:?}");
    }
    for (title, stderr) in &reported_failed {
        if !stderr.contains("may or may not") {
            assert!(!titles.contains(title), "{title:?} was reported failed but is there: {stderr}");
        }
    }
    crate::support::procs::fsck(&town, &town.dolt_dir());
}
