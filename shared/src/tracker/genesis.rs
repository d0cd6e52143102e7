//! The genesis every town starts from, shipped as data.
//!
//! Dolt merges only histories with a common ancestor, and a commit's hash is
//! computed by the dolt build that makes it: two dolt releases making "the
//! same" first commits get different hashes, and their towns could never
//! merge. So the genesis is not made by each town. It is a Dolt remote of two
//! commits (dolt's initial commit and the schema commit), made once by dolt
//! 1.86.4 for the first release of bd and embedded here byte for byte;
//! `bd init` clones it. Dolt stores commit hashes and never recomputes them,
//! so every town made with any dolt at or above the minimum, and every town
//! the first release made, stands on the very same two commits.
//!
//! This module owns the shipped files and laying them down; the schema they
//! hold, as text, is [`super::schema`]'s, and every later change
//! [`super::migrate`]'s.

use std::path::Path;

use crate::dolt::Dolt;

/// The schema commit every town's history starts from.
pub const SCHEMA_COMMIT: &str = "1ps2raqeqap69lv277n6oehehmtms0j0";

/// The files of the genesis remote, as dolt 1.86.4 wrote them.
const FILES: [(&str, &[u8]); 4] = [
    ("manifest", include_bytes!("../../genesis/manifest")),
    ("hdevte1gve2vmfp2rhlq9acgi35n5enu.darc", include_bytes!("../../genesis/hdevte1gve2vmfp2rhlq9acgi35n5enu.darc")),
    ("5df7fnlomj0aighq7a373v2svv3fsju4", include_bytes!("../../genesis/5df7fnlomj0aighq7a373v2svv3fsju4")),
    ("LOCK", b""),
];

/// Makes the Dolt repository `dolt_dir` (which must not exist yet) as a
/// clone of the genesis, with no remote left behind.
pub fn lay_down(dolt: &Dolt, dolt_dir: &Path) -> anyhow::Result<()> {
    let parent = dolt_dir.parent().ok_or_else(|| anyhow::anyhow!("{} has no parent", dolt_dir.display()))?;
    with_remote(parent, |url| {
        dolt.call(parent, ["clone", url, &dolt_dir.to_string_lossy()]).run()?;
        dolt.call(dolt_dir, ["remote", "remove", "origin"]).run()?;
        give_identity(dolt_dir)
    })
}

/// The repository's own dolt identity (what `dolt init --name` set before
/// the genesis was data), so dolt commands run by hand in a town work on a
/// machine with no global dolt identity; bd itself names the author of
/// every commit it makes.
fn give_identity(dolt_dir: &Path) -> anyhow::Result<()> {
    let path = dolt_dir.join(".dolt").join("config.json");
    let mut config: serde_json::Map<String, serde_json::Value> = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::Map::new(),
        Err(e) => return Err(e.into()),
    };
    config.entry("user.name").or_insert_with(|| "bd".into());
    config.entry("user.email").or_insert_with(|| "bd@genesis.invalid".into());
    std::fs::write(&path, serde_json::to_vec(&config)?)?;
    Ok(())
}

/// Runs `f` with the `file://` URL of the genesis as a Dolt remote, laid
/// out for the time of the call in a directory under `dir`.
pub fn with_remote<T>(dir: &Path, f: impl FnOnce(&str) -> anyhow::Result<T>) -> anyhow::Result<T> {
    let source = dir.join(format!(".bd-genesis-{}-{}", std::process::id(), super::random_base36(8)));
    let result = (|| {
        std::fs::create_dir(&source)?;
        for (name, bytes) in FILES {
            std::fs::write(source.join(name), bytes)?;
        }
        f(&format!("file://{}", source.display()))
    })();
    let _ = std::fs::remove_dir_all(&source);
    result
}
