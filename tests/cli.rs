//! CLI snapshots: trycmd cases under tests/cmd, run against the real dolt
//! in a sealed environment.

#[path = "it/support/mod.rs"]
#[allow(dead_code)]
mod support;

#[test]
fn cli() {
    let sandbox = support::Sandbox::new();
    let root = sandbox.path();
    let cases = trycmd::TestCases::new();
    let bins = support::bin_dir();
    for entry in std::fs::read_dir(&bins).expect("bin dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        if (name == "bd" || name.starts_with("bd-")) && !name.contains('.') && path.is_file() {
            cases.register_bin(name, path);
        }
    }
    cases
        .env("HOME", root.join("home").display().to_string())
        .env("XDG_CONFIG_HOME", root.join("config").display().to_string())
        .env("XDG_CACHE_HOME", root.join("cache").display().to_string())
        .env("DOLT_ROOT_PATH", root.join("dolt-root").display().to_string())
        .env("BD_DOLT", support::dolt().display().to_string())
        .env("USER", "tester")
        .env("BD_COLOR", "never")
        .case("tests/cmd/**/*.trycmd")
        .case("tests/cmd/**/*.toml");
    cases.run();
}
