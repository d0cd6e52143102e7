//! Every test file under tests/it is compiled: a file left out of main.rs
//! would silently never run.

#[test]
fn every_test_module_is_listed_in_main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it");
    let main = std::fs::read_to_string(dir.join("main.rs")).expect("main.rs");
    for entry in std::fs::read_dir(&dir).expect("tests/it") {
        let path = entry.expect("entry").path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if stem == "main" || (path.is_file() && path.extension().is_none_or(|e| e != "rs")) {
            continue;
        }
        assert!(main.contains(&format!("mod {stem};")), "tests/it/{stem} is not listed in tests/it/main.rs");
    }
}
