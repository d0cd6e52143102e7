//! `bd show`.

bd_shared::main!(bd_shared::cmd::show::Show);
