//! Generated files stay in step with the code: man pages, completions, and
//! the list of bundled commands.

use std::path::Path;

use bd_shared::cmd::BUNDLED;
use bd_shared::docs::{self, Shell};

const REFRESH: &str = "run `cargo run --example gen-docs` and commit the result";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn man_pages_are_up_to_date() {
    let pages = docs::man_pages();
    for (name, page) in &pages {
        let path = root().join("man").join(name);
        let checked_in = std::fs::read(&path).unwrap_or_default();
        assert!(checked_in == *page, "man/{name} is stale or missing: {REFRESH}");
    }
    let on_disk = std::fs::read_dir(root().join("man"))
        .expect("man/")
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "1"))
        .count();
    assert_eq!(on_disk, pages.len(), "man/ holds pages of commands that no longer exist: {REFRESH}");
}

#[test]
fn completions_are_up_to_date() {
    for shell in Shell::ALL {
        let path = root().join("completions").join(shell.file_name());
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(checked_in == docs::completion_script(shell), "{} is stale or missing: {REFRESH}", path.display());
    }
}

#[test]
fn every_bundled_executable_is_registered_and_documented() {
    let mut bins: Vec<String> = std::fs::read_dir(root().join("bins"))
        .expect("bins/")
        .flatten()
        .filter_map(|e| e.path().file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|name| name != "bd")
        .collect();
    bins.sort();
    let mut registered: Vec<String> = BUNDLED.iter().map(bd_shared::cmd::Bundled::executable).collect();
    registered.sort();
    assert_eq!(bins, registered, "bins/ and bd_shared::cmd::BUNDLED must list the same commands");
    for b in BUNDLED {
        assert!(bin_exists(&b.executable()), "{} is not built", b.executable());
    }
}

fn bin_exists(name: &str) -> bool {
    crate::support::bin_dir().join(name).is_file()
}

#[test]
fn man_finds_the_pages_through_manpath() {
    let man = root().join("man");
    assert!(man.join("man1").join("bd-federation-push.1").is_file(), "man/man1 must lead to the pages");
}
