//! Peer passwords: read without argv, stored encrypted, handed to dolt only
//! through the environment.
//!
//! The store is `.beads/credentials` (JSON, mode 0600): per peer the user
//! name, the dolt URL the password was given for, and the password sealed
//! with ChaCha20-Poly1305 under a random local key in `.beads/credentials.key`
//! (mode 0600). The URL is sealed with it (as associated data), so a
//! password is only ever handed to the endpoint it was stored for: a peer
//! removed by hand and added again elsewhere under the same name does not
//! inherit it. Both files are gitignored and
//! never leave the machine, and either one readable or writable by anyone but
//! its owner is refused, as is a damaged one, with the fix in the hint.
//! [`Secret`] cannot be printed or serialised, so a password cannot reach
//! logs or JSON by accident.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{IsTerminal, Read as _};
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use serde::{Deserialize, Serialize};

use crate::env;
use crate::error::UserError;

pub use crate::env::{BD_PEER_PASSWORD, DOLT_REMOTE_PASSWORD};

/// A password. Its `Debug` is redacted and it has no `Display` or `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a password.
    #[must_use]
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The password, for handing to a subprocess environment.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Keeps this process's memory, which may hold passwords, out of core files:
/// the core size limit goes to 0 (inherited by the dolt children, which get
/// a password in their environment), and on Linux the process is marked not
/// dumpable, which also keeps other processes of the user from reading its
/// memory through `/proc`. Best effort: a refusal leaves things as they were.
pub fn forbid_core_dumps() {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, setrlimit};
        let _ = setrlimit(Resource::Core, Rlimit { current: Some(0), maximum: Some(0) });
    }
    #[cfg(target_os = "linux")]
    {
        let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    }
}

/// The longest password accepted. dolt receives it in its environment,
/// where a few hundred kilobytes already make every call fail with
/// "Argument list too long"; real remotesapi passwords are far shorter.
pub const MAX_PASSWORD_BYTES: usize = 4096;

/// Where a password comes from, in order: `--password-stdin`, then
/// `BD_PEER_PASSWORD`, then a prompt on the terminal. Whatever the source,
/// a password that could not be handed to dolt later (empty, longer than
/// [`MAX_PASSWORD_BYTES`], holding a NUL, not UTF-8) is refused now, so a
/// peer is never "added" with credentials that fail every call.
pub fn read_password(from_stdin: bool, user: &str) -> anyhow::Result<Secret> {
    if from_stdin {
        // A password and its line ending; more is not a password.
        let limit = MAX_PASSWORD_BYTES as u64 + 2;
        let too_long = || {
            UserError::usage(format!(
                "--password-stdin read more than {MAX_PASSWORD_BYTES} bytes; a password is at most \
                 {MAX_PASSWORD_BYTES} bytes (nothing was stored)"
            ))
            .with_hint("pipe only the password, e.g. `printf %s \"$PW\" | bd federation add-peer … --password-stdin`")
        };
        let bytes = crate::fsutil::read_limited(std::io::stdin().lock(), limit)?.ok_or_else(too_long)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| UserError::usage("--password-stdin read bytes that are not UTF-8 text; a password must be"))?;
        let password = text.strip_suffix('\n').map_or(text.as_str(), |t| t.strip_suffix('\r').unwrap_or(t));
        return checked(password.to_owned(), "--password-stdin");
    }
    if let Some(password) = env::get(BD_PEER_PASSWORD) {
        return checked(password, BD_PEER_PASSWORD);
    }
    if std::io::stdin().is_terminal() {
        let password = rpassword::prompt_password(format!("Password for {}: ", crate::error::quoted(user)))?;
        return checked(password, "the prompt");
    }
    Err(UserError::usage(format!("no password for user {}", crate::error::quoted(user)))
        .with_hint("pipe it with --password-stdin or set BD_PEER_PASSWORD (never on the command line)")
        .into())
}

/// Refuses a password dolt could not be given, saying why but never what.
fn checked(password: String, source: &str) -> anyhow::Result<Secret> {
    let problem = if password.is_empty() {
        "an empty password".to_owned()
    } else if password.len() > MAX_PASSWORD_BYTES {
        format!("a password of {} bytes; a password is at most {MAX_PASSWORD_BYTES} bytes", password.len())
    } else if password.contains('\0') {
        "a password holding a NUL byte, which cannot be passed to dolt".to_owned()
    } else {
        return Ok(Secret(password));
    };
    Err(UserError::usage(format!("{source} gave {problem} (nothing was stored)")).into())
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StoreFile {
    version: u32,
    peers: BTreeMap<String, Sealed>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Sealed {
    user: String,
    /// The dolt URL the password is for; absent in entries stored before
    /// credentials were bound to one, which stay usable as they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    nonce: String,
    ciphertext: String,
}

/// What a sealed password is bound to: the peer and, when known, its URL.
fn associated_data(peer: &str, url: Option<&str>) -> Vec<u8> {
    match url {
        Some(url) => format!("{peer}\n{url}").into_bytes(),
        None => peer.as_bytes().to_vec(),
    }
}

/// The encrypted credential store of one workspace.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
    key_path: PathBuf,
}

impl Store {
    /// The store inside `beads_dir`.
    #[must_use]
    pub fn new(beads_dir: &Path) -> Self {
        Self { path: beads_dir.join("credentials"), key_path: beads_dir.join("credentials.key") }
    }

    /// The store file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> anyhow::Result<StoreFile> {
        // Every use of the store checks the key too, so an exposed key is
        // reported by whichever command runs next, even one that never
        // decrypts (remove-peer).
        open_private(&self.key_path)?;
        let Some(text) = read_private(&self.path)? else {
            return Ok(StoreFile { version: 1, ..StoreFile::default() });
        };
        serde_json::from_str(&text).map_err(|e| {
            UserError::failure(format!("the credential store {} is damaged: {e}", self.path.display()))
                .with_hint(self.start_over())
                .into()
        })
    }

    fn write(&self, store: &StoreFile) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(store)?;
        crate::fsutil::write_private(&self.path, text.as_bytes())
    }

    /// The fix when the store as a whole cannot be used: its passwords are
    /// lost, so each peer has to be given its password again.
    fn start_over(&self) -> String {
        format!(
            "restore {} and {} from a backup, or delete both and give each peer its password again with \
             `bd federation remove-peer NAME` then `bd federation add-peer NAME ENDPOINT --user USER --password-stdin`",
            self.path.display(),
            self.key_path.display()
        )
    }

    /// The fix when one peer's entry cannot be used.
    fn readd(peer: &str) -> String {
        format!(
            "give the peer its password again: `bd federation remove-peer {peer}` then \
             `bd federation add-peer {peer} ENDPOINT --user USER --password-stdin`"
        )
    }

    fn cipher(&self, create: bool) -> anyhow::Result<Option<ChaCha20Poly1305>> {
        let key = match read_private(&self.key_path)? {
            Some(text) => from_hex(text.trim()).filter(|k| k.len() == 32).ok_or_else(|| {
                UserError::failure(format!(
                    "the credential key {} is damaged: it must hold 64 hex digits",
                    self.key_path.display()
                ))
                .with_hint(self.start_over())
            })?,
            None if create => {
                let mut key = vec![0u8; 32];
                getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
                crate::fsutil::write_private(&self.key_path, to_hex(&key).as_bytes())?;
                key
            }
            None => return Ok(None),
        };
        Ok(Some(ChaCha20Poly1305::new(Key::from_slice(&key))))
    }

    /// Stores a peer's user and password for its dolt URL `url`, replacing
    /// any earlier ones.
    pub fn save(&self, peer: &str, url: &str, user: &str, password: &Secret) -> anyhow::Result<()> {
        // A new key would make every stored password unreadable.
        if !self.key_path.exists() && self.read()?.peers.keys().any(|p| p != peer) {
            anyhow::bail!(
                "the credential key {} is missing while {} still holds passwords sealed with it; restore the key, \
                 or remove {} and add the peers with passwords again",
                self.key_path.display(),
                self.path.display(),
                self.path.display()
            );
        }
        let cipher = self.cipher(true)?.ok_or_else(|| anyhow::anyhow!("no credential key"))?;
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
        let ciphertext = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload { msg: password.0.as_bytes(), aad: &associated_data(peer, Some(url)) },
            )
            .map_err(|_| anyhow::anyhow!("cannot encrypt the password"))?;
        let mut store = self.read()?;
        store.version = 1;
        store.peers.insert(
            peer.to_owned(),
            Sealed {
                user: user.to_owned(),
                url: Some(url.to_owned()),
                nonce: to_hex(&nonce),
                ciphertext: to_hex(&ciphertext),
            },
        );
        self.write(&store)
    }

    /// A peer's user and password, if stored for the dolt URL `url`. Ones
    /// stored for another URL are stale (the peer was removed by hand and
    /// added again elsewhere) and count as absent: they are never handed to
    /// a URL they were not given for.
    pub fn load(&self, peer: &str, url: &str) -> anyhow::Result<Option<(String, Secret)>> {
        let store = self.read()?;
        let Some(sealed) = store.peers.get(peer) else {
            return Ok(None);
        };
        if sealed.url.as_deref().is_some_and(|stored| stored != url) {
            return Ok(None);
        }
        let cipher = self.cipher(false)?.ok_or_else(|| {
            UserError::failure(format!(
                "the credential key {} is missing, so the password of peer '{peer}' in {} cannot be read",
                self.key_path.display(),
                self.path.display()
            ))
            .with_hint(Self::readd(peer))
        })?;
        let damaged = |what: &str| {
            UserError::failure(format!(
                "the credentials of peer '{peer}' in {} are damaged: {what}",
                self.path.display()
            ))
            .with_hint(Self::readd(peer))
        };
        let nonce = from_hex(&sealed.nonce)
            .filter(|n| n.len() == 12)
            .ok_or_else(|| damaged("the nonce is not 24 hex digits"))?;
        let ciphertext = from_hex(&sealed.ciphertext).ok_or_else(|| damaged("the ciphertext is not hex"))?;
        let plain = cipher
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload { msg: &ciphertext, aad: &associated_data(peer, sealed.url.as_deref()) },
            )
            .map_err(|_| {
                damaged(&format!(
                    "the password does not decrypt with the key {} (the entry was altered or truncated, or the key \
                     belongs to another store)",
                    self.key_path.display()
                ))
            })?;
        let password = String::from_utf8(plain).map_err(|_| damaged("the password is not UTF-8"))?;
        Ok(Some((sealed.user.clone(), Secret(password))))
    }

    /// Fails when the store could not be used (a file others may read, or a
    /// damaged one), so a change that ends by updating it can be refused
    /// before it starts.
    pub fn check(&self) -> anyhow::Result<()> {
        self.read().map(drop)
    }

    /// Forgets a peer's credentials; `false` when there were none.
    pub fn remove(&self, peer: &str) -> anyhow::Result<bool> {
        let mut store = self.read()?;
        if store.peers.remove(peer).is_none() {
            return Ok(false);
        }
        self.write(&store)?;
        Ok(true)
    }
}

/// Opens one of the store's files (or another secret of the town's, such as
/// the pseudonym key), `None` when it does not exist. A file that group or
/// others may read or write is refused rather than used: the store and its
/// key together give away every peer's password, and a file others can write
/// could be swapped for one that sends a password elsewhere. So is a file
/// that git tracks: it came with the project, written by whoever can commit.
pub(crate) fn open_private(path: &Path) -> anyhow::Result<Option<std::fs::File>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
    };
    if crate::gitrepo::is_tracked(path) {
        return Err(UserError::failure(format!(
            "refusing to use {}: git tracks it, so it came with the project and anyone who can commit wrote it; \
             a secret of this machine's never comes from the repository",
            path.display()
        ))
        .with_hint(format!(
            "run `git rm --cached {p}` and commit that, then `rm {p}`: bd makes a new one when it needs it \
             (stored peer passwords must then be given again with `bd federation add-peer`)",
            p = path.display()
        ))
        .into());
    }
    // The mode of the file just opened, not of whatever the path names later.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let metadata = file.metadata().map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        let mode = metadata.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(UserError::failure(format!(
                "refusing to use {}: its mode is {mode:04o}, but a credential file must be readable and writable \
                 by its owner only (mode 0600), because it holds or unlocks peer passwords",
                path.display()
            ))
            .with_hint(format!("run `chmod 600 {}`", path.display()))
            .into());
        }
    }
    Ok(Some(file))
}

/// The text of one of the store's files, checked by [`open_private`].
fn read_private(path: &Path) -> anyhow::Result<Option<String>> {
    let Some(mut file) = open_private(path)? else { return Ok(None) };
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    Ok(Some(text))
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

pub(crate) fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:1/db";

    #[test]
    fn a_password_is_only_given_for_the_url_it_was_stored_for() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::new(dir.path());
        store.save("hub", URL, "alice", &Secret::new("s3cret-pass".into())).expect("save");
        assert!(store.load("hub", "http://127.0.0.1:2/db").expect("load").is_none());
        // Rewriting the stored URL does not rebind the password: it no longer decrypts.
        let text = std::fs::read_to_string(store.path()).expect("store");
        crate::fsutil::write_private(store.path(), text.replace(URL, "http://evil.example/db").as_bytes())
            .expect("edit");
        assert!(store.load("hub", "http://evil.example/db").is_err());
    }

    #[test]
    fn passwords_round_trip_and_are_not_stored_in_clear() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::new(dir.path());
        store.save("hub", URL, "alice", &Secret::new("s3cret-pass".into())).expect("save");
        let text = std::fs::read_to_string(store.path()).expect("store");
        assert!(!text.contains("s3cret-pass"), "{text}");
        let (user, secret) = store.load("hub", URL).expect("load").expect("present");
        assert_eq!((user.as_str(), secret.expose()), ("alice", "s3cret-pass"));
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for p in [store.path().to_owned(), dir.path().join("credentials.key")] {
                assert_eq!(std::fs::metadata(&p).expect("meta").permissions().mode() & 0o777, 0o600, "{}", p.display());
            }
        }
        assert!(store.remove("hub").expect("remove"));
        assert!(store.load("hub", URL).expect("load").is_none());
    }

    fn saved(dir: &Path) -> Store {
        let store = Store::new(dir);
        store.save("hub", URL, "alice", &Secret::new("s3cret-pass".into())).expect("save");
        store
    }

    /// The message and the hint of a failed load, checked to name `file`.
    #[track_caller]
    fn refusal(store: &Store, file: &Path) -> (String, String) {
        let err = store.load("hub", URL).expect_err("a damaged or exposed store must not be used");
        let message = format!("{err:#}");
        let hint = crate::error::hint(&err).expect("a hint with the fix").to_owned();
        assert_eq!(crate::error::exit_code(&err), crate::error::exit::FAILURE);
        assert!(message.contains(&file.display().to_string()), "{message}");
        (message, hint)
    }

    #[cfg(unix)]
    #[test]
    fn files_others_may_read_or_write_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let store = saved(dir.path());
        let key = dir.path().join("credentials.key");
        for (file, mode) in [(store.path().to_owned(), 0o644), (key.clone(), 0o640), (key.clone(), 0o602)] {
            let before = [std::fs::read(store.path()).expect("store"), std::fs::read(&key).expect("key")];
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).expect("chmod");
            let (message, hint) = refusal(&store, &file);
            assert!(message.contains(&format!("mode is {mode:04o}")) && message.contains("owner only"), "{message}");
            assert_eq!(hint, format!("run `chmod 600 {}`", file.display()));
            let err = store.save("other", URL, "bob", &Secret::new("pw".into())).expect_err("save must refuse too");
            assert!(format!("{err:#}").contains(&format!("{mode:04o}")), "{err:#}");
            assert!(store.remove("hub").is_err(), "remove must refuse too");
            assert_eq!([std::fs::read(store.path()).expect("store"), std::fs::read(&key).expect("key")], before);
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
            assert!(store.load("hub", URL).expect("load").is_some());
        }
    }

    #[test]
    fn a_damaged_store_or_key_is_a_clear_error() {
        type Damage = fn(&str, &Sealed) -> String;
        let edit = |text: &str, from: &str, to: &str| {
            assert!(text.contains(from), "{text}");
            text.replacen(from, to, 1)
        };
        let store_damage: [(&str, Damage); 5] = [
            ("not JSON", |_, _| "{ this is not json".into()),
            ("truncated", |text, _| text[..text.len() / 2].into()),
            ("empty", |_, _| String::new()),
            ("bad nonce hex", |text, sealed| text.replacen(&sealed.nonce, "zz", 1)),
            ("truncated ciphertext", |text, sealed| {
                text.replacen(&sealed.ciphertext, &sealed.ciphertext[..sealed.ciphertext.len() - 8], 1)
            }),
        ];
        for (case, damage) in store_damage {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = saved(dir.path());
            let text = std::fs::read_to_string(store.path()).expect("store");
            let sealed = serde_json::from_str::<StoreFile>(&text).expect("json").peers.remove("hub").expect("hub");
            crate::fsutil::write_private(store.path(), damage(&text, &sealed).as_bytes()).expect("damage");
            let (message, hint) = refusal(&store, store.path());
            assert!(message.contains("damaged"), "{case}: {message}");
            assert!(hint.contains("bd federation add-peer"), "{case}: {hint}");
        }

        let dir = tempfile::tempdir().expect("tempdir");
        let store = saved(dir.path());
        let key = dir.path().join("credentials.key");
        let text = std::fs::read_to_string(store.path()).expect("store");
        let sealed = serde_json::from_str::<StoreFile>(&text).expect("json").peers.remove("hub").expect("hub");
        let bad_hex = edit(&text, &sealed.ciphertext, &format!("{}x", &sealed.ciphertext[1..]));
        crate::fsutil::write_private(store.path(), bad_hex.as_bytes()).expect("damage");
        assert!(refusal(&store, store.path()).0.contains("not hex"));
        crate::fsutil::write_private(store.path(), text.as_bytes()).expect("restore");

        crate::fsutil::write_private(&key, to_hex(&[7; 32]).as_bytes()).expect("another key");
        let (message, hint) = refusal(&store, store.path());
        assert!(message.contains("does not decrypt") && message.contains(&key.display().to_string()), "{message}");
        assert!(hint.contains("bd federation remove-peer hub"), "{hint}");

        for broken in ["", "abc", "zz", &to_hex(&[7; 16])] {
            crate::fsutil::write_private(&key, broken.as_bytes()).expect("damage key");
            let (message, hint) = refusal(&store, &key);
            assert!(message.contains("damaged") && message.contains("64 hex digits"), "{message}");
            assert!(hint.contains(&key.display().to_string()), "{hint}");
        }

        std::fs::remove_file(&key).expect("remove key");
        let (message, hint) = refusal(&store, &key);
        assert!(message.contains("missing"), "{message}");
        assert!(hint.contains("bd federation remove-peer hub"), "{hint}");
    }
}
