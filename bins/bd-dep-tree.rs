//! `bd dep tree`.

bd_shared::main!(bd_shared::cmd::dep::tree::Tree);
