//! Committing the JSONL export to the project's git repository, through
//! libgit2 (no git CLI).

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
