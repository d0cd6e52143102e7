//! `bd`: the front door that runs `bd-*` commands.

fn main() -> std::process::ExitCode {
    bd_shared::frontdoor::main()
}
