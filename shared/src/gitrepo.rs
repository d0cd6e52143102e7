//! The project's git repository, through libgit2 (no git CLI): committing
//! the JSONL export, and git's view of a file (is it tracked, who changed
//! it), which tells what a clone brings and who wrote it.

use std::path::Path;

use crate::error::UserError;
use crate::tracker::Author;

/// Commits `file` (inside the git work tree around `beads_dir`) on `HEAD`.
/// Returns the new commit's id, or `None` when the file did not change.
pub fn commit_file(beads_dir: &Path, file: &Path, message: &str, author: &Author) -> anyhow::Result<Option<String>> {
    let repo = git2::Repository::discover(beads_dir).map_err(|_| {
        UserError::failure(format!(
            "no git repository around {}: git-portable sync commits the JSONL export to git",
            beads_dir.display()
        ))
        .with_hint(
            "run `git init` in the project, or `bd config set sync.mode dolt-native` to sync through Dolt remotes",
        )
    })?;
    let workdir = repo
        .workdir()
        .ok_or_else(|| anyhow::anyhow!("the git repository around {} is bare", beads_dir.display()))?
        .canonicalize()?;
    let file = file.canonicalize()?;
    let relative = file
        .strip_prefix(&workdir)
        .map_err(|_| anyhow::anyhow!("{} is outside the git work tree {}", file.display(), workdir.display()))?;
    // Commit HEAD's tree plus this one file, so whatever else the user has
    // staged stays staged and out of bd's commit.
    let blob = repo.blob(&std::fs::read(&file)?)?;
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let base =
        if let Some(commit) = &parent { commit.tree()? } else { repo.find_tree(repo.treebuilder(None)?.write()?)? };
    let mut update = git2::build::TreeUpdateBuilder::new();
    update.upsert(relative, blob, git2::FileMode::Blob);
    let tree_id = update.create_updated(&repo, &base)?;
    let tree = repo.find_tree(tree_id)?;
    if parent.as_ref().is_some_and(|p| p.tree_id() == tree.id()) {
        return Ok(None);
    }
    let signature = git2::Signature::now(&author.name, &author.email)?;
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    let id = repo.commit(Some("HEAD"), &signature, &signature, message, &tree, &parents)?;
    // Stage the committed file too, so `git status` agrees with the commit.
    let mut index = repo.index()?;
    index.add_path(relative)?;
    index.write()?;
    Ok(Some(id.to_string()))
}

/// Whether git tracks `file`: whether a clone of the project brings it.
/// Files outside any git work tree are not tracked.
#[must_use]
pub fn is_tracked(file: &Path) -> bool {
    file.parent().is_some_and(|dir| !tracked(dir, &[file.to_owned()]).is_empty())
}

/// Git's view of who last changed `file`: the newest commit on `HEAD` that
/// changed it, and whether the work tree differs from that commit.
#[must_use]
pub fn last_change(file: &Path) -> Option<String> {
    let (repo, relative) = open_around(file)?;
    let mut walk = repo.revwalk().ok()?;
    walk.push_head().ok()?;
    let blob_at = |commit: &git2::Commit<'_>| commit.tree().ok()?.get_path(&relative).ok().map(|e| e.id());
    let mut newest = None;
    for id in walk.flatten() {
        let Ok(commit) = repo.find_commit(id) else { continue };
        let here = blob_at(&commit);
        let before = commit.parent(0).ok().and_then(|p| blob_at(&p));
        if here.is_some() && here != before {
            newest = Some(commit);
            break;
        }
    }
    let on_disk =
        std::fs::read(file).ok().and_then(|bytes| git2::Oid::hash_object(git2::ObjectType::Blob, &bytes).ok());
    let committed = newest.as_ref().and_then(blob_at);
    let mut text = match &newest {
        Some(commit) => {
            let author = commit.author();
            let summary = commit.summary().unwrap_or_default();
            format!(
                "last committed by {} <{}> in {} ({})",
                author.name().unwrap_or("?"),
                author.email().unwrap_or("?"),
                &commit.id().to_string()[..12],
                crate::error::quoted(summary)
            )
        }
        None => "not committed to git".to_owned(),
    };
    if newest.is_some() && on_disk != committed {
        text.push_str(", and changed since in the work tree");
    }
    Some(text)
}

/// The repository around `file` and the file's path inside its work tree.
fn open_around(file: &Path) -> Option<(git2::Repository, std::path::PathBuf)> {
    let dir = file.parent()?;
    let repo = git2::Repository::discover(dir).ok()?;
    let workdir = repo.workdir()?.canonicalize().ok()?;
    let absolute = dir.canonicalize().ok()?.join(file.file_name()?);
    let relative = absolute.strip_prefix(&workdir).ok()?.to_owned();
    Some((repo, relative))
}

/// Those of `files` (paths inside the git work tree around `beads_dir`)
/// that git tracks, each with the work tree it is tracked in; empty when
/// there is no git repository.
#[must_use]
pub fn tracked(beads_dir: &Path, files: &[std::path::PathBuf]) -> Vec<(std::path::PathBuf, std::path::PathBuf)> {
    let Ok(repo) = git2::Repository::discover(beads_dir) else { return Vec::new() };
    let Some(workdir) = repo.workdir().and_then(|w| w.canonicalize().ok()) else { return Vec::new() };
    let Ok(index) = repo.index() else { return Vec::new() };
    let Ok(beads) = beads_dir.canonicalize() else { return Vec::new() };
    files
        .iter()
        .filter_map(|file| {
            // The file may be gone from disk and still be in the index.
            let relative = beads.join(file.file_name()?).strip_prefix(&workdir).ok()?.to_owned();
            index.get_path(&relative, 0).map(|_| (workdir.clone(), relative))
        })
        .collect()
}
