//! Writes the man pages (`man/`) and shell completions (`completions/`) from
//! the commands' clap definitions. Run after changing any command or flag:
//!
//! ```sh
//! cargo run --example gen-docs
//! ```

use std::path::Path;

use bd_shared::docs::{self, Shell};

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let man = root.join("man");
    std::fs::create_dir_all(&man)?;
    for entry in std::fs::read_dir(&man)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "1") {
            std::fs::remove_file(path)?;
        }
    }
    for (name, page) in docs::man_pages() {
        std::fs::write(man.join(name), page)?;
    }
    let completions = root.join("completions");
    std::fs::create_dir_all(&completions)?;
    for shell in Shell::ALL {
        std::fs::write(completions.join(shell.file_name()), docs::completion_script(shell))?;
    }
    Ok(())
}
