//! An argv sampler for the secret-hygiene checks: a background thread reads
//! `/proc/*/cmdline` of every process on the machine about every
//! millisecond, noting each command line that holds a secret, and each dolt
//! running in a watched repository whose environment carries the peer
//! password (the credentialed calls). A test asserts both: no leak, and at
//! least one credentialed dolt seen, so the sampler provably watched the
//! moment that counts.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the sampler saw while it ran.
#[derive(Default)]
pub struct Seen {
    /// Command lines that held a secret.
    pub leaks: BTreeSet<String>,
    /// Command lines of dolt processes in the watched repository whose
    /// environment carried the password: the credentialed calls.
    pub credentialed: BTreeSet<String>,
}

impl Seen {
    /// Asserts that no secret was seen on any argv, and that a credentialed
    /// dolt whose command line contains `dolt_args` was.
    #[track_caller]
    pub fn assert_watched(&self, what: &str, dolt_args: &str) {
        assert!(self.leaks.is_empty(), "{what} put a secret on argv: {:?}", self.leaks);
        assert!(
            self.credentialed.iter().any(|line| line.contains(dolt_args)),
            "{what}: no credentialed dolt `{dolt_args}` was sampled; saw {:?}",
            self.credentialed
        );
    }
}

/// The running sampler; [`Sampler::finish`] stops it and returns what it saw.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Seen>,
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

impl Sampler {
    /// Starts watching for `secrets` on every argv, and for dolt processes in
    /// `repo` whose environment holds `DOLT_REMOTE_PASSWORD=password`.
    pub fn start(secrets: &[&str], repo: &Path, password: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let repo = repo.canonicalize().expect("repo dir");
        let secrets: Vec<String> = secrets.iter().map(|s| (*s).to_owned()).collect();
        let credential = format!("DOLT_REMOTE_PASSWORD={password}\0");
        let thread = std::thread::spawn(move || {
            let mut seen = Seen::default();
            // One more pass after the stop, so the last moments are seen too.
            let mut last = false;
            while !last {
                last = flag.load(Ordering::Acquire);
                sample(&secrets, &repo, &credential, &mut seen);
                std::thread::sleep(Duration::from_millis(1));
            }
            seen
        });
        Self { stop, thread }
    }

    /// Stops the sampler after one last pass.
    pub fn finish(self) -> Seen {
        self.stop.store(true, Ordering::Release);
        self.thread.join().expect("sampler")
    }
}

/// One pass over every process. Processes come and go while it reads, so a
/// file that vanished mid-pass just skips that process.
fn sample(secrets: &[String], repo: &Path, credential: &str, seen: &mut Seen) {
    let Ok(entries) = std::fs::read_dir("/proc") else { return };
    for proc in entries.flatten() {
        if !proc.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(argv) = std::fs::read(proc.path().join("cmdline")) else { continue };
        let line = || String::from_utf8_lossy(&argv).trim_end_matches('\0').replace('\0', " ");
        if secrets.iter().any(|s| contains(&argv, s)) {
            seen.leaks.insert(line());
        }
        let program = argv.split(|b| *b == 0).next().unwrap_or_default();
        if Path::new(&*String::from_utf8_lossy(program)).file_name() != Some("dolt".as_ref()) {
            continue;
        }
        let in_repo = std::fs::read_link(proc.path().join("cwd")).is_ok_and(|cwd| cwd == repo);
        if in_repo && std::fs::read(proc.path().join("environ")).is_ok_and(|env| contains(&env, credential)) {
            seen.credentialed.insert(line());
        }
    }
}
