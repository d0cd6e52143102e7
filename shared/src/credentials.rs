//! Peer passwords: read without argv, stored encrypted, handed to dolt only
//! through the environment.
//!
//! The store is `.beads/credentials` (JSON, mode 0600): per peer the user
//! name and the password sealed with ChaCha20-Poly1305 under a random local
//! key in `.beads/credentials.key` (mode 0600). Both files are gitignored and
//! never leave the machine. [`Secret`] cannot be printed or serialised, so a
//! password cannot reach logs or JSON by accident.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{IsTerminal, Read as _};
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use serde::{Deserialize, Serialize};

use crate::env;
use crate::error::UserError;

/// The variable a password may come from instead of a prompt.
pub const BD_PEER_PASSWORD: &str = "BD_PEER_PASSWORD";
/// The variable dolt reads the remotesapi password from.
pub const DOLT_REMOTE_PASSWORD: &str = "DOLT_REMOTE_PASSWORD";

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

/// Where a password comes from, in order: `--password-stdin`, then
/// `BD_PEER_PASSWORD`, then a prompt on the terminal.
pub fn read_password(from_stdin: bool, user: &str) -> anyhow::Result<Secret> {
    if from_stdin {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        let password = text.strip_suffix('\n').map_or(text.as_str(), |t| t.strip_suffix('\r').unwrap_or(t));
        if password.is_empty() {
            return Err(UserError::usage("--password-stdin read an empty password").into());
        }
        return Ok(Secret(password.to_owned()));
    }
    if let Some(password) = env::get(BD_PEER_PASSWORD) {
        return Ok(Secret(password));
    }
    if std::io::stdin().is_terminal() {
        let password = rpassword::prompt_password(format!("Password for {user}: "))?;
        return Ok(Secret(password));
    }
    Err(UserError::usage(format!("no password for user '{user}'"))
        .with_hint("pipe it with --password-stdin or set BD_PEER_PASSWORD (never on the command line)")
        .into())
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StoreFile {
    version: u32,
    peers: BTreeMap<String, Sealed>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Sealed {
    user: String,
    nonce: String,
    ciphertext: String,
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
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("credential store {} is damaged: {e}", self.path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StoreFile { version: 1, ..StoreFile::default() }),
            Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", self.path.display())),
        }
    }

    fn write(&self, store: &StoreFile) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(store)?;
        crate::fsutil::write_private(&self.path, text.as_bytes())
    }

    fn cipher(&self, create: bool) -> anyhow::Result<Option<ChaCha20Poly1305>> {
        let key = match std::fs::read_to_string(&self.key_path) {
            Ok(text) => from_hex(text.trim())
                .filter(|k| k.len() == 32)
                .ok_or_else(|| anyhow::anyhow!("key file {} is damaged", self.key_path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let mut key = vec![0u8; 32];
                getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
                crate::fsutil::write_private(&self.key_path, to_hex(&key).as_bytes())?;
                key
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(anyhow::anyhow!("cannot read {}: {e}", self.key_path.display()));
            }
        };
        Ok(Some(ChaCha20Poly1305::new(Key::from_slice(&key))))
    }

    /// Stores a peer's user and password, replacing any earlier ones.
    pub fn save(&self, peer: &str, user: &str, password: &Secret) -> anyhow::Result<()> {
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
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: password.0.as_bytes(), aad: peer.as_bytes() })
            .map_err(|_| anyhow::anyhow!("cannot encrypt the password"))?;
        let mut store = self.read()?;
        store.version = 1;
        store.peers.insert(
            peer.to_owned(),
            Sealed { user: user.to_owned(), nonce: to_hex(&nonce), ciphertext: to_hex(&ciphertext) },
        );
        self.write(&store)
    }

    /// A peer's user and password, if stored.
    pub fn load(&self, peer: &str) -> anyhow::Result<Option<(String, Secret)>> {
        let store = self.read()?;
        let Some(sealed) = store.peers.get(peer) else {
            return Ok(None);
        };
        let cipher = self.cipher(false)?.ok_or_else(|| {
            anyhow::anyhow!(
                "the credential key {} is missing; run `bd federation remove-peer` and add it again",
                self.key_path.display()
            )
        })?;
        let nonce = from_hex(&sealed.nonce).filter(|n| n.len() == 12);
        let ciphertext = from_hex(&sealed.ciphertext);
        let (Some(nonce), Some(ciphertext)) = (nonce, ciphertext) else {
            anyhow::bail!("credentials of peer '{peer}' are damaged; run `bd federation remove-peer` and add it again");
        };
        let plain = cipher
            .decrypt(Nonce::from_slice(&nonce), Payload { msg: &ciphertext, aad: peer.as_bytes() })
            .map_err(|_| anyhow::anyhow!("credentials of peer '{peer}' cannot be decrypted with this town's key"))?;
        let password =
            String::from_utf8(plain).map_err(|_| anyhow::anyhow!("credentials of peer '{peer}' are damaged"))?;
        Ok(Some((sealed.user.clone(), Secret(password))))
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

    #[test]
    fn passwords_round_trip_and_are_not_stored_in_clear() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::new(dir.path());
        store.save("hub", "alice", &Secret::new("s3cret-pass".into())).expect("save");
        let text = std::fs::read_to_string(store.path()).expect("store");
        assert!(!text.contains("s3cret-pass"), "{text}");
        let (user, secret) = store.load("hub").expect("load").expect("present");
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
        assert!(store.load("hub").expect("load").is_none());
    }
}
