//! `bd import`.

bd_shared::main!(bd_shared::cmd::import::Import);
