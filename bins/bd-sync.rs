//! `bd sync`.

bd_shared::main!(bd_shared::cmd::sync::Sync);
